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


def _resume_cfg(work_dir, data_root, num_workers):
    """The demo distillation for 2 epochs, with its RandomFlip and
    RNGStateHook (demo base config), random teacher allowed."""
    cfg = demo_cfg(DISTILL, data_root, work_dir, 2)
    assert 'RandomFlip' in [t.type for t in
                            cfg.train_dataloader.dataset.pipeline]
    cfg.train_dataloader.num_workers = num_workers
    cfg.train_dataloader.persistent_workers = False
    cfg.model.distiller.allow_random_teacher = True
    return cfg


@pytest.mark.parametrize('num_workers',
                         [0, pytest.param(2, marks=pytest.mark.slow)])
def test_resume_equals_uninterrupted(demo_root, tmp_path, num_workers):
    """A run resumed from epoch 1 ends with the same weights and BN
    statistics as the uninterrupted run: weights, optimizer, schedulers,
    sampler order and message hub (mmengine) and the random state of the
    augmentation in the main process and the workers (RNGStateHook).
    Without the hook, RandomFlip's draws differ after the resume (BN
    running_var up to 0.13 apart)."""
    full = _train(_resume_cfg(str(tmp_path / 'a'), demo_root, num_workers),
                  'full')
    _train(_resume_cfg(str(tmp_path / 'b'), demo_root, num_workers), 'first',
           crash_after=1)
    assert not osp.exists(tmp_path / 'b' / 'epoch_2.pth')
    ckpt = str(tmp_path / 'b' / 'epoch_1.pth')
    assert osp.isfile(ckpt)
    cfg = _resume_cfg(str(tmp_path / 'b'), demo_root, num_workers)
    cfg.resume = True
    cfg.load_from = ckpt
    resumed = _train(cfg, 'resumed')
    assert full.keys() == resumed.keys()
    distill_keys = [k for k in full if k.startswith('architecture.')]
    assert distill_keys
    # Same operations on the same numbers in the same order: bitwise equal.
    for k in full:
        assert torch.equal(full[k], resumed[k]), k
    # Training did move the student away from the initial weights.
    first = torch.load(ckpt, map_location='cpu', weights_only=False)
    assert first['meta']['epoch'] == 1
    assert len(first['rng_state']) == 1  # one process
    assert not torch.equal(first['state_dict'][distill_keys[0]],
                           full[distill_keys[0]])


def _dist_train(cfg_path, work_dir, *args):
    """``tools/dist_train.sh cfg_path 2 --work-dir work_dir ARGS`` on a free
    port; assert it succeeded; return its log."""
    import socket
    with socket.socket() as sock:  # a free port, not a fixed one
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    env = dict(os.environ)
    env.update(PYTHON=sys.executable, PORT=str(port), OMP_NUM_THREADS='1')
    out = subprocess.run(
        ['bash', osp.join(ROOT, 'tools', 'dist_train.sh'), cfg_path, '2',
         '--work-dir', str(work_dir), *args],
        env=env, capture_output=True, text=True, timeout=600)
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-3000:]
    return log


def test_two_process_gloo_distillation(demo_root, tmp_path):
    work = tmp_path / 'dist'
    droot = osp.abspath(demo_root) + '/'
    opts = [
        f'train_dataloader.dataset.data_root={droot}',
        f'val_dataloader.dataset.data_root={droot}',
        f'test_dataloader.dataset.data_root={droot}',
        f'val_evaluator.ann_file={droot}annotations/instances_val.json',
        f'test_evaluator.ann_file={droot}annotations/instances_val.json',
        'train_dataloader.batch_size=4', 'train_cfg.max_epochs=1',
        'train_cfg.val_interval=100', 'default_hooks.logger.interval=1',
        'model.distiller.allow_random_teacher=True'
    ]
    log = _dist_train(DISTILL, work, '--cfg-options', *opts)
    # 16 images, 2 processes x 4 images: 2 iterations per process.
    assert 'distill.loss_fpn0' in log
    # mmengine logs the world size as 'GPU number' whatever the device.
    assert 'Distributed training: True' in log and 'GPU number: 2' in log
    assert 'Epoch(train) [1][2/2]' in log
    assert osp.isfile(work / 'epoch_1.pth')


@pytest.mark.slow
def test_two_process_resume_equals_uninterrupted(demo_root, tmp_path):
    """Under tools/dist_train.sh (2 gloo processes, flips drawn in each
    main process): 2 epochs == 1 epoch, then --resume for the second."""
    cfg = _resume_cfg(str(tmp_path / 'unused'), demo_root, 0)
    # The first half runs with max_epochs=1: a scheduler without an explicit
    # end would end there (mmengine's default) and not step at epoch 1.
    cfg.param_scheduler[0]['end'] = 2
    cfg_path = str(tmp_path / 'resume.py')
    cfg.dump(cfg_path)
    _dist_train(cfg_path, tmp_path / 'a')
    _dist_train(cfg_path, tmp_path / 'b', '--cfg-options',
                'train_cfg.max_epochs=1')
    first = torch.load(tmp_path / 'b' / 'epoch_1.pth', weights_only=False)
    assert len(first['rng_state']) == 2  # both processes' states
    _dist_train(cfg_path, tmp_path / 'b', '--resume',
                str(tmp_path / 'b' / 'epoch_1.pth'))
    full, resumed = (torch.load(tmp_path / d / 'epoch_2.pth',
                                weights_only=False)['state_dict']
                     for d in 'ab')
    assert full.keys() == resumed.keys()
    for k in full:
        assert torch.equal(full[k], resumed[k]), k


