# Copyright (c) mmkd_ext contributors. All rights reserved.
"""Single-teacher distillation over several augmented views of each image."""
from contextlib import nullcontext
from typing import Dict, List, Optional, Sequence, Union

import torch
from mmengine.structures import BaseDataElement
from mmpretrain.models.utils import ClsDataPreprocessor
from mmrazor.models.algorithms import SingleTeacherDistill
from mmrazor.models.algorithms.base import LossResults
from mmrazor.models.utils import add_prefix
from mmrazor.registry import MODELS
from torch import nn


@MODELS.register_module()
class MultiViewClsDataPreprocessor(ClsDataPreprocessor):
    """``ClsDataPreprocessor`` for pipelines that pack several views.

    With mmpretrain's ``MultiView`` transform before ``PackInputs``, every
    sample's ``inputs`` is a list of views (e.g. [weak, strong] for MLKD) and
    the collated batch is a list (one entry per view) of per-sample tensors
    (``pseudo_collate``) or of stacked (B, C, H, W) tensors
    (``default_collate``). Each view is processed by ``ClsDataPreprocessor``
    (BGR->RGB, normalization, padding, stacking) and the result is the list
    of the views' (B, C, H, W) tensors. A single-view batch (validation) is
    processed exactly as by ``ClsDataPreprocessor``.

    Args:
        **kwargs: The arguments of
            :class:`mmpretrain.models.ClsDataPreprocessor`, except
            ``batch_augments``: Mixup/CutMix would mix each view with a
            different partner, so they are refused.
    """

    def __init__(self, **kwargs) -> None:
        if kwargs.get('batch_augments') is not None:
            raise ValueError(
                'MultiViewClsDataPreprocessor: batch_augments '
                f'({kwargs["batch_augments"]!r}) are not supported: they '
                'would mix each view of an image differently')
        super().__init__(**kwargs)

    def forward(self, data: dict, training: bool = False) -> dict:
        """Process one batch; see the class docstring."""
        inputs = data['inputs']
        if not self._is_multi_view(inputs):
            return super().forward(data, training)
        outs = [
            super(MultiViewClsDataPreprocessor, self).forward(
                dict(data, inputs=view), training) for view in inputs
        ]
        return dict(
            inputs=[out['inputs'] for out in outs],
            data_samples=outs[0]['data_samples'])

    @staticmethod
    def _is_multi_view(inputs) -> bool:
        if isinstance(inputs, torch.Tensor) or not inputs:
            return False
        first = inputs[0]
        return isinstance(first, (list, tuple)) or (isinstance(
            first, torch.Tensor) and first.dim() == 4)


@MODELS.register_module()
class MultiViewDistill(SingleTeacherDistill):
    """``SingleTeacherDistill`` that runs the teacher and the student on
    several views of each image (e.g. MLKD's weak and strong views).

    The inputs are a list of view batches (from
    :class:`MultiViewClsDataPreprocessor`). The teacher, then the student,
    runs on every view in order inside one recorder context, so a
    ``ModuleOutputs`` recorder holds one record per view: map view ``i``
    with ``record_idx=i`` in ``loss_forward_mappings`` (e.g. MLKD's
    ``preds_S_strong=dict(from_student=True, recorder='fc',
    record_idx=1)``). Each view has its own forward pass (BatchNorm
    statistics per view, as in the MLKD code). The student's own task loss
    is computed on every view: view 0 under the ``student.`` prefix (as in
    ``SingleTeacherDistill``), view ``i`` under ``student_view{i}.``. The
    student predicts (validation, test) from a single view as usual.

    Args:
        num_views (int): Number of views the pipeline packs (>= 1); a batch
            with another number raises ``ValueError``. Defaults to 2.
        **kwargs: The arguments of
            :class:`mmrazor.models.SingleTeacherDistill`.
    """

    def __init__(self, num_views: int = 2, **kwargs) -> None:
        if isinstance(num_views, bool) or not isinstance(
                num_views, int) or num_views < 1:
            raise ValueError('MultiViewDistill: num_views must be an int '
                             f'>= 1, got {num_views!r}')
        super().__init__(**kwargs)
        self.num_views = num_views

    def _split_views(
        self, batch_inputs: Union[torch.Tensor, Sequence[torch.Tensor]]
    ) -> List[torch.Tensor]:
        views = [batch_inputs] if isinstance(batch_inputs,
                                             torch.Tensor) else list(
                                                 batch_inputs)
        shapes = [
            tuple(v.shape) if isinstance(v, torch.Tensor) else type(v)
            for v in views
        ]
        if len(views) != self.num_views or not all(
                isinstance(v, torch.Tensor) and v.dim() == 4 for v in views):
            raise ValueError(
                f'MultiViewDistill: expects {self.num_views} view batches of '
                f'shape (B, C, H, W), got {len(views)} with shapes {shapes}. '
                "Pack the views with mmpretrain's MultiView transform in "
                'the train pipeline and use MultiViewClsDataPreprocessor.')
        if len({v.shape[0] for v in views}) != 1:
            raise ValueError('MultiViewDistill: all views must have the '
                             f'same batch size, got shapes {shapes}')
        return views

    def loss(
        self,
        batch_inputs: Union[torch.Tensor, Sequence[torch.Tensor]],
        data_samples: Optional[List[BaseDataElement]] = None,
    ) -> LossResults:
        """Calculate losses from a batch of views and data samples."""
        views = self._split_views(batch_inputs)
        losses: Dict[str, torch.Tensor] = dict()

        self.distiller.set_deliveries_override(False)
        with self.distiller.teacher_recorders, self.distiller.deliveries:
            losses.update(
                self._run_views(self.teacher, 'teacher', views, data_samples,
                                keep=self.teacher_trainable,
                                grad=self.teacher_trainable))

        self.distiller.set_deliveries_override(True)
        with self.distiller.student_recorders, self.distiller.deliveries:
            losses.update(
                self._run_views(
                    self.student, 'student', views, data_samples,
                    keep=self.calculate_student_loss,
                    grad=self.calculate_student_loss
                    or self.student_trainable))

        if not self.distillation_stopped:
            distill_losses = self.distiller.compute_distill_losses()
            losses.update(add_prefix(distill_losses, 'distill'))
        return losses

    def _run_views(self, model: nn.Module, name: str,
                   views: List[torch.Tensor],
                   data_samples: Optional[List[BaseDataElement]], keep: bool,
                   grad: bool) -> Dict[str, torch.Tensor]:
        """Run ``model`` in loss mode on every view (recording its
        features); return its losses, prefixed per view, if ``keep``."""
        losses: Dict[str, torch.Tensor] = dict()
        for i, view in enumerate(views):
            with nullcontext() if grad else torch.no_grad():
                view_losses = model(view, data_samples, mode='loss')
            if keep:
                losses.update(add_prefix(view_losses, self._prefix(name, i)))
        return losses

    @staticmethod
    def _prefix(model: str, view: int) -> str:
        return model if view == 0 else f'{model}_view{view}'
