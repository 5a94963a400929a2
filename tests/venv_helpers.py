# Copyright (c) mmkd_ext contributors. All rights reserved.
"""Throwaway virtual environments for the installation tests.

``python -m venv --system-site-packages`` would share the *base*
interpreter's packages, not those of the environment running the tests
(itself a venv: ``.venv``). So the throwaway venv gets a ``.pth`` file that
lists the running interpreter's site-packages instead: torch, mmcv and the
OpenMMLab stack come from there, while the ``.pth`` files of that
environment (e.g. an editable install of mmkd_ext, or its start-up hook)
are not run. Nothing is installed into the running environment.
"""
import os
import os.path as osp
import site
import subprocess
import sys
from typing import Dict, Optional

from .conftest import ROOT


def make_venv(path: str) -> Dict[str, str]:
    """Create the venv at ``path``; return its ``python`` and ``purelib``
    (its site-packages)."""
    subprocess.run([sys.executable, '-m', 'venv', '--without-pip', path],
                   check=True)
    python = osp.join(path, 'bin', 'python')
    purelib = subprocess.run(
        [python, '-c',
         'import sysconfig; print(sysconfig.get_paths()["purelib"])'],
        check=True, capture_output=True, text=True).stdout.strip()
    with open(osp.join(purelib, '_mmkd_test_shared_env.pth'), 'w') as f:
        f.write('\n'.join(site.getsitepackages()) + '\n')
    return dict(python=python, purelib=purelib)


def clean_env(with_repo: bool, **extra: str) -> Dict[str, str]:
    """The environment for a subprocess in a throwaway venv: the repository
    on ``PYTHONPATH`` first (``with_repo``) or not at all (to use an
    installed copy), any other ``PYTHONPATH`` entries kept."""
    entries = [
        p for p in os.environ.get('PYTHONPATH', '').split(os.pathsep)
        if p and osp.abspath(p) != ROOT
    ]
    if with_repo:
        entries.insert(0, ROOT)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(entries))
    env.pop('MMKD_EXT_NO_AUTOPATCH', None)
    env.update(extra)
    return env


def run(cmd, env: Dict[str, str], cwd: str,
        timeout: Optional[int] = 900) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=timeout)
