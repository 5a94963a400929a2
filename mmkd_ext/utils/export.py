# Copyright (c) mmkd_ext contributors. All rights reserved.
"""Export the student of a distillation run as a plain model.

A checkpoint written while training an mmrazor distillation algorithm holds
``architecture.*`` (the student), ``teacher.*`` and ``distiller.*`` (the
learnable parts of the losses and connectors). Deployment and the stock
``mmdet`` / ``mmseg`` / ``mmpretrain`` test scripts need the student alone:
:func:`export_student` writes its state dict (keys without the
``architecture.`` prefix) and :func:`student_config` a config in which the
student is the ``model``, so that ``mmdet/tools/test.py STUDENT_CFG
STUDENT_CKPT`` runs. Anything a method inserts INTO the student (letKD's
layer) lives under ``architecture.`` and is exported with it; the
distiller's modules (CanKD, TaT embeddings, connectors) are not.
"""
import copy
import os.path as osp
from typing import Dict, Optional

import torch
from mmengine.config import Config, ConfigDict

from .checkpoint import extract_student_state_dict, load_checkpoint_file

_DISTILL_ONLY_KEYS = ('teacher_ckpt', )


def _scope_of(cfg_path: str) -> Optional[str]:
    return cfg_path.split('::', 1)[0] if '::' in cfg_path else None


def student_config(cfg: Config) -> Config:
    """A config whose ``model`` is the student of the distillation ``cfg``.

    Dataloaders, evaluators, ``custom_imports`` and the environment are
    kept; the distillation-only parts (teacher, distiller, the distillation
    val loop) are removed.

    Args:
        cfg (Config): The distillation config.

    Returns:
        Config: The student config.
    """
    if 'architecture' not in cfg.model:
        raise KeyError('model.architecture: the config is not an mmrazor '
                       'distillation config')
    arch = copy.deepcopy(cfg.model.architecture)
    out = Config(copy.deepcopy(cfg.to_dict()))
    if isinstance(arch, (dict, ConfigDict)) and 'cfg_path' in arch:
        from mmengine.hub import get_config
        base = get_config(arch['cfg_path'], pretrained=False)
        model = base.model
        scope = _scope_of(arch['cfg_path']) or base.get('default_scope')
    else:
        model = arch
        scope = (arch.get('_scope_') if isinstance(arch, dict) else
                 None) or out.get('default_scope')
    model_dict = model.to_dict() if isinstance(model, ConfigDict) else dict(
        model)
    model_dict.pop('_return_architecture_', None)
    if 'data_preprocessor' in cfg.model and 'data_preprocessor' not in \
            model_dict:
        model_dict['data_preprocessor'] = copy.deepcopy(
            cfg.model.data_preprocessor)
    out.model = ConfigDict(model_dict)
    for key in _DISTILL_ONLY_KEYS:
        out.pop(key, None)
    if out.get('val_cfg') and 'Distill' in str(out.val_cfg.get('type', '')):
        out.val_cfg = ConfigDict(type='ValLoop')
    if scope:
        out.default_scope = scope
    return out


def export_student(checkpoint_path: str,
                   out_path: str,
                   cfg: Optional[Config] = None) -> Dict[str, str]:
    """Write the student checkpoint (and its config, when ``cfg`` is given).

    Args:
        checkpoint_path (str): A checkpoint of the distillation run.
        out_path (str): The student checkpoint to write (``.pth``).
        cfg (Config, optional): The distillation config; the student config
            is written beside ``out_path`` with the suffix ``.py``.

    Returns:
        dict: ``checkpoint`` and (if written) ``config`` paths.
    """
    ckpt = load_checkpoint_file(checkpoint_path)
    student = extract_student_state_dict(ckpt)
    meta = dict(ckpt.get('meta', {}) or {})
    meta['mmkd_ext_exported_from'] = osp.abspath(checkpoint_path)
    torch.save(dict(meta=meta, state_dict=student), out_path)
    out = dict(checkpoint=out_path)
    if cfg is not None:
        cfg_path = osp.splitext(out_path)[0] + '.py'
        student_config(cfg).dump(cfg_path)
        out['config'] = cfg_path
    return out
