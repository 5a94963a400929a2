# Copyright (c) mmkd_ext contributors. All rights reserved.
"""letKD's distillation loss and its teacher targets.

The teacher statistics the targets need are computed once, offline, and
read from a targets file (:mod:`mmkd_ext.letkd`) when the loss is built.
"""
from typing import List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmrazor.registry import MODELS
from torch import Tensor

from mmkd_ext.letkd import load_letkd_target, pixel_labels, teacher_checksum

from .functional import kl_div_probs, upcast_half


def pool_teacher(feats: Tensor, pool: int) -> Tensor:
    """Average-pool a teacher map with kernel = stride = ``pool`` (1: none).
    """
    return feats if pool == 1 else F.avg_pool2d(feats, pool, pool)


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

    For one KD layer (:class:`~mmkd_ext.models.architectures.LetKDLayer`) with
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
    (heterogeneous pairs). The teacher statistics and the target
    description (``kind``, ``teacher_module``, ``channels``,
    ``num_templates`` / ``num_classes``, ...) are read from ``target_file``
    (written by ``tools/letkd_prepare.py``) when the loss is built; a
    description given here must equal the file's, see
    :func:`~mmkd_ext.letkd.normalize_target_spec`.
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
        **spec: The expected target description, checked against the
            file's (optional: the forward checks the shapes of its inputs
            against the file's K and channels in any case).

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
        loaded = load_letkd_target(target_file, target, spec or None)
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

    def check_teacher_module(self, module: Optional[str],
                             index: Optional[int]) -> None:
        """Raise ``ValueError`` unless the target was computed from teacher
        module ``module`` (and, for a tuple output, its element ``index``),
        where ``t_feats`` is recorded; None skips that part."""
        spec = self.spec
        if module is not None and module != spec['teacher_module']:
            raise ValueError(
                f'letKD targets file "{self.target_file}", target '
                f'"{self.target}" was computed from teacher module '
                f'"{spec["teacher_module"]}", but t_feats is recorded from '
                f'"{module}". Recompute the file with tools/letkd_prepare.py '
                'or fix the recorder.')
        listed = spec['teacher_index']
        if index is not None and listed is not None and index not in listed:
            raise ValueError(
                f'letKD targets file "{self.target_file}", target '
                f'"{self.target}" was computed from the outputs {listed} of '
                f'"{spec["teacher_module"]}", but t_feats is its output '
                f'{index} (data_idx).')

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
        # float32 softmax under AMP
        log_p_s = F.log_softmax(upcast_half(_flatten(s_logits)), dim=1)
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
    return kl_div_probs(p_t, log_p_s).sum() / log_p_s.shape[0]
