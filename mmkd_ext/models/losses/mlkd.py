# Copyright (c) mmkd_ext contributors. All rights reserved.
"""Multi-level logit distillation (MLKD), CVPR 2023."""
from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmrazor.registry import MODELS

from .functional import softened_kl, upcast_half
from .logit_standardization import zscore


def _kd(preds_S: torch.Tensor, preds_T: torch.Tensor,
        temperature: float) -> torch.Tensor:
    """``T^2 * batchmean KL(softmax(v / T) || softmax(z / T))``."""
    return softened_kl(preds_S, preds_T, temperature) * temperature**2


def _gram_gap(preds_S: torch.Tensor, preds_T: torch.Tensor,
              temperature: float, class_level: bool) -> torch.Tensor:
    """Squared Frobenius gap of the probability Gram matrices.

    Class level: ``||P_t^T P_t - P_s^T P_s||_F^2 / C``; batch level:
    ``||P_t P_t^T - P_s P_s^T||_F^2 / B``, with ``P = softmax(x / T)``.
    """
    p_S = F.softmax(preds_S / temperature, dim=1)
    p_T = F.softmax(preds_T / temperature, dim=1)
    if class_level:
        gram_S, gram_T = p_S.t() @ p_S, p_T.t() @ p_T
        norm = preds_S.size(1)
    else:
        gram_S, gram_T = p_S @ p_S.t(), p_T @ p_T.t()
        norm = preds_S.size(0)
    return (gram_T - gram_S).pow(2).sum() / norm


def _low_confidence_fraction(confidence: torch.Tensor) -> torch.Tensor:
    """Fraction of entries ``<=`` their median (linear interpolation, as
    ``numpy.percentile(x, 50)``)."""
    threshold = torch.quantile(confidence, 0.5, interpolation='linear')
    return (confidence <= threshold).to(confidence.dtype).mean()


