# Copyright (c) mmkd_ext contributors. All rights reserved.
"""Z-score logit standardization (Sun et al., CVPR 2024)."""
import functools
import inspect
from typing import Any, Callable

import torch
import torch.nn as nn
from mmrazor.registry import MODELS


def zscore(logits: torch.Tensor,
           eps: float = 1e-7,
           dim: int = 1) -> torch.Tensor:
    """Z-score of ``logits`` along ``dim``.

    .. math::
        Z(x) = \\frac{x - \\bar{x}}{\\sigma(x) + \\epsilon}

    As in the authors' code, :math:`\\sigma` is the **unbiased** standard
    deviation (divides by ``K - 1``, ``torch.std``'s default), ``eps`` is
    added to the standard deviation (not to the variance), and gradients
    flow through both the mean and the standard deviation. Constant logits
    (``std == 0``) give zeros, not NaN. Half / bfloat16 inputs are computed
    and returned in float32.

    Args:
        logits (torch.Tensor): Logits, e.g. of shape (N, K).
        eps (float): Added to the standard deviation. Defaults to 1e-7.
        dim (int): Class dimension. Defaults to 1.

    Returns:
        torch.Tensor: The standardized logits, same shape as ``logits``.
    """
    if logits.dim() == 0 or logits.size(dim) < 2:
        raise ValueError(
            f'zscore: needs at least 2 classes along dim={dim} for the '
            f'unbiased std, got logits of shape {tuple(logits.shape)}')
    if logits.dtype in (torch.float16, torch.bfloat16):
        logits = logits.float()
    mean = logits.mean(dim=dim, keepdim=True)
    std = logits.std(dim=dim, keepdim=True)
    return (logits - mean) / (std + eps)


@MODELS.register_module()
class LogitStandardization(nn.Module):
    """Wrap a logit distillation loss with Z-score logit standardization.

    `Logit Standardization in Knowledge Distillation
    <https://arxiv.org/abs/2403.01427>`_ (CVPR 2024).

    Student logits :math:`z` and teacher logits :math:`v` are replaced by
    their per-sample Z-scores over the class dimension (see :func:`zscore`)
    before the wrapped loss applies its own base temperature :math:`\\tau`:

    .. math::
        \\mathcal{L} = \\mathcal{L}_{wrapped}(Z(z), Z(v), \\ldots)

    e.g. for KD,
    :math:`\\tau^2 KL(\\mathrm{sm}(Z(v)/\\tau) \\| \\mathrm{sm}(Z(z)/\\tau))`.
    The teacher logits are detached.

    Args:
        loss (dict): Config of the wrapped loss (any loss registered in
            mmrazor's ``MODELS`` whose forward takes
            ``(preds_S, preds_T, ...)``, e.g. ``KLDivergence``,
            ``DKDLoss``). Its ``loss_weight`` is the overall weight.
        eps (float): Added to the unbiased standard deviation. Defaults to
            1e-7 (the authors' value).

    Shapes:
        preds_S, preds_T: (N, K); more trailing dims are allowed if the
        wrapped loss accepts them (standardization is over dim 1).
    """

    def __init__(self, loss: dict, eps: float = 1e-7) -> None:
        super().__init__()
        if not isinstance(loss, dict) or 'type' not in loss:
            raise TypeError(
                'LogitStandardization: `loss` must be a config dict with a '
                f'`type` key, got {loss!r}')
        if not eps >= 0:
            raise ValueError(
                f'LogitStandardization: eps must be >= 0, got {eps}')
        loss_type = loss['type']
        if isinstance(loss_type, str) and MODELS.get(loss_type) is None:
            raise KeyError(
                f'LogitStandardization: wrapped loss type {loss_type!r} is '
                f'not registered in mmrazor MODELS (loss={dict(loss)!r}); '
                'is the module that defines it imported?')
        tau = loss.get('tau', 1.0)
        if isinstance(tau, (int, float)) and not tau > 0:
            raise ValueError(
                f'LogitStandardization: the base temperature tau of the '
                f'wrapped loss {loss_type!r} must be > 0, got {tau}')
        # Build in mmrazor's scope whatever the caller's default scope is
        # (an mmseg/mmdet runner sets its own), where the losses live.
        self.loss = MODELS.build(dict(loss, _scope_=loss.get('_scope_',
                                                             'mmrazor')))
        self.eps = eps

    @property
    def forward(self) -> Callable[..., torch.Tensor]:
        """The standardizing forward, with the wrapped loss's signature.

        mmrazor's ``ConfigurableDistiller`` checks each
        ``loss_forward_mappings`` key (e.g. ``gt_labels``) against
        ``inspect.signature(loss.forward)``, so the wrapper presents the
        signature of the loss it wraps; see :meth:`standardized_forward`.
        """
        bound = functools.partial(self.standardized_forward)
        bound.__signature__ = inspect.signature(self.loss.forward)
        return bound

    def standardized_forward(self, preds_S: torch.Tensor,
                             preds_T: torch.Tensor, *args: Any,
                             **kwargs: Any) -> torch.Tensor:
        """Standardize both logits over dim 1 and call the wrapped loss.

        Args:
            preds_S (torch.Tensor): Student logits, shape (N, K).
            preds_T (torch.Tensor): Teacher logits, shape (N, K).
            *args, **kwargs: Passed to the wrapped loss (e.g. ``gt_labels``
                for ``DKDLoss``).

        Returns:
            torch.Tensor: The wrapped loss on the standardized logits.
        """
        if preds_S.shape != preds_T.shape:
            raise ValueError(
                'LogitStandardization: student and teacher logits must '
                f'have the same shape, got preds_S {tuple(preds_S.shape)} '
                f'and preds_T {tuple(preds_T.shape)}')
        return self.loss(
            zscore(preds_S, self.eps), zscore(preds_T.detach(), self.eps),
            *args, **kwargs)
