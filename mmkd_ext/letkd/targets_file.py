# Copyright (c) mmkd_ext contributors. All rights reserved.
"""The letKD targets file: format, description of a target, save / load.

The teacher side of letKD needs statistics computed once, offline, over the
training set (K-means centers; LDA, per-class K-means and a score table).
:mod:`mmkd_ext.letkd.prepare` (``tools/letkd_prepare.py``) writes them to one
versioned file with :func:`save_letkd_targets`;
:class:`~mmkd_ext.models.losses.LetKDLoss` reads one target of it with
:func:`load_letkd_target`, which refuses a missing file, another format or
version, and a target computed for another layer, channel count, K or
number of classes than the one expected. :func:`teacher_checksum` names the
teacher checkpoint the statistics came from.
"""
import os
import os.path as osp
from functools import lru_cache
from typing import Dict, Optional

import torch
from torch import Tensor

from mmkd_ext.utils import file_sha256, torch_save_atomically

LETKD_FORMAT = 'mmkd_ext.letkd_targets'
LETKD_VERSION = 1
TARGET_KINDS = ('penultimate', 'intermediate')

_SPEC_DEFAULTS = dict(
    penultimate=dict(teacher_index=None, pool=1),
    intermediate=dict(
        teacher_index=None,
        pool=1,
        num_subclasses=8,
        lda_dim=60,
        ignore_index=255))
_SPEC_REQUIRED = dict(
    penultimate=('kind', 'teacher_module', 'channels', 'num_templates'),
    intermediate=('kind', 'teacher_module', 'channels', 'num_classes'))


def normalize_target_spec(name: str, spec: dict) -> dict:
    """Check a target description and fill in its defaults.

    A target is what a KD layer is distilled from: ``kind``
    (``'penultimate'`` or ``'intermediate'``), ``teacher_module`` (teacher
    module path whose output is quantised), ``teacher_index`` (None, or the
    element(s) of a tuple output, e.g. FPN levels, pooled into one
    codebook), ``channels`` (teacher channels D), ``pool`` (1, or 2 to
    average-pool the teacher map 2x2 for a student map of half its size)
    and ``num_templates`` (K) for the penultimate kind, or ``num_classes``
    (C), ``num_subclasses`` (8), ``lda_dim`` (60) and ``ignore_index`` (255,
    for per-pixel labels) for the intermediate kind, whose K is
    ``num_classes * num_subclasses``.

    Returns:
        dict: The normalized description (all keys, ``teacher_index`` as a
        list or None).
    """
    if not isinstance(spec, dict):
        raise TypeError(f'letKD target "{name}": expected a dict, got '
                        f'{type(spec).__name__}')
    kind = spec.get('kind')
    if kind not in TARGET_KINDS:
        raise ValueError(f'letKD target "{name}": kind must be one of '
                         f'{TARGET_KINDS}, got {kind!r}')
    out = dict(_SPEC_DEFAULTS[kind])
    allowed = set(out) | set(_SPEC_REQUIRED[kind])
    if kind == 'intermediate':
        allowed.add('num_templates')
    unknown = sorted(set(spec) - allowed)
    if unknown:
        raise KeyError(f'letKD target "{name}" ({kind}): unknown keys '
                       f'{unknown}; allowed: {sorted(allowed)}')
    missing = [k for k in _SPEC_REQUIRED[kind] if k not in spec]
    if missing:
        raise KeyError(f'letKD target "{name}" ({kind}): missing {missing}')
    out.update(spec)
    index = out['teacher_index']
    if isinstance(index, int):
        out['teacher_index'] = [index]
    elif index is not None:
        out['teacher_index'] = [int(i) for i in index]
    if kind == 'intermediate':
        num_templates = out['num_classes'] * out['num_subclasses']
        if out.get('num_templates', num_templates) != num_templates:
            raise ValueError(
                f'letKD target "{name}": num_templates must be num_classes * '
                f'num_subclasses = {num_templates}, got '
                f'{out["num_templates"]}')
        out['num_templates'] = num_templates
    for key in ('channels', 'num_templates', 'num_classes',
                'num_subclasses', 'lda_dim'):
        if key in out and (not isinstance(out[key], int) or out[key] < 1):
            raise ValueError(f'letKD target "{name}": {key} must be a '
                             f'positive int, got {out[key]!r}')
    if kind == 'intermediate' and out['lda_dim'] > min(
            out['channels'], out['num_classes'] - 1):
        raise ValueError(
            f'letKD target "{name}": lda_dim={out["lda_dim"]} exceeds '
            f'min(channels, num_classes - 1) = '
            f'{min(out["channels"], out["num_classes"] - 1)} (an LDA has at '
            'most that many components)')
    if out['pool'] not in (1, 2):
        raise ValueError(f'letKD target "{name}": pool must be 1 or 2, got '
                         f'{out["pool"]!r}')
    return {k: out[k] for k in sorted(out)}


