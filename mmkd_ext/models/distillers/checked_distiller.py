# Copyright (c) mmkd_ext contributors. All rights reserved.
"""A ConfigurableDistiller that fails early and clearly on bad configs."""
import difflib
from typing import Dict, Optional

import torch
from mmrazor.models.algorithms.base import LossResults
from mmrazor.models.distillers import ConfigurableDistiller
from mmrazor.registry import MODELS
from torch import nn


def describe(value) -> str:
    """Short description (shapes) of a recorded value for error messages."""
    if isinstance(value, torch.Tensor):
        return f'Tensor{tuple(value.shape)}'
    if isinstance(value, (list, tuple)):
        return '[' + ', '.join(describe(v) for v in value) + ']'
    return type(value).__name__


@MODELS.register_module()
class CheckedDistiller(ConfigurableDistiller):
    """mmrazor's ``ConfigurableDistiller`` with three safety checks.

    Same arguments and behaviour as
    :class:`mmrazor.models.ConfigurableDistiller`, plus:

    1. Every ``distill_losses`` key must contain the substring ``loss``.
       mmrazor (through ``BaseModel.parse_losses``) back-propagates only such
       keys and merely warns about the others, which silently trains without
       distillation. Set ``allow_log_only_keys=True`` to keep a term that is
       only meant to be logged.
    2. Recorders that hook a module (``ModuleOutputs`` / ``ModuleInputs``)
       are checked against the model when the algorithm is built: a missing
       path raises ``KeyError`` naming the recorder key, the path, the
       model (student or teacher) and the closest existing module names.
    3. Each loss is computed inside a guard: an exception raised by a loss
       (e.g. a shape check) is re-raised with the loss key and the shapes of
       its inputs, and a non-finite loss value raises ``FloatingPointError``
       naming the loss key before anything is back-propagated, so no
       parameter or optimizer state is corrupted (``check_finite``).

    Args:
        allow_log_only_keys (bool): Allow ``distill_losses`` keys without
            ``loss``. Defaults to False.
        check_finite (bool): Check every distillation loss for NaN/Inf at
            each step (one host sync per loss). Defaults to True.
        **kwargs: The arguments of ``ConfigurableDistiller``.
    """

    def __init__(self,
                 allow_log_only_keys: bool = False,
                 check_finite: bool = True,
                 **kwargs) -> None:
        losses: Optional[Dict] = kwargs.get('distill_losses')
        if losses and not allow_log_only_keys:
            bad = [k for k in losses if 'loss' not in k]
            if bad:
                raise ValueError(
                    f'distiller.distill_losses keys {bad} do not contain '
                    '"loss": mmrazor would log them but never back-propagate '
                    'them. Rename them (e.g. "loss_' + bad[0] + '") or set '
                    'distiller.allow_log_only_keys=True.')
        super().__init__(**kwargs)
        self.check_finite = check_finite

    @staticmethod
    def _check_sources(manager, model: nn.Module, which: str) -> None:
        names = [name for name, _ in model.named_modules()]
        name_set = set(names)
        for key, recorder in manager.recorders.items():
            if type(recorder).__name__ not in ('ModuleOutputsRecorder',
                                               'ModuleInputsRecorder'):
                continue
            if recorder.source not in name_set:
                close = difflib.get_close_matches(
                    recorder.source, names, n=3, cutoff=0.5)
                hint = f' Closest: {close}.' if close else ''
                raise KeyError(
                    f'distiller.{which}_recorders.{key}: module path '
                    f'"{recorder.source}" does not exist in the {which} '
                    f'({type(model).__name__}).{hint}')

    def prepare_from_student(self, model: nn.Module) -> None:
        """Check and initialise the student recorders."""
        self._check_sources(self.student_recorders, model, 'student')
        super().prepare_from_student(model)

    def prepare_from_teacher(self, model: nn.Module) -> None:
        """Check and initialise the teacher recorders."""
        self._check_sources(self.teacher_recorders, model, 'teacher')
        super().prepare_from_teacher(model)

    def compute_distill_losses(self) -> LossResults:
        """Compute the distillation losses, with the guards described above.
        """
        losses = dict()
        for loss_name, forward_mappings in self.loss_forward_mappings.items():
            forward_kwargs = {
                key: self.get_record(**record)
                for key, record in forward_mappings.items()
            }
            try:
                loss = self.distill_losses[loss_name](**forward_kwargs)
            except (ValueError, RuntimeError, IndexError) as err:
                inputs = ', '.join(f'{k}={describe(v)}'
                                   for k, v in forward_kwargs.items())
                sources = ', '.join(
                    f'{k}<-{self._source_of(v)}'
                    for k, v in forward_mappings.items() if 'recorder' in v)
                raise type(err)(
                    f'distill loss "{loss_name}" '
                    f'({type(self.distill_losses[loss_name]).__name__}) '
                    f'failed on inputs {inputs} from recorders [{sources}]: '
                    f'{err}') from err
            if self.check_finite:
                self._assert_finite(loss_name, loss)
            losses[loss_name] = loss
        return losses

    def _source_of(self, record: Dict) -> str:
        """'student.neck[1]'-style description of a forward mapping."""
        which = 'student' if record.get('from_student') else 'teacher'
        manager = (self.student_recorders
                   if record.get('from_student') else self.teacher_recorders)
        recorder = manager.recorders.get(record['recorder'])
        source = getattr(recorder, 'source', record['recorder'])
        idx = record.get('data_idx')
        return f'{which}.{source}' + (f'[{idx}]' if idx is not None else '')

    @staticmethod
    def _assert_finite(loss_name: str, loss) -> None:
        values = loss.values() if isinstance(loss, dict) else [loss]
        for value in values:
            if isinstance(value, torch.Tensor) and not bool(
                    torch.isfinite(value.detach()).all()):
                raise FloatingPointError(
                    f'distill loss "{loss_name}" is not finite '
                    f'({value.detach().flatten()[:4].tolist()}); stopping '
                    'before the backward pass so the weights and optimizer '
                    'state stay as they were. Lower the loss weight or the '
                    'learning rate, or check the recorded features.')
