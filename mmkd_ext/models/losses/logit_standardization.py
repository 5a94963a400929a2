# Copyright (c) mmkd_ext contributors. All rights reserved.
"""Z-score logit standardization (Sun et al., CVPR 2024)."""
from typing import Optional

import torch
from mmrazor.registry import MODELS

from .functional import upcast_half
from .wrapper import LogitLossWrapper


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
    logits = upcast_half(logits)
    mean = logits.mean(dim=dim, keepdim=True)
    std = logits.std(dim=dim, keepdim=True)
    return (logits - mean) / (std + eps)


@MODELS.register_module()
class LogitStandardization(LogitLossWrapper):
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
            ``(preds_S, preds_T)`` or ``(preds_S, preds_T, gt_labels)``,
            e.g. ``KLDivergence``, ``DKDLoss``). Its ``loss_weight`` is the
            overall weight.
        eps (float): Added to the unbiased standard deviation. Defaults to
            1e-7 (the authors' value).

    Shapes:
        preds_S, preds_T: (N, K); more trailing dims are allowed if the
        wrapped loss accepts them (standardization is over dim 1).
    """

    def __init__(self, loss: dict, eps: float = 1e-7) -> None:
        if not eps >= 0:
            raise ValueError(
                f'LogitStandardization: eps must be >= 0, got {eps}')
        tau = loss.get('tau', 1.0) if isinstance(loss, dict) else 1.0
        if isinstance(tau, (int, float)) and not tau > 0:
            raise ValueError(
                f'LogitStandardization: the base temperature tau of the '
                f'wrapped loss {loss["type"]!r} must be > 0, got {tau}')
        super().__init__(loss)
        self.eps = eps

    def forward(self, preds_S: torch.Tensor, preds_T: torch.Tensor,
                gt_labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        """The wrapped loss on the standardized logits.

        ``preds_S`` and ``preds_T`` are the student's and the teacher's
        (N, K) logits, standardized over dim 1; ``gt_labels``, (N, ) class
        indices, are passed to a wrapped loss that takes them (e.g.
        ``DKDLoss``) and refused otherwise.
        """
        if preds_S.shape != preds_T.shape:
            raise ValueError(
                'LogitStandardization: student and teacher logits must '
                f'have the same shape, got preds_S {tuple(preds_S.shape)} '
                f'and preds_T {tuple(preds_T.shape)}')
        z_S, z_T = zscore(preds_S, self.eps), zscore(preds_T.detach(),
                                                     self.eps)
        if self.with_labels:
            return self.loss(z_S, z_T, gt_labels=gt_labels)
        if gt_labels is not None:
            raise ValueError(
                'LogitStandardization: gt_labels is mapped but the wrapped '
                f'{type(self.loss).__name__} does not take labels; remove '
                'it from loss_forward_mappings')
        return self.loss(z_S, z_T)
