# Copyright (c) mmkd_ext contributors. All rights reserved.
"""The shell launchers run the Python tools with the project's interpreter
(``.venv/bin/python``) when it exists, an explicit ``PYTHON`` first, and
``python`` on ``PATH`` otherwise. Each launcher runs from a copy of
``tools/`` with stub interpreters (and a stub ``srun``) that only record
how they were called."""
import os
import os.path as osp
import shutil
import stat
import subprocess

import pytest

from .conftest import ROOT

LAUNCHERS = {
    'dist_train.sh': ['CFG', '2'],
    'dist_test.sh': ['CFG', 'CKPT', '2'],
    'dist_corruption_eval.sh': ['CFG', 'CKPT', '2'],
    'slurm_train.sh': ['PART', 'JOB', 'CFG', 'WD'],
    'slurm_test.sh': ['PART', 'JOB', 'CFG', 'CKPT'],
}


def _stub(path: str, log: str) -> None:
    """An executable that appends its path and arguments to ``log``."""
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write(f'#!/bin/sh\necho "$0 $*" >> {log}\n')
    os.chmod(path, os.stat(path).st_mode | stat.S_IEXEC)


@pytest.mark.parametrize('launcher', sorted(LAUNCHERS))
@pytest.mark.parametrize('case', ['venv', 'explicit', 'path'])
def test_launcher_picks_the_interpreter(tmp_path, launcher, case):
    root = tmp_path / 'repo'
    os.makedirs(root / 'tools')
    for name in (launcher, 'find_python.sh'):
        shutil.copy(osp.join(ROOT, 'tools', name), root / 'tools' / name)
    log = str(tmp_path / 'calls.log')
    bin_dir = str(tmp_path / 'bin')
    _stub(osp.join(bin_dir, 'python'), log)
    _stub(osp.join(bin_dir, 'srun'), log)
    explicit = str(tmp_path / 'other' / 'python')
    _stub(explicit, log)
    env = dict(os.environ, PATH=bin_dir + os.pathsep + os.environ['PATH'])
    env.pop('PYTHON', None)
    if case != 'path':
        _stub(str(root / '.venv' / 'bin' / 'python'), log)
    if case == 'explicit':
        env['PYTHON'] = explicit
    expected = dict(
        venv=str(root / '.venv' / 'bin' / 'python'),
        explicit=explicit,
        path=osp.join(bin_dir, 'python'))[case]

    out = subprocess.run(
        ['bash', str(root / 'tools' / launcher)] + LAUNCHERS[launcher],
        env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    with open(log) as f:
        words = f.read().split()
    # The interpreter runs the tool itself (dist_*) or is srun's command
    # (where a bare `python` is looked up on PATH).
    interpreters = [
        shutil.which(w, path=env['PATH']) if w == 'python' else w
        for w in words if w == 'python' or w.endswith('/python')
    ]
    assert interpreters == [expected], words
