# Copyright (c) mmkd_ext contributors. All rights reserved.
"""Distillation of two-stage detectors' RoI heads on the student's RoIs."""
from typing import List, Optional

import torch
from mmengine.structures import BaseDataElement
from mmrazor.models.algorithms import SingleTeacherDistill
from mmrazor.models.algorithms.base import LossResults
from mmrazor.models.utils import add_prefix
from mmrazor.registry import MODELS
from torch import nn


def _standard_roi_head(model: nn.Module, which: str):
    """The ``StandardRoIHead`` (with a bbox branch) of ``model``."""
    from mmdet.models.roi_heads import StandardRoIHead
    roi_head = getattr(model, 'roi_head', None)
    if not isinstance(roi_head, StandardRoIHead) or not roi_head.with_bbox:
        raise TypeError(
            f'RoITeacherDistill: the {which} must be a two-stage detector '
            'whose roi_head is an mmdet StandardRoIHead with a bbox branch '
            f'(e.g. Faster R-CNN), got {type(model).__name__} with roi_head '
            f'{type(roi_head).__name__}')
    return roi_head


@MODELS.register_module()
class RoITeacherDistill(SingleTeacherDistill):
    """Distill a two-stage detector's RoI head on the student's own RoIs.

    Logit losses on RoI classification scores only make sense if teacher and
    student score the same boxes. The student trains as usual (RPN,
    assignment, sampling, RoI head losses) while the RoIs it sampled (the
    ``rois`` fed to its ``roi_head.bbox_roi_extractor``, (R, 5) as
    ``[batch_idx, x1, y1, x2, y2]``) are captured; the teacher then runs
    its backbone + neck on the same images and its RoI head's bbox branch
    (``roi_head._bbox_forward``) on exactly those RoIs. The teacher's own
    RPN and sampling are never run.

    Recorders see, for the R sampled RoIs of the batch, in the same order:

    - student / teacher ``roi_head.bbox_head.fc_cls`` (``ModuleOutputs``):
      the classification logits, (R, num_classes + 1); the last column is
      mmdet's background class, and it is kept: it is a class of the RoI
      softmax like any other.
    - student ``roi_head.bbox_head.loss_cls`` (``ModuleInputs``,
      ``data_idx=1``): the RoIs' assigned labels, (R, ), with
      ``num_classes`` for background RoIs (for DKD's ``gt_labels``).
    - student / teacher ``neck`` (``ModuleOutputs``): FPN features, for
      feature losses in the same distiller.

    If the student's bbox roi extractor runs more than once in a step (a
    mask head sharing it), the first call, the bbox branch's, is used.
    Deliveries and a trainable teacher are not supported.

    Args:
        **kwargs: The arguments of mmrazor's ``SingleTeacherDistill``.
    """

    def __init__(self, **kwargs) -> None:
        if kwargs.get('teacher_trainable', False):
            raise ValueError(
                'RoITeacherDistill: teacher_trainable=True is not supported '
                '(the teacher only scores the student\'s RoIs)')
        super().__init__(**kwargs)
        if self.distiller.deliveries.deliveries:
            raise ValueError(
                'RoITeacherDistill: distiller deliveries are not supported '
                '(the student runs before the teacher)')
        student_head = _standard_roi_head(self.student, 'student')
        teacher_head = _standard_roi_head(self.teacher, 'teacher')
        s_cls = student_head.bbox_head.num_classes
        t_cls = teacher_head.bbox_head.num_classes
        if s_cls != t_cls:
            raise ValueError(
                'RoITeacherDistill: student and teacher bbox heads must have '
                f'the same num_classes, got {s_cls} and {t_cls}')

    def loss(
        self,
        batch_inputs: torch.Tensor,
        data_samples: Optional[List[BaseDataElement]] = None,
    ) -> LossResults:
        """Student step, then the teacher on the student's sampled RoIs."""
        losses = dict()
        captured: List[torch.Tensor] = []

        def capture_rois(module: nn.Module, args: tuple) -> None:
            captured.append(args[1])

        extractor = self.student.roi_head.bbox_roi_extractor
        handle = extractor.register_forward_pre_hook(capture_rois)
        try:
            with self.distiller.student_recorders:
                if self.student_trainable:
                    student_losses = self.student(
                        batch_inputs, data_samples, mode='loss')
                else:
                    with torch.no_grad():
                        student_losses = self.student(
                            batch_inputs, data_samples, mode='loss')
        finally:
            handle.remove()
        if self.calculate_student_loss:
            losses.update(add_prefix(student_losses, 'student'))
        if not captured:
            raise RuntimeError(
                'RoITeacherDistill: the student RoI head did not run its '
                'bbox roi extractor in loss mode; no RoIs to distill on')
        rois = captured[0].detach()

        with self.distiller.teacher_recorders, torch.no_grad():
            feats = self.teacher.extract_feat(batch_inputs)
            self.teacher.roi_head._bbox_forward(feats, rois)

        if not self.distillation_stopped:
            distill_losses = self.distiller.compute_distill_losses()
            losses.update(add_prefix(distill_losses, 'distill'))
        return losses
