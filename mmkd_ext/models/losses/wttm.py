# Copyright (c) mmkd_ext contributors. All rights reserved.
"""Transformed teacher matching (TTM) and weighted TTM (WTTM), ICLR 2024."""
from typing import Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmrazor.registry import MODELS

from .functional import upcast_half


class _TransformedTeacherMatching(nn.Module):
    """Shared argument checks, the per-sample KL of TTM / WTTM and the
    forward; a subclass says how the per-sample terms are averaged."""

    def __init__(self, gamma: float, loss_weight: float = 1.0) -> None:
        super().__init__()
        name = type(self).__name__
        if isinstance(gamma, bool) or not isinstance(gamma, (int, float)):
            raise TypeError(f'{name}: gamma must be a number, got {gamma!r}')
        if not 0 < gamma < float('inf'):
            raise ValueError(
                f'{name}: gamma (= 1/T) must be a finite positive number, '
                f'got {gamma}')
        self.gamma = float(gamma)
        self.loss_weight = loss_weight

    def _kl_and_log_power_sum(
            self, preds_S: torch.Tensor,
            preds_T: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Per-sample KL(p_hat || q) and log U, both of shape (N, )."""
        name = type(self).__name__
        if preds_S.dim() != 2 or preds_S.shape != preds_T.shape:
            raise ValueError(
                f'{name}: expects student and teacher logits of the same '
                f'shape (N, K), got preds_S {tuple(preds_S.shape)} and '
                f'preds_T {tuple(preds_T.shape)}')
        preds_S, preds_T = upcast_half(preds_S), upcast_half(preds_T.detach())
        scaled_T = self.gamma * preds_T
        # log p_hat = log(p_t^gamma / sum_j p_t_j^gamma)
        log_p_hat = F.log_softmax(scaled_T, dim=1)
        log_q = F.log_softmax(preds_S, dim=1)
        kl = F.kl_div(
            log_q, log_p_hat, reduction='none', log_target=True).sum(dim=1)
        # log U = log sum_j p_t_j^gamma
        log_u = (torch.logsumexp(scaled_T, dim=1) -
                 self.gamma * torch.logsumexp(preds_T, dim=1))
        return kl, log_u

    def _average(self, kl: torch.Tensor, log_u: torch.Tensor) -> torch.Tensor:
        """The loss (before the weight) from the per-sample KL and log U."""
        raise NotImplementedError

    def forward(self, preds_S: torch.Tensor,
                preds_T: torch.Tensor) -> torch.Tensor:
        """Forward computation.

        Args:
            preds_S (torch.Tensor): Student logits, shape (N, K).
            preds_T (torch.Tensor): Teacher logits, shape (N, K).

        Returns:
            torch.Tensor: Scalar loss.
        """
        kl, log_u = self._kl_and_log_power_sum(preds_S, preds_T)
        return self.loss_weight * self._average(kl, log_u)


@MODELS.register_module()
class TTMLoss(_TransformedTeacherMatching):
    """Transformed Teacher Matching.

    `Knowledge Distillation Based on Transformed Teacher Matching
    <https://arxiv.org/abs/2402.11148>`_ (ICLR 2024).

    The temperature acts on the teacher only, as a power transform of its
    probabilities (:math:`\\gamma = 1/T`); the student is not tempered and
    there is no :math:`T^2` factor:

    .. math::
        \\hat{p}^t = \\frac{(p^t)^{\\gamma}}{\\sum_j (p^t_j)^{\\gamma}}
        = \\mathrm{softmax}(\\gamma v), \\quad
        \\mathcal{L} = w \\cdot \\frac{1}{N} \\sum_{n}
        KL(\\hat{p}^t_n \\| \\mathrm{softmax}(z_n))

    Computed in log space (``log_softmax(gamma * v)``), so very peaked
    teachers and fp16 inputs (computed in float32) give no NaN/inf. The
    teacher logits are detached. With ``gamma = 1`` this is
    ``KL(p_t || q)``.

    Args:
        gamma (float): Power-transform exponent :math:`1/T`, > 0.
        loss_weight (float): Weight :math:`w` (beta in the paper).
            Defaults to 1.0.

    Shapes:
        preds_S, preds_T: (N, K) logits.
    """

    def _average(self, kl: torch.Tensor, log_u: torch.Tensor) -> torch.Tensor:
        """The plain batch mean of the per-sample KL."""
        return kl.mean()


@MODELS.register_module()
class WTTMLoss(_TransformedTeacherMatching):
    """Weighted Transformed Teacher Matching.

    `Knowledge Distillation Based on Transformed Teacher Matching
    <https://arxiv.org/abs/2402.11148>`_ (ICLR 2024).

    TTM (see :class:`TTMLoss`) with each sample weighted by the power sum of
    its (untransformed) teacher probabilities:

    .. math::
        U_n = \\sum_j (p^t_{n,j})^{\\gamma}, \\quad
        \\mathcal{L} = w \\cdot \\frac{1}{N} \\sum_n U_n
        KL(\\hat{p}^t_n \\| \\mathrm{softmax}(z_n))

    :math:`U_n \\in [1, K^{1 - \\gamma}]` for :math:`\\gamma < 1`; it is a
    teacher-only constant (no gradient) and is not normalised across the
    batch. It is computed as
    ``exp(logsumexp(gamma * v) - gamma * logsumexp(v))``.

    Arguments (``gamma``, ``loss_weight``) and shapes: as :class:`TTMLoss`.
    """

    def _average(self, kl: torch.Tensor, log_u: torch.Tensor) -> torch.Tensor:
        """The batch mean of the per-sample KL weighted by U."""
        return (log_u.exp() * kl).mean()
