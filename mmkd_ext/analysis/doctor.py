# Copyright (c) mmkd_ext contributors. All rights reserved.
"""A doctor for distillation configs: one training step, inspected.

A distillation whose wiring is wrong (the wrong layer recorded, a loss
weight 100x off for its feature scale, a teacher left in train mode) trains
without an error and silently does nothing. :func:`analyze_distill` builds a
config's algorithm, runs one training step on a batch of the config's data
(or on a small fake batch when the data is not there) and reports, per
distillation loss, its value and the norm of its gradient on the student's
parameters next to the task loss's, the shapes recorded on both sides and
after the connectors, and the teacher's state (eval-mode norm layers, no
trainable parameters, weights unchanged by the optimizer step). A term 100x
(``ratio_limit``) larger or smaller than the task loss gets a warning.

``tools/analyze_distill.py`` prints :func:`format_report`.
"""
import copy
import logging
import math
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.config import Config
from mmengine.logging import MessageHub, MMLogger
from mmengine.optim import build_optim_wrapper
from mmengine.runner import Runner
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.dropout import _DropoutNd

from ..engine import preflight_check
from ..models.distillers.checked_distiller import describe
from .step import build_algorithm, infer_task, make_algorithm_batch

#: Fake-batch image size per task: TaT's RetinaNet recipe needs P7 > 1 x 1.
DEFAULT_INPUT_SIZE = dict(det=(256, 256), seg=(128, 128), cls=(64, 64))


@dataclass
class LossTerm:
    """One distillation loss of the step.

    Attributes:
        name (str): Its key in ``distill_losses`` (e.g. 'loss_cankd').
        value (float): Its value (weighted, as added to the total loss).
        grad_norm (float): L2 norm of its gradient on the student's
            parameters (0 when none reaches the student).
        inputs (list[str]): One line per loss argument: where it comes from
            and its shape(s) as recorded and as given to the loss.
    """
    name: str
    value: float
    grad_norm: float
    inputs: List[str] = field(default_factory=list)


@dataclass
class DistillReport:
    """What :func:`analyze_distill` found; see :func:`format_report`."""
    config: str
    task: str
    batch: str
    teacher_weights: str
    random_teacher: bool
    task_value: float
    task_grad_norm: float
    terms: List[LossTerm]
    recorders: List[str]
    teacher_state: List[str]
    warnings: List[str]
    notes: List[str]