def _target_tensor_shapes(spec: dict, lda_dim: int) -> Dict[str, tuple]:
    """Expected tensor shapes of a target (``lda_dim``: stored LDA dims)."""
    k, d = spec['num_templates'], spec['channels']
    if spec['kind'] == 'penultimate':
        return dict(centers=(k, d))
    return dict(
        lda_weight=(lda_dim, d),
        lda_bias=(lda_dim, ),
        centers=(k, lda_dim),
        prototypes=(k, lda_dim),
        score_table=(k, k))


def _check_tensors(where: str, spec: dict, tensors: Dict[str, Tensor]) -> None:
    lda_dim = 0
    if spec['kind'] == 'intermediate':
        if 'lda_weight' not in tensors:
            raise KeyError(f'{where}: missing tensor "lda_weight"')
        lda_dim = tensors['lda_weight'].shape[0]
        if not 1 <= lda_dim <= spec['lda_dim']:
            raise ValueError(f'{where}: lda_weight has {lda_dim} rows, '
                             f'expected 1..lda_dim={spec["lda_dim"]}')
    for key, shape in _target_tensor_shapes(spec, lda_dim).items():
        if key not in tensors:
            raise KeyError(f'{where}: missing tensor "{key}"')
        if tuple(tensors[key].shape) != shape:
            raise ValueError(f'{where}: tensor "{key}" has shape '
                             f'{tuple(tensors[key].shape)}, expected {shape}')
        if not torch.isfinite(tensors[key]).all():
            raise ValueError(f'{where}: tensor "{key}" is not finite')


def teacher_checksum(ckpt: Optional[str]) -> Optional[str]:
    """Identity of a teacher checkpoint: ``'sha256:<hex>'`` of a local file,
    ``'url:<address>'`` for a remote one, None for no checkpoint."""
    if not ckpt:
        return None
    if '://' in ckpt:
        return f'url:{ckpt}'
    if not osp.isfile(ckpt):
        raise FileNotFoundError(f'teacher checkpoint "{ckpt}" does not exist')
    return f'sha256:{file_sha256(ckpt)}'


