# Copyright (c) mmkd_ext contributors. All rights reserved.
"""The tools' pre-flight check, run before a Runner is built.

:func:`preflight_check` stops a run before any work with an error naming
the config key and path when the teacher checkpoint or a dataset file or
folder does not exist, or when a checkpoint to load (teacher, ``load_from``,
``--resume``) is truncated or corrupted (instead of a traceback from deep
inside a data loader worker or ``torch.load`` minutes later, after the
model and data are built).
"""
import os.path as osp
from typing import Optional, Sequence

from mmengine.config import Config
from mmengine.runner import find_latest_checkpoint

from mmkd_ext.utils import check_checkpoint_file, is_remote, iter_dataset_cfgs

_DATALOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def preflight_check(cfg: Config,
                    loaders: Sequence[str] = _DATALOADERS,
                    load_from_key: Optional[str] = None) -> None:
    """Check the paths a config points at before anything is built.

    Checked: ``model.teacher_ckpt``; ``load_from`` (or, for ``resume=True``
    without it, the latest checkpoint recorded in ``work_dir``) with
    :func:`~mmkd_ext.utils.check_checkpoint_file`; the dataset files and
    folders of ``loaders``.

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
    if ckpt and not is_remote(ckpt) and not osp.isfile(ckpt):
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
        for key, ds in iter_dataset_cfgs(loader['dataset'],
                                         f'{loader_key}.dataset'):
            root = ds.get('data_root') or ''
            if root and not is_remote(root) and not osp.isdir(root):
                raise FileNotFoundError(
                    f'{key}.data_root: dataset folder "{root}" does not '
                    'exist. Prepare the dataset (see the config README) or '
                    f'set --cfg-options {key}.data_root=/path/to/data')
            ann = ds.get('ann_file') or ''
            if ann:
                path = ann if osp.isabs(ann) else osp.join(root, ann)
                if not is_remote(path) and not osp.exists(path):
                    raise FileNotFoundError(
                        f'{key}.ann_file: annotation file "{path}" does not '
                        'exist.')
            prefix = ds.get('data_prefix') or {}
            for name, sub in (prefix.items()
                              if isinstance(prefix, dict) else []):
                if not isinstance(sub, str) or not sub:
                    continue
                path = sub if osp.isabs(sub) else osp.join(root, sub)
                if not is_remote(path) and not osp.isdir(path):
                    raise FileNotFoundError(
                        f'{key}.data_prefix.{name}: folder "{path}" does not '
                        'exist.')
