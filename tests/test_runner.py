# Copyright (c) mmkd_ext contributors. All rights reserved.
"""Runner-level behaviour: resume equals an uninterrupted run; a 2-process
gloo distillation through tools/dist_train.sh; the launch tools."""
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.hooks import Hook
from mmengine.runner import Runner

from .conftest import ROOT, demo_cfg

DISTILL = osp.join(
    ROOT, 'configs', 'demo',
    'cwd_fpn_retinanet-r18-w32_retinanet-r18-w16_24e_demo-coco.py')


class _Crash(Exception):
    pass


class _CrashAfterEpoch(Hook):
    """Simulates a crash right after epoch ``n``'s checkpoint is written."""

    def __init__(self, n):
        self.n = n

    def after_train_epoch(self, runner):
        if runner.epoch + 1 >= self.n:
            raise _Crash


def _train(cfg, name, crash_after=None):
    cfg.experiment_name = name
    runner = Runner.from_cfg(cfg)
    if crash_after is not None:
        runner.register_hook(_CrashAfterEpoch(crash_after), 'LOWEST')
        with pytest.raises(_Crash):
            runner.train()
        return None
    runner.train()
    state = runner.model.state_dict()
    return {k: v.detach().clone() for k, v in state.items()}


def _no_flip_cfg(*args):
    # mmengine does not checkpoint the global numpy RNG that RandomFlip draws
    # from in the main process (num_workers=0), so augmentation is removed:
    # everything else (weights, optimizer, scheduler, sampler order, message
    # hub) must be restored exactly.
    cfg = demo_cfg(*args)
    pipeline = cfg.train_dataloader.dataset.pipeline
    cfg.train_dataloader.dataset.pipeline = [
        t for t in pipeline if t.type != 'RandomFlip'
    ]
    return cfg


def test_resume_equals_uninterrupted(demo_root, tmp_path):
    full = _train(_no_flip_cfg(DISTILL, demo_root, str(tmp_path / 'a'), 2),
                  'full')
    _train(_no_flip_cfg(DISTILL, demo_root, str(tmp_path / 'b'), 2), 'first',
           crash_after=1)
    assert not osp.exists(tmp_path / 'b' / 'epoch_2.pth')
    ckpt = str(tmp_path / 'b' / 'epoch_1.pth')
    assert osp.isfile(ckpt)
    cfg = _no_flip_cfg(DISTILL, demo_root, str(tmp_path / 'b'), 2)
    cfg.resume = True
    cfg.load_from = ckpt
    resumed = _train(cfg, 'resumed')
    assert full.keys() == resumed.keys()
    distill_keys = [k for k in full if k.startswith('architecture.')]
    assert distill_keys
    for k in full:
        assert torch.allclose(full[k].float(), resumed[k].float(),
                              atol=1e-6), k
    # Training did move the student away from the initial weights.
    first = torch.load(ckpt, map_location='cpu', weights_only=False)
    assert first['meta']['epoch'] == 1
    assert not torch.equal(first['state_dict'][distill_keys[0]],
                           full[distill_keys[0]])


def test_two_process_gloo_distillation(demo_root, tmp_path):
    import socket
    with socket.socket() as sock:  # a free port, not a fixed one
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    env = dict(os.environ)
    env.update(PYTHON=sys.executable, PORT=str(port), OMP_NUM_THREADS='1')
    work = tmp_path / 'dist'
    droot = osp.abspath(demo_root) + '/'
    opts = [
        f'train_dataloader.dataset.data_root={droot}',
        f'val_dataloader.dataset.data_root={droot}',
        f'test_dataloader.dataset.data_root={droot}',
        f'val_evaluator.ann_file={droot}annotations/instances_val.json',
        f'test_evaluator.ann_file={droot}annotations/instances_val.json',
        'train_dataloader.batch_size=4', 'train_cfg.max_epochs=1',
        'train_cfg.val_interval=100', 'default_hooks.logger.interval=1'
    ]
    out = subprocess.run(
        ['bash', osp.join(ROOT, 'tools', 'dist_train.sh'), DISTILL, '2',
         '--work-dir', str(work), '--cfg-options', *opts],
        env=env, capture_output=True, text=True, timeout=600)
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-3000:]
    # 16 images, 2 processes x 4 images: 2 iterations per process.
    assert 'distill.loss_fpn0' in log
    # mmengine logs the world size as 'GPU number' whatever the device.
    assert 'Distributed training: True' in log and 'GPU number: 2' in log
    assert 'Epoch(train) [1][2/2]' in log
    assert osp.isfile(work / 'epoch_1.pth')


def test_train_tool_preflight_missing_teacher(demo_root, tmp_path):
    out = subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools', 'train.py'), DISTILL,
         '--work-dir', str(tmp_path), '--cfg-options',
         'model.teacher_ckpt=/nonexistent/teacher.pth'],
        capture_output=True, text=True, timeout=300)
    assert out.returncode != 0
    assert 'model.teacher_ckpt' in out.stderr
    assert '/nonexistent/teacher.pth' in out.stderr
