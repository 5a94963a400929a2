# Copyright (c) mmkd_ext contributors. All rights reserved.
"""mmrazor distillation algorithms that check letKD's offline statistics."""
from typing import Optional

from mmrazor.models.algorithms import FpnTeacherDistill, SingleTeacherDistill
from mmrazor.registry import MODELS

from ..losses.letkd import LetKDLoss


def check_letkd_teacher(distiller, teacher_ckpt: Optional[str]) -> None:
    """Check every ``LetKDLoss`` of ``distiller`` against ``teacher_ckpt``.

    Raises:
        ValueError: Naming the loss key and the targets file when the file
            was computed from another teacher checkpoint.
    """
    for name, loss in distiller.distill_losses.items():
        if isinstance(loss, LetKDLoss):
            try:
                loss.check_teacher(teacher_ckpt)
            except (ValueError, FileNotFoundError) as err:
                raise type(err)(
                    f'distiller.distill_losses.{name}: {err}') from err


@MODELS.register_module()
class LetKDDistill(SingleTeacherDistill):
    """mmrazor's ``SingleTeacherDistill`` for letKD.

    Same arguments and training step. When built, every
    :class:`~mmkd_ext.models.losses.LetKDLoss` of the distiller (which
    already checked its targets file against its own description: layer,
    channels, K, classes) is also checked against ``teacher_ckpt``: the file
    must have been computed from that checkpoint (compared by SHA-256), so a
    run cannot silently distill towards another teacher's codebook. Only the
    algorithm knows ``teacher_ckpt``, hence this class.

    The letKD layers themselves are inserted into the student by its config
    (``architecture=dict(type='mmrazor.LetKDStudent', ...)``, see
    :func:`~mmkd_ext.models.connectors.build_letkd_student`); the losses read
    the layers' template logits and the teacher maps through mmrazor
    recorders.

    Args:
        teacher_ckpt (str, optional): The teacher checkpoint.
        **kwargs: The other arguments of ``SingleTeacherDistill``.
    """

    def __init__(self, teacher_ckpt: Optional[str] = None, **kwargs) -> None:
        super().__init__(teacher_ckpt=teacher_ckpt, **kwargs)
        check_letkd_teacher(self.distiller, teacher_ckpt)


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
        check_letkd_teacher(self.distiller, teacher_ckpt)
