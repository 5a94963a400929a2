# Copyright (c) mmkd_ext contributors. All rights reserved.
import os.path as osp

import pytest

import mmkd_ext  # noqa: F401  (compat patches before any mmrazor import)

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


@pytest.fixture(scope='session')
def demo_root(tmp_path_factory):
    """A small demo set (16 train / 4 val images), generated once."""
    from mmkd_ext.datasets import make_demo_coco
    root = tmp_path_factory.mktemp('demo_coco')
    make_demo_coco(str(root), num_train=16, num_val=4)
    return str(root)


def demo_cfg(cfg_path: str, data_root: str, work_dir: str, epochs: int = 1,
             batch_size: int = 4):
    """A demo config pointed at ``data_root`` for a short, fixed schedule."""
    from mmengine.config import Config
    cfg = Config.fromfile(cfg_path)
    data_root = osp.abspath(data_root) + '/'
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[key].dataset.data_root = data_root
        cfg[key].batch_size = batch_size
    for key in ('val_evaluator', 'test_evaluator'):
        cfg[key].ann_file = data_root + 'annotations/instances_val.json'
    cfg.train_cfg.max_epochs = epochs
    # No validation: tests that need metrics run the test loop themselves.
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.param_scheduler = [
        dict(type='MultiStepLR', by_epoch=True, milestones=[1], gamma=0.5)
    ]
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=1)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.randomness = dict(seed=0, deterministic=True)
    cfg.work_dir = work_dir
    return cfg


@pytest.fixture(autouse=True)
def _mmrazor_default_scope():
    """Start every test in mmrazor's default scope: building an mmdet /
    mmseg / mmpretrain model switches the global default scope, which would
    otherwise leak into the next test's registry look-ups."""
    from mmengine.registry import init_default_scope
    init_default_scope('mmrazor')


@pytest.fixture(autouse=True)
def _torch_determinism_restored():
    """Leave torch's determinism settings as the test found them: a Runner
    built from a config with ``randomness.deterministic=True`` (the demo
    configs) turns on ``torch.use_deterministic_algorithms`` and cuDNN's
    deterministic mode for the rest of the process, which made later tests
    depend on the order they ran in."""
    import torch
    enabled = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    cudnn = torch.backends.cudnn
    cudnn_flags = cudnn.deterministic, cudnn.benchmark
    yield
    torch.use_deterministic_algorithms(enabled, warn_only=warn_only)
    cudnn.deterministic, cudnn.benchmark = cudnn_flags
