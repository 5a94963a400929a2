# Copyright (c) mmkd_ext contributors. All rights reserved.
"""Per-pixel logit distillation for semantic segmentation heads."""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from mmrazor.registry import MODELS

from .wrapper import LogitLossWrapper


@MODELS.register_module()
class PixelWiseLogitLoss(LogitLossWrapper):
    """Apply an (N, K) logit distillation loss to every valid pixel.

    Each pixel of the segmentation logits is one sample whose class
    dimension is the channel dimension: student logits :math:`z` and teacher
    logits :math:`v` of shape (B, C, h, w) become (P, C) matrices of the
    :math:`P` valid pixels, and the wrapped loss (e.g. ``WTTMLoss``,
    ``TTMLoss``, ``KLDivergence``, ``DKDLoss``, or ``LogitStandardization``
    around KD / DKD) is applied to them:

    .. math::
        \\mathcal{V} = \\{(b, i, j) : y_{b,i,j} \\neq ignore\\}, \\quad
        \\mathcal{L} = \\mathcal{L}_{wrapped}(
        z_{\\mathcal{V}}, v_{\\mathcal{V}}[, y_{\\mathcal{V}}])

    so a wrapped loss that averages over its batch (``batchmean`` KL, DKD,
    (W)TTM) averages over the valid pixels only: pixels labelled
    ``ignore_index`` contribute neither to the sum nor to the count.

    Resolutions: the loss works at the teacher's logit resolution. If the
    student's logits have another spatial size they are resized to the
    teacher's with ``resize_mode`` (``F.interpolate``); the label map
    (usually at input resolution) is resized to the teacher's logit
    resolution with ``nearest`` interpolation, so no label is invented
    between classes. A batch without any valid pixel gives a zero loss
    that keeps the student in the graph.

    Args:
        loss (dict): Config of the wrapped loss, registered in mmrazor's
            ``MODELS``, whose forward is ``(preds_S, preds_T)`` or
            ``(preds_S, preds_T, gt_labels)`` on (N, K) logits. If it takes
            ``gt_labels`` (DKD, also through ``LogitStandardization``), the
            valid pixels' labels are passed to it. Its ``loss_weight`` is the
            weight.
        ignore_index (int): Label of pixels excluded from the loss.
            Defaults to 255 (mmseg's).
        resize_mode (str): ``'bilinear'`` or ``'nearest'``, used to resize
            the student's logits to the teacher's spatial size when they
            differ. Defaults to ``'bilinear'``.
        align_corners (bool): ``align_corners`` of the bilinear resize.
            Defaults to False.

    Shapes:
        preds_S: (B, C, h_s, w_s); preds_T: (B, C, h, w);
        gt_labels: (B, H, W) or (B, 1, H, W) integer label map (e.g. the
        inputs of ``decode_head.loss_decode``, ``data_idx=1``). Without
        ``gt_labels`` every pixel is valid (only allowed if the wrapped
        loss does not need labels).
    """

    _RESIZE_MODES = ('bilinear', 'nearest')

    def __init__(self,
                 loss: dict,
                 ignore_index: int = 255,
                 resize_mode: str = 'bilinear',
                 align_corners: bool = False) -> None:
        if resize_mode not in self._RESIZE_MODES:
            raise ValueError(
                f'PixelWiseLogitLoss: resize_mode must be one of '
                f'{self._RESIZE_MODES}, got {resize_mode!r}')
        if isinstance(ignore_index, bool) or not isinstance(ignore_index, int):
            raise TypeError(
                'PixelWiseLogitLoss: ignore_index must be an int, got '
                f'{ignore_index!r}')
        super().__init__(loss)
        self.ignore_index = ignore_index
        self.resize_mode = resize_mode
        self.align_corners = align_corners

    def forward(self,
                preds_S: torch.Tensor,
                preds_T: torch.Tensor,
                gt_labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Forward computation.

        Args:
            preds_S (torch.Tensor): Student logits, (B, C, h_s, w_s).
            preds_T (torch.Tensor): Teacher logits, (B, C, h, w).
            gt_labels (torch.Tensor, optional): Label map, (B, H, W) or
                (B, 1, H, W).

        Returns:
            torch.Tensor: The wrapped loss over the valid pixels.
        """
        self._check_logits(preds_S, preds_T)
        num_classes = preds_T.shape[1]
        size = tuple(preds_T.shape[2:])
        if tuple(preds_S.shape[2:]) != size:
            preds_S = F.interpolate(
                preds_S,
                size=size,
                mode=self.resize_mode,
                align_corners=(self.align_corners
                               if self.resize_mode == 'bilinear' else None))
        pix_S = preds_S.permute(0, 2, 3, 1).reshape(-1, num_classes)
        pix_T = preds_T.permute(0, 2, 3, 1).reshape(-1, num_classes)
        if gt_labels is None:
            if self.with_labels:
                raise ValueError(
                    'PixelWiseLogitLoss: the wrapped loss '
                    f'{type(self.loss).__name__} needs gt_labels; map a '
                    'label map (e.g. ModuleInputs of decode_head.loss_decode'
                    ', data_idx=1) to `gt_labels`')
            return self.loss(pix_S, pix_T)
        labels = self._labels_at(gt_labels, preds_T.shape[0], size)
        valid = labels != self.ignore_index
        labels = labels[valid]
        if labels.numel() == 0:
            return preds_S.sum() * 0.0
        if bool((labels < 0).any()) or bool((labels >= num_classes).any()):
            raise ValueError(
                'PixelWiseLogitLoss: labels must be in [0, '
                f'{num_classes}) or ignore_index={self.ignore_index}, got '
                f'values in [{int(labels.min())}, {int(labels.max())}]')
        pix_S, pix_T = pix_S[valid], pix_T[valid]
        if self.with_labels:
            return self.loss(pix_S, pix_T, gt_labels=labels)
        return self.loss(pix_S, pix_T)

    @staticmethod
    def _check_logits(preds_S: torch.Tensor, preds_T: torch.Tensor) -> None:
        if (preds_S.dim() != 4 or preds_T.dim() != 4
                or preds_S.shape[:2] != preds_T.shape[:2]):
            raise ValueError(
                'PixelWiseLogitLoss: expects student and teacher logits of '
                'shape (B, C, h, w) with the same B and C, got preds_S '
                f'{tuple(preds_S.shape)} and preds_T {tuple(preds_T.shape)}')

    def _labels_at(self, gt_labels: torch.Tensor, batch: int,
                   size: Tuple[int, ...]) -> torch.Tensor:
        """The label map at ``size`` (nearest), flattened to (B * h * w, )."""
        if gt_labels.dim() == 4 and gt_labels.shape[1] == 1:
            gt_labels = gt_labels[:, 0]
        if gt_labels.dim() != 3 or gt_labels.shape[0] != batch:
            raise ValueError(
                'PixelWiseLogitLoss: gt_labels must be a label map of shape '
                f'(B, H, W) or (B, 1, H, W) with B={batch}, got '
                f'{tuple(gt_labels.shape)}')
        if gt_labels.is_floating_point() or gt_labels.is_complex():
            raise TypeError(
                'PixelWiseLogitLoss: gt_labels must be an integer label map, '
                f'got dtype {gt_labels.dtype}')
        if tuple(gt_labels.shape[1:]) != size:
            # float32 holds every integer label below 2**24 exactly.
            gt_labels = F.interpolate(
                gt_labels[:, None].float(), size=size, mode='nearest')[:, 0]
        return gt_labels.long().reshape(-1)
