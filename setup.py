import os
import os.path as osp
import shutil
import sys

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py
from setuptools.command.editable_wheel import editable_wheel

ROOT = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, ROOT)
from mmkd_ext_autopatch import PTH_LINE, PTH_NAME  # noqa: E402

# What we test: the versions of requirements/pins.txt (mmcv: the version
# tools/setup_env.sh builds), each up to its next minor release. The
# unranged ones are used by our code or by the OpenMMLab packages without
# being declared by them; tests/test_packaging.py checks that the tested
# environment satisfies every range.
INSTALL_REQUIRES = [
    'torch>=2.14.1,<2.15',
    'torchvision>=0.29.1,<0.30',
    'mmcv>=2.1.0,<2.2',
    'mmengine>=0.10.7,<0.11',
    'mmdet>=3.3.0,<3.4',
    'mmsegmentation>=1.2.2,<1.3',
    'mmpretrain>=1.2.0,<1.3',
    'mmrazor>=1.0.0,<1.1',
    'numpy<2',
    'setuptools>=77.0.3,<81',
    'opencv-python>=4.11,<4.12',
    'joblib',
    'ftfy',
    'regex',
    'scipy',
    'scikit-learn',
    'scikit-image<1',
    'pycocotools',
    'shapely',
    'terminaltables',
    'matplotlib',
    'prettytable',
    'imagecorruptions-imaug>=1.1.5,<1.2',
    'numba',
]

# Shipped in mmkd_ext/.mim/ as the OpenMMLab packages do, where
# `mim train mmkd_ext CONFIG` / `mim test` look for configs and tools.
MIM_FILES = ('configs', 'tools', 'model-index.yml')
# Repository-only scripts: they create or use the repository's .venv and
# tests, which an installed package does not have.
MIM_EXCLUDE = ('setup_env.sh', 'run_demo.sh', 'run_tests.sh', '__pycache__',
               '*.pyc')


class BuildPyWithMim(build_py):
    """Regular (non-editable) builds: add the mim payload and the start-up
    hook's ``.pth`` (see ``mmkd_ext_autopatch.py``) to the build tree."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return  # editable installs use the source tree
        mim = osp.join(self.build_lib, 'mmkd_ext', '.mim')
        shutil.rmtree(mim, ignore_errors=True)
        os.makedirs(mim)
        for name in MIM_FILES:
            src, dst = osp.join(ROOT, name), osp.join(mim, name)
            if osp.isdir(src):
                shutil.copytree(
                    src, dst, ignore=shutil.ignore_patterns(*MIM_EXCLUDE))
            else:
                shutil.copy2(src, dst)
        with open(osp.join(self.build_lib, PTH_NAME), 'w') as f:
            f.write(PTH_LINE)


class EditableWheelWithHook(editable_wheel):
    """Editable installs (``pip install -e .``, as tools/setup_env.sh does):
    add the start-up hook's ``.pth`` to the editable wheel, at the step where
    setuptools writes its own ``.pth`` files into it."""

    def _install_namespaces(self, installation_dir, pth_prefix) -> None:
        super()._install_namespaces(installation_dir, pth_prefix)
        with open(osp.join(installation_dir, PTH_NAME), 'w') as f:
            f.write(PTH_LINE)


setup(
    name='mmkd_ext',
    version='0.1.0',
    description='Knowledge-distillation methods (CanKD, TaT, letKD, WTTM, '
    'logit standardization) for OpenMMLab via mmrazor',
    packages=find_packages(include=['mmkd_ext', 'mmkd_ext.*']),
    py_modules=['mmkd_ext_autopatch'],
    python_requires='>=3.9',
    install_requires=INSTALL_REQUIRES,
    cmdclass=dict(
        build_py=BuildPyWithMim, editable_wheel=EditableWheelWithHook),
    license='Apache-2.0',
)
