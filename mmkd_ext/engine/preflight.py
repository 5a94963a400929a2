# Copyright (c) mmkd_ext contributors. All rights reserved.
"""The tools' pre-flight check, run before a Runner is built.

:func:`preflight_check` stops a run before any work with an error naming
the config key and path when the teacher checkpoint or a dataset file or
folder does not exist (instead of a traceback from deep inside a data
loader worker or ``torch.load`` minutes later).
"""
import os.path as osp
from typing import Sequence

from mmengine.config import Config

from mmkd_ext.utils import iter_dataset_cfgs

_DATALOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


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
        for key, ds in iter_dataset_cfgs(loader['dataset'],
                                         f'{loader_key}.dataset'):
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