def save_letkd_targets(path: str,
                       targets: Dict[str, dict],
                       teacher_ckpt: Optional[str],
                       meta: Optional[dict] = None) -> None:
    """Write a letKD targets file (atomically).

    Args:
        path (str): Output file.
        targets (dict): ``{name: dict(spec=..., tensors={...},
            stats={...})}``; ``spec`` as in :func:`normalize_target_spec`,
            ``tensors`` the float tensors: ``centers`` (K, D) for a
            penultimate target; ``lda_weight`` (d, D), ``lda_bias`` (d, ),
            ``centers`` (C*S, d) (per-class K-means centers, class-major),
            ``prototypes`` (C*S, d) and ``score_table`` (C*S, C*S) for an
            intermediate one.
        teacher_ckpt (str, optional): The teacher checkpoint the features
            came from; its :func:`teacher_checksum` is stored.
        meta (dict, optional): Free-form provenance (config, sampling).
    """
    out = dict(
        format=LETKD_FORMAT,
        version=LETKD_VERSION,
        teacher_ckpt=teacher_ckpt,
        teacher_checksum=teacher_checksum(teacher_ckpt),
        meta=dict(meta or {}),
        targets={})
    for name, target in targets.items():
        spec = normalize_target_spec(name, target['spec'])
        tensors = {
            k: v.detach().to('cpu', torch.float32).contiguous()
            for k, v in target['tensors'].items()
        }
        _check_tensors(f'letKD target "{name}"', spec, tensors)
        out['targets'][name] = dict(
            spec=spec, tensors=tensors, stats=dict(target.get('stats', {})))
    torch_save_atomically(out, path)


@lru_cache(maxsize=2)
def _load_file(path: str, size: int, mtime_ns: int) -> dict:
    return torch.load(path, map_location='cpu', weights_only=True)


def load_letkd_target(path: str,
                      name: str,
                      spec: Optional[dict] = None) -> dict:
    """Load target ``name`` of a letKD targets file, checked against the
    description ``spec`` when one is given.

    Args:
        path (str): The targets file.
        name (str): The target.
        spec (dict, optional): The expected description (see
            :func:`normalize_target_spec`); None takes the file's.

    Returns:
        dict: ``dict(spec, tensors, stats, teacher_checksum)``.

    Raises:
        FileNotFoundError: The file does not exist.
        ValueError: Not a letKD targets file, another format version, no
            target ``name``, or a target whose description (teacher module,
            channels, K, classes, ...) differs from ``spec``. The message
            names the file, the target and every differing key.
    """
    where = f'letKD targets file "{path}"'
    try:
        expected = (None if spec is None else normalize_target_spec(
            name, spec))
    except (KeyError, ValueError) as err:
        msg = err.args[0] if err.args else str(err)
        raise type(err)(
            f'{msg} (a description given with target "{name}" of {where} '
            'is checked against the file\'s and must be whole: give all of '
            'it, or none and the file\'s is used)') from None
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'{where} does not exist. Compute it once per teacher with '
            '`python tools/letkd_prepare.py CONFIG` (it writes the '
            'config\'s `letkd_file`).')
    stat = os.stat(path)
    try:
        data = _load_file(osp.realpath(path), stat.st_size, stat.st_mtime_ns)
    except Exception as err:  # noqa: BLE001 - any unreadable file
        raise ValueError(f'{where} cannot be read: {err}') from err
    if not isinstance(data, dict) or data.get('format') != LETKD_FORMAT:
        raise ValueError(f'{where} is not a letKD targets file')
    if data.get('version') != LETKD_VERSION:
        raise ValueError(
            f'{where} has format version {data.get("version")}, this code '
            f'reads version {LETKD_VERSION}; recompute it with '
            'tools/letkd_prepare.py')
    targets = data.get('targets', {})
    if name not in targets:
        raise ValueError(f'{where} has no target "{name}" (it has '
                         f'{sorted(targets)})')
    target = targets[name]
    file_spec = target['spec']
    spec = expected or normalize_target_spec(name, file_spec)
    diffs = [
        f'{key}: {file_spec.get(key)!r} in the file, {spec[key]!r} in the '
        'config' for key in spec if file_spec.get(key) != spec[key]
    ]
    if diffs:
        raise ValueError(
            f'{where}, target "{name}" was computed for another setting '
            f'({"; ".join(diffs)}). Recompute it with tools/letkd_prepare.py '
            'or fix the config.')
    _check_tensors(f'{where}, target "{name}"', spec, target['tensors'])
    return dict(
        spec=spec,
        tensors=target['tensors'],
        stats=target.get('stats', {}),
        teacher_checksum=data.get('teacher_checksum'))
