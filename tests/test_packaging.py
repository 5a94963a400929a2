# Copyright (c) mmkd_ext contributors. All rights reserved.
"""``pip install .`` into an existing OpenMMLab environment: the wheel
declares the versions we test, ships configs and tools in
``mmkd_ext/.mim`` (where ``mim train`` / ``mim test`` look) and the
start-up hook's ``.pth``; ``pip install -e .`` gets the hook too.

The wheel is built from a copy of the repository in a temporary directory;
installations go into throwaway venvs that share the test interpreter's
packages (tests/venv_helpers.py), never into the running environment.
"""
import importlib.metadata
import os
import os.path as osp
import re
import shutil
import subprocess
import sys
import zipfile

import pytest
from packaging.requirements import Requirement

from mmkd_ext_autopatch import PTH_LINE, PTH_NAME

from .conftest import ROOT, demo_cfg
from .venv_helpers import clean_env, make_venv, run

DEMO_DIR = osp.join(ROOT, 'configs', 'demo')
DEMO_CANKD = 'cankd_fpn_retinanet-r18-w32_retinanet-r18-w16_24e_demo-coco.py'
# Scripts that only make sense in the repository (they use its .venv).
REPO_ONLY_TOOLS = ('setup_env.sh', 'run_demo.sh', 'run_tests.sh')


@pytest.fixture(scope='module')
def source(tmp_path_factory) -> str:
    """A copy of the repository without environments, outputs or data."""
    dst = str(tmp_path_factory.mktemp('src') / 'mmkd_ext')
    shutil.copytree(
        ROOT, dst,
        ignore=shutil.ignore_patterns('.git', '.venv', 'work_dirs', 'data',
                                      'build', '*.egg-info', '__pycache__',
                                      '.pytest_cache', '.ruff_cache',
                                      '*.pth'))
    return dst


