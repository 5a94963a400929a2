# Copyright (c) mmkd_ext contributors. All rights reserved.
"""The one mechanism by which a loss wraps a logit distillation loss."""
import inspect

import torch.nn as nn
from mmrazor.registry import MODELS


def takes_labels(loss: nn.Module) -> bool:
    """Whether ``loss`` uses ``gt_labels`` (the class labels of DKD-style
    losses): through wrappers, whether the innermost loss does."""
    if isinstance(loss, LogitLossWrapper):
        return loss.with_labels
    return 'gt_labels' in inspect.signature(loss.forward).parameters


class LogitLossWrapper(nn.Module):
    """Base of the losses that transform logits and call a wrapped loss.

    Builds the wrapped loss from its config dict in mmrazor's scope,
    whatever the caller's default scope is (an mmseg / mmdet runner sets its
    own), with an error naming the wrapper and the config when the dict has
    no type or the type is not registered. A subclass's ``forward`` has the
    plain signature ``(preds_S, preds_T, gt_labels=None)`` (what mmrazor's
    distiller checks ``loss_forward_mappings`` against) and passes
    ``gt_labels`` on when :attr:`with_labels` is set.

    Args:
        loss (dict): Config of the wrapped loss, registered in mmrazor's
            ``MODELS``. Its ``loss_weight`` is the overall weight.

    Attributes:
        loss (nn.Module): The wrapped loss.
        with_labels (bool): The wrapped loss takes ``gt_labels``.
    """

    def __init__(self, loss: dict) -> None:
        super().__init__()
        owner = type(self).__name__
        if not isinstance(loss, dict) or 'type' not in loss:
            raise TypeError(
                f'{owner}: `loss` must be a config dict with a `type` key, '
                f'got {loss!r}')
        loss_type = loss['type']
        if isinstance(loss_type, str) and MODELS.get(loss_type) is None:
            raise KeyError(
                f'{owner}: wrapped loss type {loss_type!r} is not registered '
                f'in mmrazor MODELS (loss={dict(loss)!r}); is the module '
                'that defines it imported?')
        self.loss = MODELS.build(dict(loss, _scope_=loss.get('_scope_',
                                                             'mmrazor')))
        self.with_labels = takes_labels(self.loss)
