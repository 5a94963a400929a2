# Copyright (c) mmkd_ext contributors. All rights reserved.
"""letKD's distillation loss, its teacher targets and the targets file.

The teacher side of letKD needs statistics computed once, offline, over the
training set (K-means centers; LDA, per-class K-means and a score table).
``tools/letkd_prepare.py`` writes them to one versioned file (see
:func:`save_letkd_targets`); :class:`LetKDLoss` loads one target of that file
when it is built and refuses a missing file or one computed for another
teacher, layer, channel count, K or number of classes.
"""
import hashlib
import os
import os.path as osp
from functools import lru_cache
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmrazor.registry import MODELS
from torch import Tensor

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
    stat = os.stat(ckpt)
    return _sha256(osp.realpath(ckpt), stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=8)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 24), b''):
            digest.update(block)
    return f'sha256:{digest.hexdigest()}'


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
    dirname = osp.dirname(osp.abspath(path))
    os.makedirs(dirname, exist_ok=True)
    tmp = f'{path}.tmp{os.getpid()}'
    torch.save(out, tmp)
    os.replace(tmp, path)


@lru_cache(maxsize=2)
def _load_file(path: str, size: int, mtime_ns: int) -> dict:
    return torch.load(path, map_location='cpu', weights_only=True)


def load_letkd_target(path: str, name: str, spec: dict) -> dict:
    """Load target ``name`` of a letKD targets file and check it against the
    config's description ``spec``.

    Returns:
        dict: ``dict(spec, tensors, stats, teacher_checksum)``.

    Raises:
        FileNotFoundError: The file does not exist.
        ValueError: Not a letKD targets file, another format version, no
            target ``name``, or a target whose description (teacher module,
            channels, K, classes, ...) differs from ``spec``. The message
            names the file, the target and every differing key.
    """
    spec = normalize_target_spec(name, spec)
    where = f'letKD targets file "{path}"'
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


def pool_teacher(feats: Tensor, pool: int) -> Tensor:
    """Average-pool a teacher map with kernel = stride = ``pool`` (1: none).
    """
    return feats if pool == 1 else F.avg_pool2d(feats, pool, pool)


def pixel_labels(data_samples: Sequence,
                 size: Tuple[int, int],
                 num_classes: int,
                 ignore_index: int = 255) -> Tensor:
    """Per-pixel class labels of a batch at a feature map's size.

    An image label (mmpretrain ``gt_label``) is repeated over the map; a
    segmentation label map (mmseg ``gt_sem_seg``) is resized with nearest
    neighbour interpolation. ``ignore_index`` becomes -1.

    Args:
        data_samples (Sequence): The batch's data samples.
        size (tuple): (H, W) of the feature map.
        num_classes (int): Labels must lie in [0, num_classes).
        ignore_index (int): Label of unlabeled pixels. Defaults to 255.

    Returns:
        Tensor: (N, H, W) int64 labels, -1 where ignored.
    """
    labels = []
    for i, sample in enumerate(data_samples):
        if 'gt_sem_seg' in sample:
            seg = sample.gt_sem_seg.data
            seg = F.interpolate(
                seg.reshape(1, 1, *seg.shape[-2:]).float(),
                size=size,
                mode='nearest').reshape(*size).long()
        elif 'gt_label' in sample:
            label = sample.gt_label.reshape(-1)
            if label.numel() != 1:
                raise ValueError(
                    f'letKD: sample {i} has {label.numel()} labels; the '
                    'intermediate target needs exactly one label per image')
            seg = label.long().expand(*size)
        else:
            raise KeyError(f'letKD: sample {i} ({type(sample).__name__}) has '
                           'neither gt_label nor gt_sem_seg')
        labels.append(seg)
    labels = torch.stack(labels)
    labels = labels.masked_fill(labels == ignore_index, -1)
    bad = (labels < -1) | (labels >= num_classes)
    if bad.any():
        raise ValueError(
            f'letKD: labels {labels[bad].unique().tolist()[:8]} are outside '
            f'[0, {num_classes}) and are not ignore_index={ignore_index}')
    return labels


