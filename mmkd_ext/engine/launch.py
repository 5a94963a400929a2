# Copyright (c) mmkd_ext contributors. All rights reserved.
"""What ``tools/train.py`` and ``tools/test.py`` do before building a Runner.

* :func:`preflight_check` stops a run before any work with an error naming
  the config key and path when the teacher checkpoint or a dataset file or
  folder does not exist (instead of a traceback from deep inside a data
  loader worker or ``torch.load`` minutes later).
* :func:`setup_distributed` makes mmengine's distributed set-up work on
  machines without GPUs: mmengine's ``init_dist`` calls
  ``torch.cuda.set_device`` and its DDP wrapper passes CUDA ``device_ids``.
  On CPU we initialise a gloo process group from torchrun's / Slurm's
  environment ourselves, before the Runner (which then skips its own
  initialisation), and wrap the model with ``device_ids=None`` and
  ``broadcast_buffers=False`` (the frozen teacher's BN buffers must not be
  broadcast every step).
"""
import os
import os.path as osp
from typing import Iterator, Sequence, Tuple

import torch
import torch.distributed as dist
from mmengine.config import Config

_DATALOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def _datasets(cfg_ds, key: str) -> Iterator[Tuple[str, dict]]:
    """Yield (config key, dataset cfg) through dataset wrappers."""
    if cfg_ds is None:
        return
    if 'datasets' in cfg_ds:
        for i, sub in enumerate(cfg_ds['datasets']):
            yield from _datasets(sub, f'{key}.datasets[{i}]')
    elif 'dataset' in cfg_ds:
        yield from _datasets(cfg_ds['dataset'], f'{key}.dataset')
    else:
        yield key, cfg_ds


def _is_remote(path: str) -> bool:
    return '://' in path


def preflight_check(cfg: Config,
                    loaders: Sequence[str] = _DATALOADERS) -> None:
    """Check the paths a config points at before anything is built.

    Args:
        cfg (Config): The full config.
        loaders (Sequence[str]): The dataloaders whose annotation files and
            image folders are checked. Defaults to train, val and test.

    Raises:
        FileNotFoundError: Naming the config key and the missing path.
    """
    ckpt = cfg.get('model', {}).get('teacher_ckpt')
    if ckpt and not _is_remote(ckpt) and not osp.isfile(ckpt):
        raise FileNotFoundError(
            f'model.teacher_ckpt: teacher checkpoint "{ckpt}" does not exist. '
            'Download the teacher named in the config comment and pass its '
            'path, e.g. --cfg-options model.teacher_ckpt=/path/to/teacher.pth'
        )
    for loader_key in loaders:
        loader = cfg.get(loader_key)
        if not loader or 'dataset' not in loader:
            continue
        for key, ds in _datasets(loader['dataset'], f'{loader_key}.dataset'):
            root = ds.get('data_root') or ''
            if root and not _is_remote(root) and not osp.isdir(root):
                raise FileNotFoundError(
                    f'{key}.data_root: dataset folder "{root}" does not '
                    'exist. Prepare the dataset (see the config README) or '
                    f'set --cfg-options {key}.data_root=/path/to/data')
            ann = ds.get('ann_file') or ''
            if ann:
                path = ann if osp.isabs(ann) else osp.join(root, ann)
                if not _is_remote(path) and not osp.exists(path):
                    raise FileNotFoundError(
                        f'{key}.ann_file: annotation file "{path}" does not '
                        'exist.')
            prefix = ds.get('data_prefix') or {}
            for name, sub in (prefix.items()
                              if isinstance(prefix, dict) else []):
                if not isinstance(sub, str) or not sub:
                    continue
                path = sub if osp.isabs(sub) else osp.join(root, sub)
                if not _is_remote(path) and not osp.isdir(path):
                    raise FileNotFoundError(
                        f'{key}.data_prefix.{name}: folder "{path}" does not '
                        'exist.')


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
