# Copyright (c) mmkd_ext contributors. All rights reserved.
"""Each compatibility patch: the upstream failure without it, the fix with
it. Every case runs in a fresh interpreter that loads ``compat.py`` from its
file (so ``mmkd_ext/__init__`` does not apply everything first) and applies
all patches except the one under test."""
import os
import os.path as osp
import subprocess
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
COMPAT = osp.join(ROOT, 'mmkd_ext', 'compat.py')
PATCHES = ('_fuser_method_aliases', '_backend_config_utils',
           '_backend_pattern_private_setters',
           '_checkpoint_loader_weights_only')

PRELUDE = f'''
import importlib.util
spec = importlib.util.spec_from_file_location('compat', {COMPAT!r})
compat = importlib.util.module_from_spec(spec)
spec.loader.exec_module(compat)
for name in {PATCHES!r}:
    if name not in SKIP:
        getattr(compat, name)()
'''

IMPORT_MMRAZOR = 'import mmrazor.models\nprint("ok")\n'

LOAD_CKPT = '''
import numpy as np, torch, tempfile, os
from mmengine.runner.checkpoint import _load_checkpoint
path = os.path.join(tempfile.mkdtemp(), 'c.pth')
# mmengine's own checkpoints carry numpy objects in their message hub.
torch.save({'state_dict': {}, 'message_hub': {'x': np.float64(1.0)}}, path)
ckpt = _load_checkpoint(path)
assert ckpt['message_hub']['x'] == 1.0
print("ok")
'''


def _run(skip, body):
    code = f'SKIP = {tuple(skip)!r}\n' + PRELUDE + body
    # Without the start-up hook (mmkd_ext_autopatch), which would apply
    # every patch when mmrazor is imported.
    env = dict(os.environ, MMKD_EXT_NO_AUTOPATCH='1')
    return subprocess.run([sys.executable, '-c', code],
                          capture_output=True,
                          text=True,
                          cwd='/',
                          env=env)


@pytest.mark.parametrize('patch, body', [
    ('_fuser_method_aliases', IMPORT_MMRAZOR),
    ('_backend_config_utils', IMPORT_MMRAZOR),
    ('_backend_pattern_private_setters', IMPORT_MMRAZOR),
    ('_checkpoint_loader_weights_only', LOAD_CKPT),
])
def test_patch_is_needed_and_sufficient(patch, body):
    without = _run([patch], body)
    assert without.returncode != 0, (
        f'{patch}: upstream no longer fails without the patch; remove it')
    with_all = _run([], body)
    assert with_all.returncode == 0, with_all.stderr[-3000:]
    assert with_all.stdout.strip().endswith('ok')


def test_apply_is_idempotent():
    from mmkd_ext import compat
    compat.apply()
    compat.apply()
    import torch.ao.quantization.fuser_method_mappings as fmm
    assert fmm.reverse2 is fmm._reverse2
