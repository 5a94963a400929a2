# Copyright (c) mmkd_ext contributors. All rights reserved.
"""mmrazor distillation algorithms that check letKD's offline statistics."""
from typing import Optional

from mmrazor.models.algorithms import FpnTeacherDistill, SingleTeacherDistill
from mmrazor.registry import MODELS

from ..losses.letkd import LetKDLoss


def check_letkd_losses(distiller, teacher_ckpt: Optional[str]) -> None:
    """Check every ``LetKDLoss`` of ``distiller`` against the run.

    The loss read its target's description from the targets file; here the
    file must have been computed from ``teacher_ckpt``, and from the teacher
    module (and output index) that the loss's ``t_feats`` is recorded from.

    Raises:
        ValueError: Naming the loss key and the targets file.
    """
    for name, loss in distiller.distill_losses.items():
        if not isinstance(loss, LetKDLoss):
            continue
        try:
            loss.check_teacher(teacher_ckpt)
            t_feats = distiller.loss_forward_mappings.get(name, {}).get(
                't_feats')
            if t_feats is not None:
                recorder = distiller.teacher_recorders.recorders[
                    t_feats['recorder']]
                loss.check_teacher_module(
                    getattr(recorder, 'source', None),
                    t_feats.get('data_idx'))
        except (ValueError, FileNotFoundError) as err:
            raise type(err)(
                f'distiller.distill_losses.{name}: {err}') from err


@MODELS.register_module()
class LetKDDistill(SingleTeacherDistill):
    """mmrazor's ``SingleTeacherDistill`` for letKD.

    Same arguments and training step. When built, every
    :class:`~mmkd_ext.models.losses.LetKDLoss` of the distiller (which read
    its target's description from its targets file) is checked against the
    run: the file must have been computed from ``teacher_ckpt`` (compared by
    SHA-256) and from the teacher module its ``t_feats`` is recorded from,
    so a run cannot silently distill towards another teacher's or layer's
    codebook (K and channels are checked against the maps in the forward).
    Only the algorithm knows ``teacher_ckpt``, hence this class.

    The letKD layers themselves are inserted into the student by its config
    (``architecture=dict(type='mmrazor.LetKDStudent', ...)``, see
    :func:`~mmkd_ext.models.architectures.build_letkd_student`); the losses
    read the layers' template logits and the teacher maps through mmrazor
    recorders.

    Args:
        teacher_ckpt (str, optional): The teacher checkpoint.
        **kwargs: The other arguments of ``SingleTeacherDistill``.
    """

    def __init__(self, teacher_ckpt: Optional[str] = None, **kwargs) -> None:
        super().__init__(teacher_ckpt=teacher_ckpt, **kwargs)
        check_letkd_losses(self.distiller, teacher_ckpt)


@MODELS.register_module()
class LetKDFpnTeacherDistill(FpnTeacherDistill):
    """:class:`LetKDDistill` whose teacher runs backbone and neck only
    (mmrazor's ``FpnTeacherDistill``), for targets on FPN outputs.

    Args:
        teacher_ckpt (str, optional): The teacher checkpoint.
        **kwargs: The other arguments of ``FpnTeacherDistill``.
    """

    def __init__(self, teacher_ckpt: Optional[str] = None, **kwargs) -> None:
        super().__init__(teacher_ckpt=teacher_ckpt, **kwargs)
        check_letkd_losses(self.distiller, teacher_ckpt)
