# Copyright (c) mmkd_ext contributors. All rights reserved.
"""Reading checkpoints: a distillation run's student, and state-dict checks.

A checkpoint written while training an mmrazor distillation algorithm holds
``architecture.*`` (the student), ``teacher.*`` and ``distiller.*`` (the
learnable parts of the losses and connectors).
"""
import os.path as osp
import zipfile
from collections import OrderedDict
from typing import Dict, Tuple

import torch
from torch import nn

STUDENT_PREFIX = 'architecture.'


def is_remote(path: str) -> bool:
    """Whether ``path`` is a URI (``scheme://...``) rather than a file."""
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
    if is_remote(path):
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


def load_checkpoint_file(checkpoint: str) -> Dict:
    """Load a checkpoint file on the CPU.

    Raises:
        FileNotFoundError: The file does not exist.
        TypeError: It does not hold a dict.
    """
    if not osp.isfile(checkpoint):
        raise FileNotFoundError(f'checkpoint "{checkpoint}" does not exist')
    ckpt = torch.load(checkpoint, map_location='cpu', weights_only=False)
    if not isinstance(ckpt, dict):
        raise TypeError(f'checkpoint "{checkpoint}" holds a '
                        f'{type(ckpt).__name__}, not a state dict')
    return ckpt


def extract_student_state_dict(checkpoint: Dict) -> 'OrderedDict':
    """The student's weights from a distillation checkpoint.

    Args:
        checkpoint (dict): A loaded checkpoint (with or without the
            ``state_dict`` level).

    Returns:
        OrderedDict: Student parameters and buffers, prefix removed.

    Raises:
        KeyError: If no key starts with ``architecture.`` (the checkpoint is
            not one of a distillation algorithm).
    """
    state = checkpoint.get('state_dict', checkpoint)
    student = OrderedDict((k[len(STUDENT_PREFIX):], v)
                          for k, v in state.items()
                          if k.startswith(STUDENT_PREFIX))
    if not student:
        sample = list(state)[:5]
        raise KeyError(
            'no "architecture." keys in the checkpoint: it is not a '
            f'distillation checkpoint (first keys: {sample}).')
    return student


def load_state_dict(checkpoint: str) -> Tuple[Dict[str, torch.Tensor], bool]:
    """The model weights of ``checkpoint``.

    A checkpoint of a distillation run (keys ``architecture.*``) gives its
    student; any other gives its state dict as is.

    Returns:
        tuple: (state dict, whether the student was extracted).
    """
    ckpt = load_checkpoint_file(checkpoint)
    state = ckpt.get('state_dict', ckpt)
    if any(k.startswith(STUDENT_PREFIX) for k in state):
        return dict(extract_student_state_dict(ckpt)), True
    return dict(state), False


def check_state_dict(model: nn.Module, state: Dict[str, torch.Tensor],
                     checkpoint: str) -> None:
    """Raise ValueError unless ``state`` has exactly the keys and shapes of
    ``model.state_dict()``."""
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shapes = [(k, tuple(state[k].shape), tuple(v.shape))
              for k, v in own.items()
              if k in state and tuple(state[k].shape) != tuple(v.shape)]
    if not (missing or unexpected or shapes):
        return
    lines = [f'checkpoint "{checkpoint}" does not match the model of the '
             f'config ({type(model).__name__}):']
    if missing:
        lines.append(f'  {len(missing)} missing keys, e.g. {missing[:4]}')
    if unexpected:
        lines.append(f'  {len(unexpected)} unexpected keys, e.g. '
                     f'{unexpected[:4]}')
    for key, got, want in shapes[:4]:
        lines.append(f'  {key}: checkpoint {got}, model {want}')
    if len(shapes) > 4:
        lines.append(f'  ... {len(shapes)} shape mismatches in all')
    raise ValueError('\n'.join(lines))