def _flatten(x: Tensor) -> Tensor:
    """(N, C, H, W) -> (N * H * W, C)."""
    return x.permute(0, 2, 3, 1).reshape(-1, x.shape[1])


class LetKDPenultimateTarget(nn.Module):
    r"""Teacher targets of letKD's penultimate layer (Alg. 1 online).

    .. math::

        p_T(k \mid i) = \mathrm{softmax}_k\big(-\tau
        \lVert f_i - \rho_k \rVert_2^2\big)

    computed as :math:`\mathrm{softmax}_k(\tau (2 f_i^\top \rho_k -
    \lVert \rho_k \rVert^2))` (the dropped :math:`\lVert f_i \rVert^2` is
    constant over k).

    Args:
        centers (Tensor): K-means centers :math:`\rho`, (K, D).
        tau (float): Multiplier of the negative squared distance. 1 in
            letKD (QuEST used 5). Defaults to 1.0.

    Shapes:
        (N, D, H, W) raw teacher features -> (N * H * W, K), rows in
        (n, h, w) order.
    """

    def __init__(self, centers: Tensor, tau: float = 1.0) -> None:
        super().__init__()
        self.tau = float(tau)
        self.register_buffer('centers', centers.float(), persistent=False)

    def forward(self, feats: Tensor) -> Tensor:
        """(N, D, H, W) -> (N * H * W, K)."""
        f = _flatten(feats.float())
        logits = 2 * f @ self.centers.t() - (self.centers**2).sum(1)
        return torch.softmax(self.tau * logits, dim=1)


class LetKDIntermediateTarget(nn.Module):
    r"""Teacher targets of letKD-2's intermediate layer (Alg. 2 online).

    With the LDA projection :math:`z_i = W f_i + b`, the pixel's label y
    and the per-class K-means centers :math:`\rho_{c,k}` (S per class):

    .. math::

        k^* = \arg\min_{k < S} \lVert z_i - \rho_{y,k} \rVert_2^2, \qquad
        p_T(\cdot \mid i) = s_T[y S + k^*, :]

    (only the label's own S centers are searched; no temperature).

    Args:
        lda_weight (Tensor): W, (d, D).
        lda_bias (Tensor): b, (d, ).
        centers (Tensor): :math:`\rho`, (C * S, d), class-major.
        score_table (Tensor): :math:`s_T`, (C * S, C * S), row-stochastic.
        num_subclasses (int): S. Defaults to 8.

    Shapes:
        (N, D, H, W) features and (N, H, W) labels (-1: ignored) ->
        (M, C * S) targets of the M labeled pixels and the (N * H * W, )
        bool mask of those pixels.
    """

    def __init__(self,
                 lda_weight: Tensor,
                 lda_bias: Tensor,
                 centers: Tensor,
                 score_table: Tensor,
                 num_subclasses: int = 8) -> None:
        super().__init__()
        self.num_subclasses = num_subclasses
        self.register_buffer('lda_weight', lda_weight.float(), False)
        self.register_buffer('lda_bias', lda_bias.float(), False)
        self.register_buffer('centers', centers.float(), False)
        self.register_buffer('score_table', score_table.float(), False)

    def project(self, f: Tensor) -> Tensor:
        """LDA projection, (M, D) -> (M, d)."""
        return f.float() @ self.lda_weight.t() + self.lda_bias

    def assign(self, z: Tensor, labels: Tensor) -> Tensor:
        """Sub-class index :math:`y S + k^*` of each row, (M, d) x (M, ) ->
        (M, ) int64 (labels must be valid)."""
        s = self.num_subclasses
        own = self.centers.view(-1, s, self.centers.shape[1])[labels]
        dist = ((z.unsqueeze(1) - own)**2).sum(-1)  # (M, S)
        return labels * s + dist.argmin(1)

    def forward(self, feats: Tensor,
                labels: Tensor) -> Tuple[Tensor, Tensor]:
        """(N, D, H, W) x (N, H, W) -> (M, C * S) targets, (N * H * W, )
        mask of the labeled pixels."""
        valid = labels.reshape(-1) >= 0
        f = _flatten(feats)[valid]
        sub = self.assign(self.project(f), labels.reshape(-1)[valid])
        return self.score_table[sub], valid