@pytest.fixture(scope='module')
def wheel(source, tmp_path_factory) -> str:
    dist = str(tmp_path_factory.mktemp('dist'))
    out = subprocess.run(
        [sys.executable, '-m', 'pip', 'wheel', '--no-deps',
         '--no-build-isolation', '--disable-pip-version-check', '-w', dist,
         source], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    (name, ) = os.listdir(dist)
    return osp.join(dist, name)


def _files_under(folder: str, skip=()) -> set:
    return {
        osp.relpath(osp.join(d, f), folder)
        for d, dirs, files in os.walk(folder)
        for f in files
        if f not in skip and '__pycache__' not in d and not f.endswith('.pyc')
    }


def test_wheel_ships_configs_tools_and_hook(wheel):
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        assert z.read(PTH_NAME).decode() == PTH_LINE
    assert 'mmkd_ext_autopatch.py' in names
    assert 'mmkd_ext/compat.py' in names
    mim = 'mmkd_ext/.mim/'
    assert mim + 'model-index.yml' in names
    for folder in ('configs', 'tools'):
        expected = _files_under(osp.join(ROOT, folder), skip=REPO_ONLY_TOOLS)
        shipped = {
            n[len(mim + folder) + 1:]
            for n in names if n.startswith(f'{mim}{folder}/')
        }
        assert shipped == expected, folder
    assert 'train.py' in shipped and 'find_python.sh' in shipped


def test_declared_versions_are_the_tested_ones(wheel):
    """Every requirement of the wheel holds for the environment the tests
    run in, and each is pinned in requirements/pins.txt (mmcv: built by
    tools/setup_env.sh) with a version inside the declared range."""
    with zipfile.ZipFile(wheel) as z:
        meta = next(
            z.read(n).decode() for n in z.namelist()
            if n.endswith('.dist-info/METADATA'))
    requires = [
        Requirement(line.split(':', 1)[1].strip())
        for line in meta.splitlines() if line.startswith('Requires-Dist:')
    ]
    assert any(r.name == 'mmrazor' for r in requires)

    def norm(name: str) -> str:
        return re.sub(r'[-_.]+', '-', name).lower()

    with open(osp.join(ROOT, 'requirements', 'pins.txt')) as f:
        pins = {}
        for line in f:
            line = line.split('#', 1)[0].strip()
            if line:
                req = Requirement(line)
                pins[norm(req.name)] = req
    with open(osp.join(ROOT, 'tools', 'setup_env.sh')) as f:
        mmcv = re.search(r'MMCV_VERSION="([^"]+)"', f.read()).group(1)
    pins['mmcv'] = Requirement(f'mmcv=={mmcv}')

    for req in requires:
        installed = importlib.metadata.version(req.name)
        assert req.specifier.contains(installed, prereleases=True), (
            f'{req}: the tested environment has {req.name} {installed}')
        assert norm(req.name) in pins, f'{req.name} is not pinned'
        for spec in pins[norm(req.name)].specifier:
            if spec.operator == '==':
                assert req.specifier.contains(spec.version), (
                    f'pins.txt has {req.name}=={spec.version}, outside '
                    f'the declared {req.specifier}')


def _demo_options(demo_root: str, work_dir: str, teacher_ckpt: str):
    """--cfg-options that point the installed demo config at ``demo_root``
    for one training iteration (2 images, batch 2) without validation, and
    its test at 2 images."""
    cfg = demo_cfg(osp.join(DEMO_DIR, DEMO_CANKD), demo_root, work_dir,
                   batch_size=2)
    data_root = cfg.train_dataloader.dataset.data_root
    return [
        f'train_dataloader.dataset.data_root={data_root}',
        'train_dataloader.dataset.indices=2',
        'train_dataloader.batch_size=2',
        f'test_dataloader.dataset.data_root={data_root}',
        'test_dataloader.dataset.indices=2',
        'test_dataloader.batch_size=2',
        f'test_evaluator.ann_file={cfg.test_evaluator.ann_file}',
        'val_cfg=None', 'val_dataloader=None', 'val_evaluator=None',
        'train_cfg.max_epochs=1',
        'default_hooks.checkpoint.interval=1',
        'randomness.seed=0',
        f'model.teacher_ckpt={teacher_ckpt}',
        # keep every box of the barely trained student: a non-empty result
        'model.architecture.test_cfg.score_thr=0.0',
    ]


def _teacher_checkpoint(path: str) -> str:
    import torch
    from mmdet.registry import MODELS
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    cfg = Config.fromfile(osp.join(DEMO_DIR, DEMO_CANKD))
    init_default_scope('mmdet')
    torch.manual_seed(0)
    teacher = MODELS.build(cfg.model.teacher)
    torch.save(dict(state_dict=teacher.state_dict(), meta={}), path)
    return path


@pytest.mark.slow
def test_pip_install_then_mim_train_and_test(wheel, demo_root, tmp_path):
    """The user's path in an existing environment, from outside the
    repository: ``pip install .`` (here the wheel, offline: the declared
    requirements must already hold), ``mim train mmkd_ext CONFIG`` by name,
    ``mim test mmkd_ext CONFIG --checkpoint``."""
    venv = make_venv(str(tmp_path / 'venv'))
    env = clean_env(with_repo=False)
    work = str(tmp_path / 'work')
    os.makedirs(work)
    out = run([venv['python'], '-m', 'pip', 'install', '--no-index',
               '--disable-pip-version-check', wheel], env, cwd=work)
    assert out.returncode == 0, out.stdout + out.stderr
    assert osp.isfile(osp.join(venv['purelib'], PTH_NAME))
    where = run([venv['python'], '-c',
                 'import mmkd_ext; print(mmkd_ext.__file__)'], env, cwd=work)
    assert where.stdout.startswith(venv['purelib']), where

    wd = osp.join(work, 'wd')
    options = _demo_options(demo_root, wd,
                            _teacher_checkpoint(str(tmp_path / 't.pth')))
    train = run([venv['python'], '-m', 'mim', 'train', 'mmkd_ext',
                 DEMO_CANKD, '--work-dir', wd, '--cfg-options', *options],
                env, cwd=work)
    log = train.stdout + train.stderr
    assert train.returncode == 0, log[-4000:]
    # mim found the shipped config and tool, not the repository's.
    assert osp.join(venv['purelib'], 'mmkd_ext', '.mim', 'configs') in log
    assert osp.isfile(osp.join(wd, 'epoch_1.pth')), log[-4000:]

    test = run([venv['python'], '-m', 'mim', 'test', 'mmkd_ext', DEMO_CANKD,
                '--checkpoint', osp.join(wd, 'epoch_1.pth'), '--work-dir',
                osp.join(work, 'test'), '--cfg-options', *options],
               env, cwd=work)
    log = test.stdout + test.stderr
    assert test.returncode == 0, log[-4000:]
    assert 'coco/bbox_mAP' in log, log[-4000:]


@pytest.mark.slow
def test_editable_install_gets_the_hook(source, tmp_path):
    """``pip install -e .`` (how tools/setup_env.sh installs us) writes the
    hook's ``.pth`` as well: mmrazor imports in a fresh interpreter of that
    environment, with nothing on PYTHONPATH."""
    venv = make_venv(str(tmp_path / 'venv'))
    env = clean_env(with_repo=False)
    out = run([venv['python'], '-m', 'pip', 'install', '--no-deps',
               '--no-build-isolation', '--disable-pip-version-check', '-e',
               source], env, cwd=str(tmp_path))
    assert out.returncode == 0, out.stdout + out.stderr
    with open(osp.join(venv['purelib'], PTH_NAME)) as f:
        assert f.read() == PTH_LINE
    code = ('import mmrazor.models, mmkd_ext; '
            'print(mmkd_ext.__file__)')
    out = run([venv['python'], '-c', code], env, cwd=str(tmp_path))
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip() == osp.join(source, 'mmkd_ext', '__init__.py')
    off = run([venv['python'], '-c', code],
              dict(env, MMKD_EXT_NO_AUTOPATCH='1'), cwd=str(tmp_path))
    assert off.returncode != 0
