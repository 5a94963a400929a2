# Copyright (c) mmkd_ext contributors. All rights reserved.
"""The start-up hook (``mmkd_ext_autopatch``): with mmkd_ext installed, the
compatibility patches precede mmrazor's first import, whoever imports it.

Each case runs a fresh interpreter in a throwaway venv whose site-packages
holds the hook's ``.pth`` line (as an installation writes it) and this
repository on ``PYTHONPATH``; ``MMKD_EXT_NO_AUTOPATCH=1`` turns the hook
off, which gives the upstream failure.
"""
import importlib.util
import json
import os.path as osp

import pytest
import torch

from mmkd_ext_autopatch import ENV_OFF, PTH_LINE, PTH_NAME

from .conftest import ROOT, demo_cfg
from .venv_helpers import clean_env, make_venv, run

DEMO_CANKD = osp.join(
    ROOT, 'configs', 'demo',
    'cankd_fpn_retinanet-r18-w32_retinanet-r18-w16_24e_demo-coco.py')
# What mmrazor 1.0.0's register_all_modules raises on our torch.
UPSTREAM_ERROR = 'torch>=1.13` is not installed properly'


@pytest.fixture(scope='module')
def hook_venv(tmp_path_factory):
    venv = make_venv(str(tmp_path_factory.mktemp('hook') / 'venv'))
    with open(osp.join(venv['purelib'], PTH_NAME), 'w') as f:
        f.write(PTH_LINE)
    return venv


def _python(venv, code: str, off: bool = False):
    env = clean_env(with_repo=True, **({ENV_OFF: '1'} if off else {}))
    return run([venv['python'], '-c', code], env=env, cwd='/')


STARTUP = '''
import json, sys
print(json.dumps(dict(
    finder=any(type(f).__name__ == 'AutopatchFinder' for f in sys.meta_path),
    heavy=sorted(m for m in ('torch', 'mmengine', 'mmrazor', 'mmkd_ext',
                             'mmkd_ext.compat') if m in sys.modules))))
'''


@pytest.mark.parametrize('off', [False, True])
def test_startup_only_installs_a_finder(hook_venv, off):
    out = _python(hook_venv, STARTUP, off=off)
    assert out.returncode == 0, out.stderr
    state = json.loads(out.stdout)
    assert state == dict(finder=not off, heavy=[])


IMPORT_MMRAZOR = '''
import json, sys
import mmrazor.models
state = dict(
    # the patches, but not the rest of mmkd_ext (no registration yet)
    compat='mmkd_ext.compat' in sys.modules,
    package='mmkd_ext' in sys.modules,
    # mmrazor keeps its own loader; the one-shot finder is gone
    loader=type(mmrazor.__loader__).__name__,
    finder=any(type(f).__name__ == 'AutopatchFinder' for f in sys.meta_path))
import mmkd_ext
state['same_compat'] = mmkd_ext.compat is sys.modules['mmkd_ext.compat']
print(json.dumps(state))
'''


def test_mmrazor_imports_with_the_hook_only(hook_venv):
    out = _python(hook_venv, IMPORT_MMRAZOR)
    assert out.returncode == 0, out.stderr[-3000:]
    assert json.loads(out.stdout.splitlines()[-1]) == dict(
        compat=True, package=False, loader='SourceFileLoader', finder=False,
        same_compat=True)
    off = _python(hook_venv, IMPORT_MMRAZOR, off=True)
    assert off.returncode != 0
    assert 'ImportError' in off.stderr


def _mmrazor_train_script() -> str:
    """mmrazor 1.0.0's own tools/train.py, as its wheel installs it (and as
    ``mim train mmrazor`` runs it)."""
    origin = importlib.util.find_spec('mmrazor').origin
    script = osp.join(osp.dirname(origin), '.mim', 'tools', 'train.py')
    assert osp.isfile(script), f'{script}: mmrazor 1.0.0 ships it'
    return script


def test_mmrazor_own_train_script_runs_a_demo_config(hook_venv, demo_root,
                                                     tmp_path):
    """mmrazor's train script imports mmrazor (register_all_modules) before
    it reads the config, so the config's ``custom_imports`` comes too late
    for the patches: only the hook makes it run. One iteration of the CanKD
    demo config (2 images, batch 2) from a teacher checkpoint."""
    from mmdet.registry import MODELS
    from mmengine.registry import init_default_scope
    cfg = demo_cfg(DEMO_CANKD, demo_root, str(tmp_path / 'wd'),
                   batch_size=2)
    cfg.train_dataloader.dataset.indices = 2
    init_default_scope('mmdet')
    torch.manual_seed(0)
    teacher = MODELS.build(cfg.model.teacher)
    teacher_ckpt = str(tmp_path / 'teacher.pth')
    torch.save(dict(state_dict=teacher.state_dict(), meta={}), teacher_ckpt)
    cfg.model.teacher_ckpt = teacher_ckpt
    cfg_path = str(tmp_path / 'cankd_demo.py')
    cfg.dump(cfg_path)

    cmd = [hook_venv['python'], _mmrazor_train_script(), cfg_path]
    off = run(cmd, clean_env(with_repo=True, **{ENV_OFF: '1'}),
              cwd=str(tmp_path))
    assert off.returncode != 0
    assert UPSTREAM_ERROR in off.stderr, off.stderr[-3000:]
    assert not osp.exists(tmp_path / 'wd')

    out = run(cmd, clean_env(with_repo=True), cwd=str(tmp_path))
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-4000:]
    assert osp.isfile(tmp_path / 'wd' / 'epoch_1.pth'), log[-4000:]
    assert 'distill.loss_cankd_fpn0' in log