@MODELS.register_module()
class LetKDLoss(nn.Module):
    r"""Distillation loss of `Knowledge Distillation Layer that Lets the
    Student Decide <https://arxiv.org/abs/2309.02843>`_ (letKD).

    For one KD layer (:class:`~mmkd_ext.models.connectors.LetKDLayer`) with
    template logits :math:`a` (the layer's ``conv1`` output) and teacher
    targets :math:`p_T` over the same K templates:

    .. math::

        \mathcal{L} = \frac{\lambda}{M} \sum_{i=1}^{M} \sum_{k=1}^{K}
        p_T(k \mid i) \log \frac{p_T(k \mid i)}{\mathrm{softmax}_k(a_i)}

    (:math:`0 \log 0 = 0`), averaged over the M = N * H * W pixels of the
    batch (the labeled ones for the intermediate kind). :math:`p_T` is
    :class:`LetKDPenultimateTarget` (``kind='penultimate'``, letKD-1 and
    letKD-2) or :class:`LetKDIntermediateTarget` (``kind='intermediate'``,
    letKD-2); the teacher map is first average-pooled 2x2 when ``pool=2``
    (heterogeneous pairs). The teacher statistics are read from
    ``target_file`` (written by ``tools/letkd_prepare.py``) when the loss is
    built; the target description (``kind``, ``teacher_module``,
    ``channels``, ``num_templates`` / ``num_classes``, ...) must equal the
    one the file was computed for, see :func:`normalize_target_spec`.
    :class:`~mmkd_ext.models.algorithms.LetKDDistill` also checks that the
    file was computed from the algorithm's ``teacher_ckpt``.

    Wiring (mmrazor recorders): ``s_logits`` is a ``ModuleOutputs`` record of
    ``letkd.<layer>.conv1`` in the student, ``t_feats`` a ``ModuleOutputs``
    record of ``teacher_module`` in the teacher (``data_idx`` picks a level
    of a tuple output) and ``data_samples`` (intermediate kind only) the
    ``ModuleInputs`` record of the student itself (source ``''``,
    ``data_idx=1``).

    Args:
        target_file (str): The letKD targets file.
        target (str): Name of the target in the file.
        tau (float): Penultimate kind: multiplier of the negative squared
            distance. Defaults to 1.0.
        loss_weight (float): :math:`\lambda`. Defaults to 1.0.
        **spec: The target description, see :func:`normalize_target_spec`.

    Shapes:
        - s_logits: (N, K, H, W).
        - t_feats: (N, D, H, W), or (N, D, 2H, 2W) with ``pool=2``.
        - data_samples: N data samples with ``gt_label`` or ``gt_sem_seg``.
        - output: scalar.
    """

    def __init__(self,
                 target_file: str,
                 target: str,
                 tau: float = 1.0,
                 loss_weight: float = 1.0,
                 **spec) -> None:
        super().__init__()
        loaded = load_letkd_target(target_file, target, spec)
        self.target_file = target_file
        self.target = target
        self.spec = loaded['spec']
        self.file_teacher_checksum = loaded['teacher_checksum']
        self.loss_weight = loss_weight
        tensors = loaded['tensors']
        if self.spec['kind'] == 'penultimate':
            self.teacher_target = LetKDPenultimateTarget(
                tensors['centers'], tau)
        else:
            self.teacher_target = LetKDIntermediateTarget(
                tensors['lda_weight'], tensors['lda_bias'],
                tensors['centers'], tensors['score_table'],
                self.spec['num_subclasses'])

    def check_teacher(self, teacher_ckpt: Optional[str]) -> None:
        """Raise ``ValueError`` unless the targets file was computed from
        ``teacher_ckpt`` (compared by :func:`teacher_checksum`)."""
        checksum = teacher_checksum(teacher_ckpt)
        if checksum != self.file_teacher_checksum:
            raise ValueError(
                f'letKD targets file "{self.target_file}" was computed from '
                f'the teacher checkpoint {self.file_teacher_checksum}, but '
                f'model.teacher_ckpt="{teacher_ckpt}" is {checksum}. '
                'Recompute the file with tools/letkd_prepare.py for this '
                'teacher.')

    def _check_inputs(self, s_logits: Tensor, t_feats: Tensor) -> None:
        spec = self.spec
        s, t = tuple(s_logits.shape), tuple(t_feats.shape)
        if s_logits.dim() != 4 or t_feats.dim() != 4:
            raise ValueError(f'LetKDLoss({self.target}): expected (N, C, H, '
                             f'W) maps, got s_logits {s} and t_feats {t}')
        if s[1] != spec['num_templates']:
            raise ValueError(
                f'LetKDLoss({self.target}): s_logits has {s[1]} templates '
                f'but the target has K={spec["num_templates"]} (student '
                f'layer num_templates vs letKD target); shape {s}')
        if t[1] != spec['channels']:
            raise ValueError(
                f'LetKDLoss({self.target}): t_feats has {t[1]} channels but '
                f'the target was computed for channels={spec["channels"]} '
                f'(teacher module "{spec["teacher_module"]}"); shape {t}')
        p = spec['pool']
        if t[0] != s[0] or (t[2] // p, t[3] // p) != s[2:]:
            raise ValueError(
                f'LetKDLoss({self.target}): teacher map {t} average-pooled '
                f'by {p} does not match the student map {s}')

    def forward(self,
                s_logits: Tensor,
                t_feats: Tensor,
                data_samples: Optional[List] = None) -> Tensor:
        """Forward computation.

        Args:
            s_logits (Tensor): Template logits a of the student's KD layer,
                (N, K, H, W).
            t_feats (Tensor): Teacher map at ``teacher_module``.
            data_samples (list, optional): The batch's data samples (labels,
                intermediate kind only).

        Returns:
            Tensor: The weighted loss, a scalar.
        """
        self._check_inputs(s_logits, t_feats)
        t_feats = pool_teacher(t_feats.detach(), self.spec['pool'])
        logits = _flatten(s_logits)
        if logits.dtype != torch.float64:  # float32 softmax under AMP
            logits = logits.float()
        log_p_s = F.log_softmax(logits, dim=1)
        with torch.no_grad():
            if self.spec['kind'] == 'penultimate':
                p_t = self.teacher_target(t_feats)
            else:
                if data_samples is None:
                    raise ValueError(
                        f'LetKDLoss({self.target}): the intermediate target '
                        'needs `data_samples` (map it from a ModuleInputs '
                        "recorder on the student, source='', data_idx=1)")
                labels = pixel_labels(data_samples, s_logits.shape[2:],
                                      self.spec['num_classes'],
                                      self.spec['ignore_index'])
                p_t, valid = self.teacher_target(t_feats,
                                                 labels.to(t_feats.device))
        if self.spec['kind'] == 'intermediate':
            log_p_s = log_p_s[valid]
        return self.loss_weight * letkd_kl(log_p_s, p_t)


def letkd_kl(log_p_s: Tensor, p_t: Tensor) -> Tensor:
    r""":math:`\frac{1}{M} \sum_i \mathrm{KL}(p_T(\cdot|i) \,\|\,
    p_S(\cdot|i))` from (M, K) student log-probabilities and (M, K) teacher
    probabilities (0 when M = 0, still attached to the graph)."""
    if log_p_s.shape[0] == 0:
        return log_p_s.sum() * 0
    kl = torch.xlogy(p_t, p_t) - p_t * log_p_s
    return kl.sum() / log_p_s.shape[0]
