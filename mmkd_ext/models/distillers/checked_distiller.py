# Copyright (c) mmkd_ext contributors. All rights reserved.
"""A ConfigurableDistiller that fails early and clearly on bad configs."""
import difflib
from typing import Dict, Optional

import torch
from mmrazor.models.algorithms.base import LossResults
from mmrazor.models.distillers import ConfigurableDistiller
from mmrazor.registry import MODELS
from torch import nn
from torch.nn.modules.dropout import _DropoutNd


def describe(value) -> str:
    """Short description (shapes) of a recorded value for error messages."""
    if isinstance(value, torch.Tensor):
        return f'Tensor{tuple(value.shape)}'
    if isinstance(value, (list, tuple)):
        return '[' + ', '.join(describe(v) for v in value) + ']'
    return type(value).__name__


@MODELS.register_module()
class CheckedDistiller(ConfigurableDistiller):
    """mmrazor's ``ConfigurableDistiller`` with four safety checks.

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
    4. A frozen teacher must have weights when the algorithm is built:
       mmrazor's distillation algorithms silently keep a randomly
       initialised teacher when ``model.teacher_ckpt`` is unset, and a
       student distilled from it learns noise. The teacher counts as
       having weights when a checkpoint was loaded into it
       (``teacher_ckpt``, or a ``cfg_path`` teacher with
       ``pretrained=True``: both set mmengine's ``_is_init``) or its
       top-level ``init_cfg`` is ``Pretrained`` (loaded by
       ``init_weights``). Otherwise a ``ValueError`` names
       ``model.teacher_ckpt``. A teacher trained along
       (``teacher_trainable=True``) is exempt. Set
       ``allow_random_teacher=True`` (:func:`allow_random_teacher`) when
       the teacher's weights come later, from a checkpoint of the whole
       algorithm (``tools/test.py``, ``--resume``), or random weights are
       intended (tests, benchmarks).
    5. A frozen teacher runs its dropout layers in eval mode. mmrazor's
       ``teacher_norm_eval`` puts only the teacher's norm layers in eval
       mode, and every ``train()`` of the algorithm (each epoch) puts the
       rest back in train mode, so the dropout of a segmentation teacher's
       decode and auxiliary heads (mmseg's default ``dropout_ratio=0.1``)
       would randomise the logits and features it is distilled from; the
       methods' authors run their teachers in eval mode. A forward pre-hook
       on each dropout module of the teacher sets it to eval mode before it
       runs, whichever part of the teacher the algorithm calls. A teacher
       trained along (``teacher_trainable=True``) keeps its dropout.

    Args:
        allow_log_only_keys (bool): Allow ``distill_losses`` keys without
            ``loss``. Defaults to False.
        check_finite (bool): Check every distillation loss for NaN/Inf at
            each step (one host sync per loss). Defaults to True.
        allow_random_teacher (bool): Accept a frozen teacher without
            weights. Defaults to False.
        **kwargs: The arguments of ``ConfigurableDistiller``.
    """

    def __init__(self,
                 allow_log_only_keys: bool = False,
                 check_finite: bool = True,
                 allow_random_teacher: bool = False,
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
        self.allow_random_teacher = allow_random_teacher

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
        """Check the teacher's weights, check and initialise the teacher
        recorders, keep a frozen teacher's dropout in eval mode."""
        if not self.allow_random_teacher:
            self._check_teacher_weights(model)
        self._check_sources(self.teacher_recorders, model, 'teacher')
        super().prepare_from_teacher(model)
        if not any(p.requires_grad for p in model.parameters()):
            for module in model.modules():
                if isinstance(module, _DropoutNd):
                    module.register_forward_pre_hook(_eval_mode)

    @staticmethod
    def _check_teacher_weights(teacher: nn.Module) -> None:
        """Check 4 of the class docstring. mmrazor's algorithms load
        ``teacher_ckpt`` and freeze the teacher before this is called."""
        if getattr(teacher, '_is_init', False) or any(
                p.requires_grad for p in teacher.parameters()):
            return
        init_cfgs = getattr(teacher, 'init_cfg', None) or []
        if isinstance(init_cfgs, dict):
            init_cfgs = [init_cfgs]
        if any(c.get('type') == 'Pretrained' for c in init_cfgs):
            return
        raise ValueError(
            'model.teacher_ckpt is not set: no teacher checkpoint is '
            f'loaded, so the frozen teacher ({type(teacher).__name__}) '
            'would keep its random initial weights and the student would '
            'be distilled from noise. Pass '
            'the trained teacher, e.g. --cfg-options '
            'model.teacher_ckpt=/path/to/teacher.pth, or set '
            'model.distiller.allow_random_teacher=True if random teacher '
            'weights are intended (tests, benchmarks) or the weights come '
            'from a checkpoint of the whole algorithm.')

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


def _eval_mode(module: nn.Module, args: tuple) -> None:
    """Forward pre-hook: run ``module`` in eval mode (see item 5 of
    :class:`CheckedDistiller`)."""
    module.eval()


def allow_random_teacher(model_cfg: Dict) -> None:
    """Set ``distiller.allow_random_teacher=True`` in a distillation model
    config whose distiller is a :class:`CheckedDistiller`.

    For callers that build the algorithm without ``teacher_ckpt`` on purpose:
    the teacher's weights come from a checkpoint of the whole algorithm
    loaded after building (``tools/test.py``, the feature visualiser), or
    random weights are intended (tests, benchmarks). Other distillers do not
    check the teacher and are left unchanged.

    Args:
        model_cfg (dict): ``cfg.model`` of a distillation config; changed in
            place.
    """
    distiller = model_cfg.get('distiller')
    if not distiller:
        return
    dtype = distiller.get('type')
    cls = MODELS.get(dtype) if isinstance(dtype, str) else dtype
    if isinstance(cls, type) and issubclass(cls, CheckedDistiller):
        distiller['allow_random_teacher'] = True