@MODELS.register_module()
class MLKDLoss(nn.Module):
    """Multi-level logit distillation, as the authors' code computes it.

    `Multi-Level Logit Distillation
    <https://openaccess.thecvf.com/content/CVPR2023/papers/Jin_Multi-Level_Logit_Distillation_CVPR_2023_paper.pdf>`_
    (CVPR 2023).

    Every image gives a weak view (student/teacher logits :math:`z_w, v_w`)
    and a strong view (:math:`z_s, v_s`), see
    :class:`~mmkd_ext.models.algorithms.MultiViewDistill`. With the
    temperatures :math:`\\mathcal{T} = (T_0, 3, 5, 2, 6)` (duplicates are
    kept) and :math:`w` = ``loss_weight``:

    .. math::
        KD_T(z, v) &= T^2 \\frac{1}{B} \\sum_b
            KL(\\mathrm{sm}(v_b / T) \\| \\mathrm{sm}(z_b / T)) \\\\
        CC_T(z, v) &= \\| P_v^\\top P_v - P_z^\\top P_z \\|_F^2 / C, \\quad
        BC_T(z, v) = \\| P_v P_v^\\top - P_z P_z^\\top \\|_F^2 / B,
        \\quad P_x = \\mathrm{sm}(x / T) \\\\
        \\mathcal{L} &= w f_s \\sum_{T} KD_T(z_w, v_w)
            + w \\sum_{T} KD_T(z_{s|w}, v_{s|w})
            + w f_c \\sum_{T} CC_T(z_w, v_w)
            + w f_s \\sum_{T} BC_T(z_w, v_w)

    **Confidence masks.** The official code builds a sample mask
    (``max_k sm(v_w) <= median over the batch``) and a class mask
    (``sum_b sm(v_w) <= median over the classes``, at T = 1 on the raw
    teacher logits) but multiplies them with already-reduced scalars and
    averages, so each mask only rescales its terms by the selected fraction:
    :math:`f_s` (1/2 for an even batch of distinct confidences,
    :math:`(B+1)/2B` for an odd one; more with ties) and :math:`f_c`. That
    is what is computed here; no sample or class is dropped.

    **Weak-view quirk.** In the official strong-view KD sum, the terms at
    the 4th and later temperatures (2 and 6) use the *weak* logits and are
    unmasked. ``strong_weak_quirk=True`` (default) keeps this for fidelity;
    ``False`` uses the strong logits for all of them. The strong-view CC and
    BC terms are computed but never added in the official code and are not
    computed here.

    **Z-score** (Sun et al., CVPR 2024). ``logit_stand=True`` replaces the
    logits of every KD term (both views) by their Z-scores (see
    :func:`~mmkd_ext.models.losses.zscore`, unbiased std, ``eps`` added to
    the std) before dividing by T, as the authors' MLKD+Z code does. The CC
    and BC terms and the masks always use the raw logits. The weight
    :math:`w` scales the CC and BC terms too.

    The cross-entropy of both views is the student head's own loss (the
    algorithm runs the student in ``loss`` mode on each view), so it is not
    part of this loss. Teacher logits are detached; the loss is computed in
    float32 (float64 inputs stay float64) with autocast disabled, as the
    fp32 original.

    The masks, medians and Gram matrices depend on the batch: the official
    ImageNet runs use DataParallel, i.e. 8 sub-batches of 64, which is what
    8 GPUs x 64 images per GPU reproduce.

    Args:
        temperatures (Sequence[float]): :math:`\\mathcal{T}`, all > 0. The
            first one is the base temperature :math:`T_0`. Defaults to the
            official ImageNet setting (1, 3, 5, 2, 6).
        loss_weight (float): :math:`w`. Defaults to 1.0.
        logit_stand (bool): Z-score the KD-term logits. Defaults to False.
        eps (float): Z-score ``eps``. Defaults to 1e-7.
        strong_weak_quirk (bool): See above. Defaults to True.

    Shapes:
        preds_S, preds_T, preds_S_strong, preds_T_strong: (B, C) logits.
    """

    def __init__(self,
                 temperatures: Sequence[float] = (1.0, 3.0, 5.0, 2.0, 6.0),
                 loss_weight: float = 1.0,
                 logit_stand: bool = False,
                 eps: float = 1e-7,
                 strong_weak_quirk: bool = True) -> None:
        super().__init__()
        temperatures = tuple(temperatures)
        if not temperatures or not all(
                isinstance(t, (int, float)) and not isinstance(t, bool)
                and 0 < t < float('inf') for t in temperatures):
            raise ValueError(
                'MLKDLoss: temperatures must be a non-empty sequence of '
                f'finite positive numbers, got {temperatures!r}')
        if not eps >= 0:
            raise ValueError(f'MLKDLoss: eps must be >= 0, got {eps}')
        self.temperatures = tuple(float(t) for t in temperatures)
        self.loss_weight = loss_weight
        self.logit_stand = logit_stand
        self.eps = eps
        self.strong_weak_quirk = strong_weak_quirk

    def forward(self, preds_S: torch.Tensor, preds_T: torch.Tensor,
                preds_S_strong: torch.Tensor,
                preds_T_strong: torch.Tensor) -> torch.Tensor:
        """Forward computation.

        Args:
            preds_S (torch.Tensor): Student logits of the weak view, (B, C).
            preds_T (torch.Tensor): Teacher logits of the weak view, (B, C).
            preds_S_strong (torch.Tensor): Student logits of the strong
                view, (B, C).
            preds_T_strong (torch.Tensor): Teacher logits of the strong
                view, (B, C).

        Returns:
            torch.Tensor: Scalar loss (KD + CC + BC terms).
        """
        z_w, v_w, z_s, v_s = self._check_inputs(preds_S, preds_T,
                                                preds_S_strong,
                                                preds_T_strong)
        with torch.autocast(device_type=z_w.device.type, enabled=False):
            return self.loss_weight * self._loss(z_w, v_w, z_s, v_s)

    def _loss(self, z_w: torch.Tensor, v_w: torch.Tensor, z_s: torch.Tensor,
              v_s: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            p_T = F.softmax(v_w, dim=1)
            frac_samples = _low_confidence_fraction(p_T.max(dim=1).values)
            frac_classes = _low_confidence_fraction(p_T.sum(dim=0))

        if self.logit_stand:
            kd_w = (zscore(z_w, self.eps), zscore(v_w, self.eps))
            kd_s = (zscore(z_s, self.eps), zscore(v_s, self.eps))
        else:
            kd_w, kd_s = (z_w, v_w), (z_s, v_s)

        loss_kd_weak = sum(_kd(*kd_w, t) for t in self.temperatures)
        loss_kd_strong = sum(
            _kd(*(kd_w if self.strong_weak_quirk and i >= 3 else kd_s), t)
            for i, t in enumerate(self.temperatures))
        loss_cc = sum(
            _gram_gap(z_w, v_w, t, class_level=True)
            for t in self.temperatures)
        loss_bc = sum(
            _gram_gap(z_w, v_w, t, class_level=False)
            for t in self.temperatures)
        return (frac_samples * (loss_kd_weak + loss_bc) + loss_kd_strong +
                frac_classes * loss_cc)

    @staticmethod
    def _check_inputs(*preds: torch.Tensor) -> tuple:
        names = ('preds_S', 'preds_T', 'preds_S_strong', 'preds_T_strong')
        shapes = {n: tuple(p.shape) for n, p in zip(names, preds)}
        if len(set(shapes.values())) != 1 or preds[0].dim() != 2 or (
                preds[0].size(1) < 2):
            raise ValueError(
                'MLKDLoss: expects weak/strong student and teacher logits '
                f'of one shape (B, C) with C >= 2, got {shapes}')
        out = []
        for i, p in enumerate(preds):
            if i % 2 == 1:
                p = p.detach()
            out.append(upcast_half(p))
        return tuple(out)
