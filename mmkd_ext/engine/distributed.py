# Copyright (c) mmkd_ext contributors. All rights reserved.
"""Distributed set-up of the tools on machines without GPUs.

mmengine's ``init_dist`` calls ``torch.cuda.set_device`` and its DDP wrapper
passes CUDA ``device_ids``. On CPU, :func:`setup_distributed` initialises a
gloo process group from torchrun's / Slurm's / MPI's environment before the
Runner (which then skips its own initialisation), and wraps the model with
``device_ids=None`` and ``broadcast_buffers=False`` (the frozen teacher's BN
buffers must not be broadcast every step).
"""
import os

import torch
import torch.distributed as dist
from mmengine.config import Config


def setup_distributed(cfg: Config, launcher: str) -> None:
    """Prepare ``cfg`` (and the process group) for ``launcher``.

    On machines with CUDA nothing changes: mmengine's NCCL set-up is used.
    Without CUDA and with a launcher other than 'none', a gloo process group
    is initialised here from the launcher's environment and the model
    wrapper is set to ``MMDistributedDataParallel(device_ids=None,
    broadcast_buffers=False)`` unless the config sets one.

    Args:
        cfg (Config): The config; ``cfg.launcher`` is set to ``launcher``.
        launcher (str): 'none', 'pytorch', 'slurm' or 'mpi'.
    """
    cfg.launcher = launcher
    if launcher == 'none' or torch.cuda.is_available():
        return
    env_cfg = cfg.setdefault('env_cfg', {})
    dist_cfg = env_cfg.setdefault('dist_cfg', {})
    dist_cfg['backend'] = 'gloo'
    if 'model_wrapper_cfg' not in cfg:
        cfg.model_wrapper_cfg = dict(
            type='MMDistributedDataParallel',
            device_ids=None,
            broadcast_buffers=False)
    if dist.is_available() and dist.is_initialized():
        return
    if launcher == 'slurm':
        # Map Slurm's variables onto torch's env:// rendezvous.
        os.environ.setdefault('RANK', os.environ['SLURM_PROCID'])
        os.environ.setdefault('WORLD_SIZE', os.environ['SLURM_NTASKS'])
        os.environ.setdefault('LOCAL_RANK', os.environ['SLURM_LOCALID'])
        os.environ.setdefault('MASTER_PORT', '29500')
        if 'MASTER_ADDR' not in os.environ:
            import subprocess
            node_list = os.environ['SLURM_NODELIST']
            os.environ['MASTER_ADDR'] = subprocess.getoutput(
                f'scontrol show hostname {node_list} | head -n1')
    elif launcher == 'mpi':
        os.environ.setdefault('RANK', os.environ['OMPI_COMM_WORLD_RANK'])
        os.environ.setdefault('WORLD_SIZE',
                              os.environ['OMPI_COMM_WORLD_SIZE'])
        os.environ.setdefault('LOCAL_RANK',
                              os.environ['OMPI_COMM_WORLD_LOCAL_RANK'])
    dist.init_process_group(backend='gloo', init_method='env://')