def test_train_tool_preflight_missing_teacher(demo_root, tmp_path):
    out = subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools', 'train.py'), DISTILL,
         '--work-dir', str(tmp_path), '--cfg-options',
         'model.teacher_ckpt=/nonexistent/teacher.pth'],
        capture_output=True, text=True, timeout=300)
    assert out.returncode != 0
    assert 'model.teacher_ckpt' in out.stderr
    assert '/nonexistent/teacher.pth' in out.stderr


def _data_opts(demo_root):
    droot = osp.abspath(demo_root) + '/'
    return [
        f'{loader}.dataset.data_root={droot}'
        for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader')
    ] + [
        f'{ev}.ann_file={droot}annotations/instances_val.json'
        for ev in ('val_evaluator', 'test_evaluator')
    ]


@pytest.mark.parametrize('method', ['cankd', 'cwd'])
def test_train_tool_refuses_demo_config_without_teacher(
        demo_root, tmp_path, method):
    """The README's demo configs, run with tools/train.py without
    model.teacher_ckpt: a clear error, no training from a random teacher."""
    cfg = osp.join(
        ROOT, 'configs', 'demo',
        f'{method}_fpn_retinanet-r18-w32_retinanet-r18-w16_24e_demo-coco.py')
    out = subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools', 'train.py'), cfg,
         '--work-dir', str(tmp_path), '--cfg-options', *_data_opts(demo_root)],
        capture_output=True, text=True, timeout=300)
    assert out.returncode != 0
    assert 'model.teacher_ckpt is not set' in out.stderr, out.stderr[-3000:]
    assert 'Epoch(train)' not in out.stdout + out.stderr


def test_train_tool_names_truncated_resume_checkpoint(demo_root, tmp_path):
    ckpt = tmp_path / 'epoch_1.pth'
    torch.save(dict(state_dict={'w': torch.zeros(4096)}), ckpt)
    ckpt.write_bytes(ckpt.read_bytes()[:10000])
    work = tmp_path / 'work'
    out = subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools', 'train.py'), DISTILL,
         '--work-dir', str(work), '--resume', str(ckpt), '--cfg-options',
         *_data_opts(demo_root)],
        capture_output=True, text=True, timeout=300)
    assert out.returncode != 0
    assert f'--resume: checkpoint "{ckpt}"' in out.stderr, out.stderr[-3000:]
    assert 'truncated' in out.stderr
    assert not work.exists()  # before the Runner (it creates the work dir)


class _Draws(torch.utils.data.Dataset):
    """Each item: a NumPy, a Python and a torch random draw (as transforms
    make them)."""

    def __len__(self):
        return 4

    def __getitem__(self, i):
        import random

        import numpy as np
        return (float(np.random.rand()), random.random(),
                float(torch.rand(())))


def _worker_draws(epochs, hook=None):
    """The draws of two workers per epoch; with ``hook``, its
    ``before_train_epoch`` runs first (on a stand-in runner)."""
    from functools import partial
    from types import SimpleNamespace

    from mmengine.dataset import worker_init_fn
    loader = torch.utils.data.DataLoader(
        _Draws(), batch_size=None, num_workers=2,
        worker_init_fn=partial(worker_init_fn, num_workers=2, rank=0,
                               seed=0))
    draws = []
    for epoch in epochs:
        if hook is not None:
            hook.before_train_epoch(
                SimpleNamespace(train_dataloader=loader, seed=0, epoch=epoch,
                                iter=0))
        draws.append([tuple(x) for x in loader])
    return draws


def test_rng_hook_seeds_workers_per_epoch():
    from mmkd_ext.engine import RNGStateHook

    # mmengine's seeding repeats the same draws every epoch.
    plain = _worker_draws([0, 1])
    assert plain[0] == plain[1]
    seeded = _worker_draws([0, 1], RNGStateHook())
    assert seeded[0] != seeded[1]
    for i in range(3):  # new draws for every generator
        assert {d[i] for d in seeded[0]}.isdisjoint(d[i] for d in seeded[1])
    # A run resumed at epoch 1 makes that epoch's draws.
    assert _worker_draws([1], RNGStateHook())[0] == seeded[1]


def test_rng_hook_checkpoint_within_an_epoch():
    """A checkpoint that is not an epoch end (single process) holds the
    state of its moment, which a resumed run restores."""
    import random
    from types import SimpleNamespace

    from mmkd_ext.engine import RNGStateHook
    hook = RNGStateHook()
    checkpoint = dict(meta=dict(epoch=0, iter=5))
    hook.before_save_checkpoint(None, checkpoint)
    expected = random.random(), float(torch.rand(()))
    resumed = RNGStateHook()
    resumed.after_load_checkpoint(None, checkpoint)
    resumed.before_train_epoch(
        SimpleNamespace(train_dataloader=SimpleNamespace(worker_init_fn=None),
                        epoch=0, iter=5))
    assert (random.random(), float(torch.rand(()))) == expected


def test_add_rng_state_hook_once():
    from mmengine.config import Config

    from mmkd_ext.engine import RNGStateHook, add_rng_state_hook
    cfg = Config(dict(custom_hooks=[dict(type='EMAHook')]))
    add_rng_state_hook(cfg)
    add_rng_state_hook(cfg)
    assert [h['type'] for h in cfg.custom_hooks] == ['EMAHook', 'RNGStateHook']
    for listed in (dict(type='mmengine.RNGStateHook'), RNGStateHook()):
        cfg = Config(dict(custom_hooks=[listed]))
        add_rng_state_hook(cfg)
        assert len(cfg.custom_hooks) == 1
    # The demo configs list it (for train scripts other than ours).
    assert [h['type'] for h in Config.fromfile(DISTILL).custom_hooks
            ] == ['RNGStateHook']
