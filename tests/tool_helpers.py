# Copyright (c) mmkd_ext contributors. All rights reserved.
"""Shared by the tool tests: demo distillation checkpoints with random
weights, saved as a distillation run saves them."""
import os.path as osp
from typing import Callable, Dict, Optional

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmkd_ext.models.distillers import allow_random_teacher

from .conftest import ROOT, demo_cfg

DISTILL = osp.join(
    ROOT, 'configs', 'demo',
    'cwd_fpn_retinanet-r18-w32_retinanet-r18-w16_24e_demo-coco.py')


def randomize_bn(model: torch.nn.Module, seed: int) -> None:
    """Non-trivial BN statistics, so that a lost buffer changes outputs."""
    gen = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            n = m.running_mean.numel()
            m.running_mean.copy_(torch.randn(n, generator=gen) * 0.1)
            m.running_var.copy_(torch.rand(n, generator=gen) + 0.5)


def make_distill_checkpoint(demo_root: str,
                            out_dir: str,
                            name: str = 'distill',
                            modify: Optional[Callable[[Config],
                                                      None]] = None,
                            seed: int = 0) -> Dict[str, str]:
    """The demo distillation config on ``demo_root`` and a checkpoint of it
    with random student, teacher and distiller weights.

    The random detector keeps all boxes (``score_thr=0``) so that the COCO
    metric has predictions to evaluate. ``modify(cfg)`` may change the
    config (e.g. the losses) before the algorithm is built.

    Returns:
        dict: ``cfg`` and ``ckpt`` paths.
    """
    from mmrazor.registry import MODELS
    cfg = demo_cfg(DISTILL, demo_root, osp.join(out_dir, f'{name}_wd'))
    cfg.model.architecture.test_cfg.score_thr = 0.0
    if modify is not None:
        modify(cfg)
    cfg_path = osp.join(out_dir, f'{name}.py')
    cfg.dump(cfg_path)
    init_default_scope('mmrazor')
    torch.manual_seed(seed)
    allow_random_teacher(cfg.model)  # random weights, saved below
    algorithm = MODELS.build(cfg.model)
    randomize_bn(algorithm, seed)
    ckpt = osp.join(out_dir, f'{name}.pth')
    torch.save(dict(state_dict=algorithm.state_dict(), meta={}), ckpt)
    return dict(cfg=cfg_path, ckpt=ckpt)


def train_with_tool(cfg_path: str, work_dir: str, timeout: int = 1500) -> str:
    """Run ``tools/train.py cfg_path --work-dir work_dir`` in a subprocess;
    assert it succeeded and wrote ``epoch_1.pth``; return its log."""
    import subprocess
    import sys
    out = subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools', 'train.py'), cfg_path,
         '--work-dir', work_dir],
        capture_output=True, text=True, cwd=ROOT, timeout=timeout)
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-4000:]
    assert osp.isfile(osp.join(work_dir, 'epoch_1.pth')), log[-4000:]
    return log
