# Copyright (c) mmkd_ext contributors. All rights reserved.
"""What ``tools/train.py`` and ``tools/test.py`` do before building a Runner.

* :func:`preflight_check` stops a run before any work with an error naming
  the config key and path when the teacher checkpoint or a dataset file or
  folder does not exist, or when a checkpoint to load (teacher, ``load_from``,
  ``--resume``) is truncated or corrupted (instead of a traceback from deep
  inside a data loader worker or ``torch.load`` minutes later, after the
  model and data are built). :func:`check_checkpoint_file` is that
  checkpoint check on its own.
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
import zipfile
from typing import Iterator, Optional, Sequence, Tuple

import torch
import torch.distributed as dist
from mmengine.config import Config
from mmengine.runner import find_latest_checkpoint

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


def check_checkpoint_file(path: str, key: str) -> None:
    """Check that ``path`` is a complete, readable checkpoint.

    A checkpoint in torch's zip format (``torch.save`` since torch 1.6) is
    read once without unpickling: its central directory must be found (a
    truncated file fails here) and every record must match its CRC-32 (a
    corrupted one fails here). A file in the older pickle format is loaded
    in full. Remote paths (``scheme://``) are not checked.

    Args:
        path (str): The checkpoint file.
        key (str): The config key or command-line argument that names it,
            for the error message.

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        ValueError: If it cannot be read as a checkpoint, naming ``key``,
            ``path`` and the reader's error.
    """
    if _is_remote(path):
        return
    if not osp.isfile(path):
        raise FileNotFoundError(f'{key}: checkpoint "{path}" does not exist.')
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                bad = archive.testzip()
            if bad is not None:
                raise zipfile.BadZipFile(f'record "{bad}" fails its CRC '
                                         'check')
        else:
            torch.load(path, map_location='cpu', weights_only=False)
    except Exception as err:
        raise ValueError(
            f'{key}: checkpoint "{path}" ({osp.getsize(path)} bytes) is not '
            'a readable checkpoint: the file is truncated (e.g. an '
            'interrupted download or save) or corrupted. Reader error: '
            f'{type(err).__name__}: {err}') from err


def preflight_check(cfg: Config,
                    loaders: Sequence[str] = _DATALOADERS,
                    load_from_key: Optional[str] = None) -> None:
    """Check the paths a config points at before anything is built.

    Checked: ``model.teacher_ckpt``; ``load_from`` (or, for ``resume=True``
    without it, the latest checkpoint recorded in ``work_dir``) with
    :func:`check_checkpoint_file`; the dataset files and folders of
    ``loaders``.

    Args:
        cfg (Config): The full config.
        loaders (Sequence[str]): The dataloaders whose annotation files and
            image folders are checked. Defaults to train, val and test.
        load_from_key (str, optional): How the error names ``load_from``,
            e.g. the command-line argument that set it ('--resume').
            Defaults to 'load_from'.

    Raises:
        FileNotFoundError: Naming the config key and the missing path.
        ValueError: Naming the config key and an unreadable checkpoint.
    """
    ckpt = cfg.get('model', {}).get('teacher_ckpt')
    if ckpt and not _is_remote(ckpt) and not osp.isfile(ckpt):
        raise FileNotFoundError(
            f'model.teacher_ckpt: teacher checkpoint "{ckpt}" does not exist. '
            'Download the teacher named in the config comment and pass its '
            'path, e.g. --cfg-options model.teacher_ckpt=/path/to/teacher.pth'
        )
    if ckpt:
        check_checkpoint_file(ckpt, 'model.teacher_ckpt')
    if cfg.get('load_from'):
        check_checkpoint_file(cfg.load_from, load_from_key or 'load_from')
    elif cfg.get('resume') and cfg.get('work_dir') and osp.isfile(
            osp.join(cfg.work_dir, 'last_checkpoint')):
        latest = find_latest_checkpoint(cfg.work_dir)
        if latest:
            check_checkpoint_file(
                latest, f'resume (latest checkpoint of {cfg.work_dir})')
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
