# Copyright (c) mmkd_ext contributors. All rights reserved.
"""Reading checkpoints: a distillation run's student, and state-dict checks.

A checkpoint written while training an mmrazor distillation algorithm holds
``architecture.*`` (the student), ``teacher.*`` and ``distiller.*`` (the
learnable parts of the losses and connectors).
"""
import os.path as osp
from collections import OrderedDict
from typing import Dict, Tuple

import torch
from torch import nn

STUDENT_PREFIX = 'architecture.'


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
