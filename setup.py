from setuptools import find_packages, setup

setup(
    name='mmkd_ext',
    version='0.1.0',
    description='Knowledge-distillation methods (CanKD, TaT, letKD, WTTM, '
    'logit standardization) for OpenMMLab via mmrazor',
    packages=find_packages(include=['mmkd_ext', 'mmkd_ext.*']),
    python_requires='>=3.9',
    license='Apache-2.0',
)