def _strip_pretrained(node) -> None:
    """Drop ``Pretrained`` initialisations: nothing may be downloaded. The
    key is removed, so that the module's default initialisation applies
    (e.g. RetinaNet's classifier prior)."""
    if isinstance(node, dict):
        if (node.get('init_cfg') or {}).get('type') == 'Pretrained':
            del node['init_cfg']
        if isinstance(node.get('pretrained'), str):
            node['pretrained'] = None
        for value in node.values():
            _strip_pretrained(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            _strip_pretrained(value)


def _total(value) -> torch.Tensor:
    """A log variable as mmengine's ``parse_losses`` adds it up."""
    if isinstance(value, torch.Tensor):
        return value.mean()
    return sum(v.mean() for v in value)


def _grad_norm(value: torch.Tensor, params: Sequence[nn.Parameter]) -> float:
    if not value.requires_grad:
        return 0.0
    grads = torch.autograd.grad(
        value, params, retain_graph=True, allow_unused=True)
    sq = sum(float(g.detach().pow(2).sum()) for g in grads if g is not None)
    return math.sqrt(sq)


def _config_batch(cfg: Config, batch_size: int) -> Tuple[Optional[Dict], str]:
    """One batch of ``train_dataloader`` or (None, why not)."""
    loader = cfg.get('train_dataloader')
    if not loader or 'dataset' not in loader:
        return None, 'the config has no train_dataloader'
    try:
        preflight_check(cfg, loaders=('train_dataloader', ))
    except FileNotFoundError as err:
        return None, str(err).split('. ')[0]
    loader = copy.deepcopy(loader)
    loader.update(batch_size=batch_size, num_workers=0,
                  persistent_workers=False)
    batch = next(iter(Runner.build_dataloader(loader, seed=0)))
    root = loader['dataset'].get('data_root', '')
    return batch, f'{batch_size} images of train_dataloader ({root})'


def _describe_sources(distiller, mappings: Dict[str, Dict],
                      inputs: Dict[str, str]) -> List[str]:
    """'preds_S <- student "fpn0" (neck[0]) Tensor(..) -> connector ..'."""
    lines = []
    for arg, record in mappings.items():
        if 'recorder' not in record:
            lines.append(f'{arg} = {inputs.get(arg, "?")}')
            continue
        which = 'student' if record.get('from_student') else 'teacher'
        manager = (distiller.student_recorders if record.get('from_student')
                   else distiller.teacher_recorders)
        recorder = manager.recorders[record['recorder']]
        source = getattr(recorder, 'source', '?')
        raw = {
            k: v
            for k, v in record.items()
            if k not in ('connector', 'connector_idx')
        }
        line = (f'{arg} <- {which} recorder "{record["recorder"]}" '
                f'({source}) {describe(distiller.get_record(**raw))}')
        if record.get('connector'):
            line += (f' -> connector "{record["connector"]}" -> '
                     f'{inputs.get(arg, "?")}')
        lines.append(line)
    return lines


def _recorder_lines(distiller) -> List[str]:
    lines = []
    for which in ('student', 'teacher'):
        manager = getattr(distiller, f'{which}_recorders')
        for name, recorder in manager.recorders.items():
            records = ', '.join(describe(r) for r in recorder.data_buffer)
            source = getattr(recorder, 'source', '?')
            lines.append(f'{which} "{name}" ({source}): '
                         f'{len(recorder.data_buffer)} record(s) {records}')
    return lines


def _ratio(term: float, task: float) -> float:
    if task == 0:
        return math.inf if term else math.nan
    return term / task


def analyze_distill(cfg_path: str,
                    cfg_options: Optional[Dict] = None,
                    batch_size: int = 2,
                    input_size: Optional[Sequence[int]] = None,
                    use_data: bool = True,
                    ratio_limit: float = 100.0,
                    seed: int = 0) -> DistillReport:
    """Build ``cfg_path``, run one training step and inspect it.

    Args:
        cfg_path (str): A distillation config (mmrazor algorithm).
        cfg_options (dict, optional): Overrides merged into the config.
        batch_size (int): Images in the batch (>= 2 for BatchNorm).
        input_size (Sequence[int], optional): (H, W) of a fake batch;
            defaults to :data:`DEFAULT_INPUT_SIZE` of the task.
        use_data (bool): Take the batch from the config's
            ``train_dataloader`` when its files exist.
        ratio_limit (float): Warn when a term's value or gradient norm is
            more than ``ratio_limit`` times larger or smaller than the task
            loss's.
        seed (int): Seed of the initialisation and of a fake batch.

    Returns:
        DistillReport: See :func:`format_report`.
    """
    cfg = Config.fromfile(cfg_path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    model_cfg = cfg.model
    if 'architecture' not in model_cfg or 'teacher' not in model_cfg:
        raise KeyError(f'{cfg_path}: model has no architecture and teacher: '
                       'not a distillation config')
    notes, warnings = [], []
    _strip_pretrained(cfg.model)
    # As mmengine's Runner: a model without a data preprocessor gets the
    # config's top-level one (e.g. the Cityscapes configs' crop size).
    if cfg.get('data_preprocessor') is not None:
        cfg.model.setdefault('data_preprocessor', cfg.data_preprocessor)
    ckpt = model_cfg.get('teacher_ckpt')
    torch.manual_seed(seed)
    model, cfg = build_algorithm(cfg, keep_teacher_ckpt=True)
    random_teacher = not (ckpt and model.teacher._is_init)
    if random_teacher:
        why = ('model.teacher_ckpt is not set' if not ckpt else
               f'model.teacher_ckpt "{ckpt}" does not exist')
        teacher_weights = f'RANDOM ({why})'
        notes.append('the teacher has random weights: the distillation '
                     'numbers above describe the wiring, not a trained '
                     'teacher')
    else:
        teacher_weights = f'checkpoint {ckpt}'
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)  # init_weights logs every parameter
    try:
        model.init_weights()
    finally:
        logger.setLevel(level)
    notes.append('student initialised by init_weights() with Pretrained '
                 'init_cfg dropped (nothing is downloaded)')
    task = infer_task(model)

    batch, batch_desc = (_config_batch(cfg, batch_size) if use_data else
                         (None, 'use_data=False'))
    if batch is None:
        size = tuple(input_size or DEFAULT_INPUT_SIZE[task])
        batch = make_algorithm_batch(model, task, size, batch_size, seed)
        batch_desc = (f'fake batch of {batch_size} random {size[0]}x'
                      f'{size[1]} images ({batch_desc})')
    pre = model.data_preprocessor
    size = getattr(pre, 'size', None)
    batch_desc += (f'; {type(pre).__name__}' +
                   (f' pads to {tuple(size)}' if size else ''))

    distiller = model.distiller
    captured: Dict[str, Dict[str, str]] = {}
    # Norm / dropout layers of the teacher that ran, and their mode then
    # (some algorithms run only a part of the teacher).
    teacher_mode: Dict[nn.Module, bool] = {}

    def capture_inputs(name):

        def hook(module, args, kwargs):
            captured[name] = {k: describe(v) for k, v in kwargs.items()}

        return hook

    def capture_mode(module, args):
        teacher_mode.setdefault(module, module.training)

    handles = [
        loss.register_forward_pre_hook(capture_inputs(name), with_kwargs=True)
        for name, loss in distiller.distill_losses.items()
    ]
    handles += [
        m.register_forward_pre_hook(capture_mode)
        for m in model.teacher.modules()
        if isinstance(m, (_BatchNorm, _DropoutNd))
    ]
    # A Runner's RuntimeInfoHook announces the epoch and iteration before
    # each step (CTKD's temperature schedule reads the epoch): this step is
    # the first of the first epoch unless the caller said otherwise.
    hub = MessageHub.get_current_instance()
    for key in ('epoch', 'iter'):
        if hub.get_info(key) is None:
            hub.update_info(key, 0)
    model.train()
    data = model.data_preprocessor(batch, True)
    losses = model(**data, mode='loss')

    params = [p for p in model.student.parameters() if p.requires_grad]
    task_keys = [
        k for k, v in losses.items()
        if 'loss' in k and not k.startswith(('distill.', 'teacher'))
    ]
    task_value = sum(_total(losses[k]) for k in task_keys)
    task_value_f = float(task_value.detach()) if task_keys else 0.0
    task_grad = _grad_norm(task_value, params) if task_keys else 0.0
    terms = []
    for key, value in losses.items():
        if not key.startswith('distill.') or 'loss' not in key:
            continue
        name = key[len('distill.'):]
        total = _total(value)
        mappings = distiller.loss_forward_mappings.get(name, {})
        with torch.no_grad():
            inputs = _describe_sources(distiller, mappings,
                                       captured.get(name, {}))
        terms.append(
            LossTerm(name, float(total.detach()), _grad_norm(total, params),
                     inputs))
    recorders = _recorder_lines(distiller)

    teacher_state = []
    before = {
        k: v.detach().clone()
        for k, v in model.teacher.state_dict().items()
    }
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    model.train_step(batch, optim_wrapper)
    for handle in handles:
        handle.remove()
    norms = [t for m, t in teacher_mode.items() if isinstance(m, _BatchNorm)]
    bn_train, bn_total = sum(norms), len(norms)
    drop_train = sum(t for m, t in teacher_mode.items()
                     if isinstance(m, _DropoutNd))
    teacher_state.append(f'norm layers in train mode during the forward: '
                         f'{bn_train}/{bn_total}; dropout in train mode: '
                         f'{drop_train}')
    if bn_train:
        warnings.append(
            f'teacher: {bn_train} norm layers are in train mode during the '
            'forward (teacher_norm_eval=False?): its running statistics and '
            'outputs change while distilling')
    if drop_train:
        warnings.append(
            f'teacher: {drop_train} dropout layers are in train mode during '
            "the forward (mmrazor puts only the teacher's norm layers in "
            "eval mode): the teacher's outputs are randomised")
    trainable = sum(p.numel() for p in model.teacher.parameters()
                    if p.requires_grad)
    teacher_state.append(f'parameters with requires_grad: {trainable}')
    if trainable and not model.teacher_trainable:
        warnings.append(f'teacher: {trainable} parameters require grad')
    after = model.teacher.state_dict()
    changed = [k for k, v in before.items() if not torch.equal(v, after[k])]
    teacher_state.append('weights and buffers unchanged by the optimizer '
                         'step: ' + ('yes' if not changed else
                                     f'NO ({len(changed)}: {changed[:3]})'))
    if changed:
        warnings.append(f'teacher: {len(changed)} weights/buffers changed by '
                        f'one training step ({", ".join(changed[:3])})')

    for term in terms:
        if not math.isfinite(term.value):
            warnings.append(f'{term.name}: value is {term.value}')
            continue
        if term.grad_norm == 0:
            warnings.append(f'{term.name}: no gradient reaches the student '
                            '(wrong recorder, detached input or weight 0?)')
            continue
        for what, mine, base in (('gradient norm', term.grad_norm, task_grad),
                                 ('value', abs(term.value),
                                  abs(task_value_f))):
            ratio = _ratio(mine, base)
            if not math.isfinite(ratio) or base == 0:
                continue
            if ratio > ratio_limit or ratio < 1 / ratio_limit:
                warnings.append(
                    f'{term.name}: {what} {mine:.3g} is {ratio:.3g}x the task '
                    f"loss's ({base:.3g}): outside [1/{ratio_limit:g}, "
                    f'{ratio_limit:g}]; check its loss_weight for the feature '
                    'scale of this model')
    return DistillReport(
        config=cfg_path,
        task=task,
        batch=batch_desc,
        teacher_weights=teacher_weights,
        random_teacher=random_teacher,
        task_value=task_value_f,
        task_grad_norm=task_grad,
        terms=terms,
        recorders=recorders,
        teacher_state=teacher_state,
        warnings=warnings,
        notes=notes)


def format_report(report: DistillReport) -> str:
    """The report as printed by ``tools/analyze_distill.py``."""
    lines = [
        f'config: {report.config}', f'task: {report.task}',
        f'batch: {report.batch}', f'teacher: {report.teacher_weights}'
    ]
    lines += [f'teacher {s}' for s in report.teacher_state]
    lines += ['', f'{"loss":<28}{"value":>12}{"grad norm":>12}'
              f'{"value/task":>12}{"grad/task":>12}']
    lines.append(f'{"task (student losses)":<28}{report.task_value:>12.4g}'
                 f'{report.task_grad_norm:>12.4g}{"1":>12}{"1":>12}')
    for term in report.terms:
        lines.append(
            f'{term.name:<28}{term.value:>12.4g}{term.grad_norm:>12.4g}'
            f'{_ratio(term.value, report.task_value):>12.3g}'
            f'{_ratio(term.grad_norm, report.task_grad_norm):>12.3g}')
        lines += [f'    {line}' for line in term.inputs]
    lines += ['', 'recorders:'] + [f'    {r}' for r in report.recorders]
    lines += [''] + [f'NOTE: {n}' for n in report.notes]
    lines += [f'WARNING: {w}' for w in report.warnings]
    if not report.warnings:
        lines.append('no warnings')
    return '\n'.join(lines)
