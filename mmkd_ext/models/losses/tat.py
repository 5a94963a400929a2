# Copyright (c) mmkd_ext contributors. All rights reserved.
"""Target-aware Transformer distillation (TaT, Lin et al., CVPR 2022).

`Knowledge Distillation via the Target-aware Transformer
<https://arxiv.org/abs/2205.10793>`_, computed as the authors' code computes
it (``sihaoevery/TaT`` for ImageNet, ``sihaoevery/TaT-seg`` for
segmentation): the student pixel is the query, the softmax runs over teacher
positions, there is no ``1/sqrt(d)`` scaling, and the reconfigured student
is matched to the raw teacher feature with a mean squared error.

* :class:`TaTLoss`: one-to-all TaT with its own embeddings (ImageNet).
* :class:`TaTSegLoss`: the segmentation loss as trained, one module that
  embeds once and returns ``alpha * (beta * L_patch + gamma * L_anchor)``;
  its two terms :class:`TaTPatchGroupLoss` and :class:`TaTAnchorPointLoss`
  take already-embedded ``q``, ``k``, ``v`` (internal, not registered).

Each loss's :meth:`attention_map` forms the attention map its forward uses
(for heat maps, see :mod:`mmkd_ext.visualization`).
"""
from typing import Dict, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.logging import MessageHub
from mmrazor.registry import MODELS
from torch import Tensor

from ..utils import check_chunk_size, softmax_attention

IntPair = Union[int, Sequence[int]]


def _pair(value: IntPair, name: str, owner: str) -> Tuple[int, int]:
    pair = (value, value) if isinstance(value, int) else tuple(value)
    if len(pair) != 2 or not all(
            isinstance(v, int) and v > 0 for v in pair):
        raise ValueError(f'{owner}: {name} must be a positive int or a pair '
                         f'of positive ints, got {value!r}')
    return pair


def _check_maps(owner: str, **maps: Tensor) -> Tuple[int, int, int, int]:
    """Check that all maps are (B, C, H, W) with the same B, H, W.

    Returns the (B, C, H, W) shape of the first map.
    """
    shapes = {name: tuple(x.shape) for name, x in maps.items()}
    if any(len(s) != 4 for s in shapes.values()):
        raise ValueError(f'{owner}: expected (B, C, H, W) maps, got '
                         f'{shapes}')
    first = next(iter(shapes.values()))
    if any(s[0] != first[0] or s[2:] != first[2:] for s in shapes.values()):
        raise ValueError(f'{owner}: the maps must share the batch size and '
                         f'the spatial size (H, W), got {shapes}')
    return first


def _check_embedded(owner: str, q: Tensor, k: Tensor, v: Tensor,
                    t_feature: Tensor) -> Tuple[int, int, int, int]:
    """:func:`_check_maps` for the embedded maps and the teacher map, which
    must also share the channels. Returns the (B, C, H, W) shape."""
    shape = _check_maps(owner, q=q, k=k, v=v, t_feature=t_feature)
    if not k.shape[1] == v.shape[1] == t_feature.shape[1] == shape[1]:
        raise ValueError(
            f'{owner}: q, k, v and t_feature must have the same channels, '
            f'got {q.shape[1]}, {k.shape[1]}, {v.shape[1]}, '
            f'{t_feature.shape[1]}')
    return shape


class PerSampleBatchNorm2d(nn.BatchNorm2d):
    """``BatchNorm2d`` that normalises every sample with its own statistics.

    In training mode, each sample is normalised with the mean and (biased)
    variance of its own H x W positions, per channel, then scaled and shifted
    by the shared affine parameters: exactly what ``nn.BatchNorm2d`` computes
    when it is called on one sample at a time, as the TaT authors'
    segmentation distiller does (it loops over the batch). This equals an
    instance norm with BatchNorm's parameters.

    Running statistics: one momentum update per call with the batch mean of
    the per-sample statistics (as ``F.instance_norm`` does), where the
    authors' loop makes B successive updates, one per sample. They are only
    used in eval mode, where this layer behaves as ``nn.BatchNorm2d``; the
    TaT embeddings only run in training and are dropped with the distiller
    after training, so no trained student depends on them.

    Being a ``_BatchNorm``, it would be replaced by batch statistics if the
    model were converted to ``SyncBatchNorm`` (e.g. the runner's
    ``sync_bn``); the segmentation configs train on one GPU, as the authors.
    """

    def forward(self, x: Tensor) -> Tensor:
        """Normalise (B, C, H, W) ``x``; see the class docstring."""
        self._check_input_dim(x)
        if not self.training and self.track_running_stats:
            return super().forward(x)
        momentum = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.add_(1)
            if self.momentum is None:
                momentum = 1.0 / float(self.num_batches_tracked)
        return F.instance_norm(x, self.running_mean, self.running_var,
                               self.weight, self.bias, True, momentum,
                               self.eps)


def build_tat_embedding(in_channels: int,
                        out_channels: int,
                        kernel_size: int = 1,
                        per_sample_norm: bool = False) -> nn.Sequential:
    """A TaT embedding: conv without bias (same size) then BatchNorm.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        kernel_size (int): Odd conv kernel size, padding ``kernel_size // 2``.
            1 in segmentation, 3 on ImageNet. Defaults to 1.
        per_sample_norm (bool): Use :class:`PerSampleBatchNorm2d` instead of
            ``nn.BatchNorm2d``. Defaults to False.
    """
    if kernel_size < 1 or kernel_size % 2 == 0:
        raise ValueError('TaT embedding: kernel_size must be a positive odd '
                         f'int (same-size conv), got {kernel_size}')
    norm = PerSampleBatchNorm2d if per_sample_norm else nn.BatchNorm2d
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size,
                  padding=kernel_size // 2, bias=False),
        norm(out_channels))


def _heads(x: Tensor, groups: int) -> Tensor:
    """(B, C, *S) -> (B, G, N, C / G) with N = prod(S)."""
    b, c = x.shape[:2]
    return x.reshape(b, groups, c // groups, -1).transpose(-1, -2)


def tat_attention(q: Tensor, k: Tensor, groups: int = 1) -> Tensor:
    r"""The TaT map :math:`\mathrm{softmax}_j(q_i \cdot k_j)` in each of
    ``groups`` contiguous channel groups, formed explicitly.

    Args:
        q (Tensor): Queries (B, C, *S), the embedded student.
        k (Tensor): Keys (B, C, *S), the embedded teacher.
        groups (int): G, a divisor of C. Defaults to 1.

    Returns:
        Tensor: (B, G, N, N) with N = prod(S) (rows: student positions,
        summing to 1).
    """
    return torch.softmax(
        _heads(q, groups) @ _heads(k, groups).transpose(-1, -2), dim=-1)


def tat_reconfigure(q: Tensor,
                    k: Tensor,
                    v: Tensor,
                    groups: int = 1,
                    chunk_size: Union[int, str, None] = 'auto',
                    return_map: bool = False
                    ) -> Tuple[Tensor, Optional[Tensor]]:
    r"""Reconfigure the student: :math:`f_s' = \mathrm{softmax}_j(q_i \cdot
    k_j)\, v` in each of ``groups`` channel groups.

    The channels are split into ``groups`` contiguous groups (group ``g`` =
    channels ``[g*C/G, (g+1)*C/G)``); in each, every position ``i`` of
    ``q`` attends to all positions ``j`` of ``k`` (softmax over ``j``, no
    scaling) and gathers ``v``.

    Args:
        q (Tensor): Queries (B, C, *S), the embedded student.
        k (Tensor): Keys (B, C, *S), the embedded teacher.
        v (Tensor): Values (B, C, *S), the embedded student.
        groups (int): G, a divisor of C. Defaults to 1.
        chunk_size (int | str, optional): Query chunk of
            :func:`~mmkd_ext.models.utils.softmax_attention` (``'auto'``:
            chosen from the number of positions; ``None``: the direct
            form). Defaults to ``'auto'``.
        return_map (bool): Also return the TaT map
            (:func:`tat_attention`), computed directly (materialised) and
            used for the output. Defaults to False.

    Returns:
        tuple: ``f_s'`` (B, C, *S) and the map (B, G, N, N) with
        N = prod(S) (rows: student positions, summing to 1), or None.
    """
    vh = _heads(v, groups)
    if return_map:
        attn = tat_attention(q, k, groups)
        out = attn @ vh
    else:
        attn = None
        out = softmax_attention(_heads(q, groups), _heads(k, groups), vh,
                                scale=1.0, chunk_size=chunk_size)
    return out.transpose(-1, -2).reshape(v.shape), attn


def _grid_map(attn: Tensor, query_hw: Sequence[int],
              key_hw: Sequence[int]) -> Tensor:
    """(B, G, Nq, Nk) -> (B, G, hq, wq, hk, wk)."""
    return attn.reshape(*attn.shape[:2], *query_hw, *key_hw)


class TaTEmbedding(nn.Module):
    r"""The TaT embeddings :math:`\gamma, \theta, \phi`.

    ``q = gamma(f_s)`` and ``v = phi(f_s)`` are conv (no bias, Cs -> Ct) +
    BatchNorm; ``k = theta(f_t)`` is conv + BatchNorm (Ct -> Ct) or the
    identity. All are trained with the student; the teacher map is detached
    first (``theta`` still receives gradients).

    Args:
        student_channels (int): Cs.
        teacher_channels (int): Ct.
        kernel_size (int): Conv kernel size (odd). Defaults to 1.
        teacher_embed (bool): ``theta`` is conv + BN (True) or the identity
            (False). Defaults to True.
        per_sample_norm (bool): Per-sample BN statistics
            (:class:`PerSampleBatchNorm2d`). Defaults to False.
        owner (str): Name used in error messages. Defaults to
            ``'TaTEmbedding'``.
    """

    def __init__(self,
                 student_channels: int,
                 teacher_channels: int,
                 kernel_size: int = 1,
                 teacher_embed: bool = True,
                 per_sample_norm: bool = False,
                 owner: str = 'TaTEmbedding') -> None:
        super().__init__()
        self.student_channels = student_channels
        self.teacher_channels = teacher_channels
        self.owner = owner
        self.embed_query = build_tat_embedding(
            student_channels, teacher_channels, kernel_size, per_sample_norm)
        self.embed_value = build_tat_embedding(
            student_channels, teacher_channels, kernel_size, per_sample_norm)
        self.embed_key = build_tat_embedding(
            teacher_channels, teacher_channels, kernel_size,
            per_sample_norm) if teacher_embed else nn.Identity()

    def forward(self, s_feature: Tensor,
                t_feature: Tensor) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
        """Embed the maps.

        Args:
            s_feature (Tensor): Student map (B, Cs, H, W).
            t_feature (Tensor): Teacher map (B, Ct, H, W).

        Returns:
            tuple: q, k, v (B, Ct, H, W) and the detached teacher map.
        """
        _check_maps(self.owner, s_feature=s_feature, t_feature=t_feature)
        if (s_feature.shape[1] != self.student_channels
                or t_feature.shape[1] != self.teacher_channels):
            raise ValueError(
                f'{self.owner}: built for student_channels='
                f'{self.student_channels}, teacher_channels='
                f'{self.teacher_channels}, got s_feature '
                f'{tuple(s_feature.shape)} and t_feature '
                f'{tuple(t_feature.shape)}')
        t_feature = t_feature.detach()
        return (self.embed_query(s_feature), self.embed_key(t_feature),
                self.embed_value(s_feature), t_feature)


@MODELS.register_module()
class TaTLoss(nn.Module):
    r"""One-to-all Target-aware Transformer loss (TaT, CVPR 2022).

    `Knowledge Distillation via the Target-aware Transformer
    <https://arxiv.org/abs/2205.10793>`_. With the student map :math:`f_s`
    (B, Cs, H, W), the teacher map :math:`f_t` (B, Ct, H, W) and N = H * W,
    in each of G contiguous channel groups:

    .. math::

        A = \mathrm{softmax}_j\big(\gamma(f_s)_i \cdot \theta(f_t)_j\big)
        \in \mathbb{R}^{B \times G \times N \times N}, \qquad
        f_s' = A\, \phi(f_s), \qquad
        \mathcal{L} = w \cdot \frac{1}{B C_t H W}
        \lVert f_s' - f_t \rVert_2^2

    :math:`\gamma, \phi`: conv (no bias, Cs -> Ct) + BN; :math:`\theta`: conv
    + BN (Ct -> Ct, segmentation) or the identity (``teacher_embed=False``,
    ImageNet). The student pixel is the query and the softmax runs over
    teacher positions, without ``1/sqrt(d)`` scaling or temperature, as in
    the authors' code (the paper's first formula has the transposed map).
    The target is the raw teacher map, detached (not :math:`\theta(f_t)`).

    :math:`A` is not materialised: the attention uses
    :func:`~mmkd_ext.models.utils.softmax_attention` (fused kernel on CUDA,
    query chunks recomputed in backward elsewhere), equal in value and
    gradient to the direct form. ``return_map=True`` computes :math:`A`
    directly and returns it as well (for heat maps).

    Note:
        Without scaling the softmax is nearly one-hot, and many of its
        float32 probabilities are subnormal (about a quarter at 16384
        positions, d = 512), which x86 CPUs process 20-50x slower. The
        chunked path keeps them out itself; the direct form
        (``chunk_size=None``, ``return_map=True``) does not: on CPU, call
        ``torch.set_flush_denormal(True)`` at the start of the process,
        before torch's first multi-threaded operation (threads created
        earlier keep their own setting). GPUs are not affected.

    Args:
        student_channels (int): Cs.
        teacher_channels (int): Ct, divisible by ``groups``.
        kernel_size (int): Kernel of the embedding convs: 1 (segmentation) or
            3 (ImageNet, padding 1). Defaults to 1.
        teacher_embed (bool): :math:`\theta` is conv + BN (True) or the
            identity (False, the authors' ImageNet setting). Defaults to
            True.
        groups (int): G, the number of heads. Defaults to 1.
        per_sample_norm (bool): Normalise each sample with its own BN
            statistics (see :class:`PerSampleBatchNorm2d`), as the authors'
            segmentation distiller. Defaults to False (batch statistics, as
            their ImageNet code).
        loss_weight (float): w. Defaults to 1.0.
        chunk_size (int | str, optional): Query chunk size on the chunked
            path (``'auto'``: chosen from the number of positions); None
            computes the direct form. Defaults to ``'auto'``.
    """

    def __init__(self,
                 student_channels: int,
                 teacher_channels: int,
                 kernel_size: int = 1,
                 teacher_embed: bool = True,
                 groups: int = 1,
                 per_sample_norm: bool = False,
                 loss_weight: float = 1.0,
                 chunk_size: Union[int, str, None] = 'auto') -> None:
        super().__init__()
        if groups < 1 or teacher_channels % groups:
            raise ValueError(f'TaTLoss: teacher_channels={teacher_channels} '
                             f'is not divisible by groups={groups}')
        self.embedding = TaTEmbedding(student_channels, teacher_channels,
                                      kernel_size, teacher_embed,
                                      per_sample_norm, owner='TaTLoss')
        self.groups = groups
        self.loss_weight = loss_weight
        check_chunk_size(chunk_size, 'TaTLoss')
        self.chunk_size = chunk_size

    def forward(self,
                s_feature: Tensor,
                t_feature: Tensor,
                return_map: bool = False
                ) -> Union[Tensor, Tuple[Tensor, Tensor]]:
        """Compute the loss.

        Args:
            s_feature (Tensor): Student map (B, Cs, H, W).
            t_feature (Tensor): Teacher map (B, Ct, H, W).
            return_map (bool): Also return the TaT map (B, G, N, N).

        Returns:
            Tensor | tuple: The loss, or (loss, map).
        """
        q, k, v, target = self.embedding(s_feature, t_feature)
        out, attn = tat_reconfigure(q, k, v, self.groups, self.chunk_size,
                                    return_map)
        loss = self.loss_weight * F.mse_loss(out, target)
        return (loss, attn) if return_map else loss

    def attention_map(self, s_feature: Tensor, t_feature: Tensor) -> Tensor:
        """The TaT map of the forward, formed explicitly (for heat maps).

        Args:
            s_feature (Tensor): Student map (B, Cs, H, W).
            t_feature (Tensor): Teacher map (B, Ct, H, W).

        Returns:
            Tensor: (B, G, H, W, H, W): the weight of each teacher position
            for each student position, per head.
        """
        q, k, _, _ = self.embedding(s_feature, t_feature)
        hw = s_feature.shape[-2:]
        return _grid_map(tat_attention(q, k, self.groups), hw, hw)


class TaTPatchGroupLoss(nn.Module):
    r"""TaT patch-group distillation :math:`L^P`, a term of
    :class:`TaTSegLoss` (not registered: no recorder produces its embedded
    inputs).

    Takes the embedded :math:`q = \gamma(f_s)`, :math:`k = \theta(f_t)`,
    :math:`v = \phi(f_s)` and the raw teacher map, all (B, C, H, W). With
    patch counts (n, m): patch size ph = H // n, pw = W // m; nh = H // ph,
    nw = W // pw patches, row-major (p = i * nw + j); the bottom and right
    remainders are dropped. The P = nh * nw patches are stacked on channels,
    (B, P * C, ph, pw) with channel index p * C + c, and one-to-all TaT runs
    on that tensor with G = ``groups``: attention over the ph * pw positions
    inside a patch, a position's feature being the concatenation of its
    group's P / g consecutive patches (if g > P, a patch's channels are split
    across groups). No positional embedding.

    .. math::

        L^P = w \cdot \mathrm{mean}\big((\mathrm{TaT}_g(\mathrm{stack}(q),
        \mathrm{stack}(k), \mathrm{stack}(v)) -
        \mathrm{stack}(f_t))^2\big)

    P * C must be divisible by g; this is checked when the module is built
    if ``channels`` and ``feat_size`` are given, otherwise at every forward.

    Args:
        patch_counts (int | tuple[int, int]): (n, m), patches along H and W.
        groups (int): g.
        channels (int, optional): C, for the build-time check.
        feat_size (tuple[int, int], optional): Expected (H, W), for the
            build-time check only (other sizes are checked when seen).
        loss_weight (float): w. Defaults to 1.0.
        chunk_size (int, optional): See :func:`tat_reconfigure`.
    """

    def __init__(self,
                 patch_counts: IntPair,
                 groups: int,
                 channels: Optional[int] = None,
                 feat_size: Optional[IntPair] = None,
                 loss_weight: float = 1.0,
                 chunk_size: Union[int, str, None] = 'auto') -> None:
        super().__init__()
        self.patch_counts = _pair(patch_counts, 'patch_counts',
                                  'TaTPatchGroupLoss')
        if not isinstance(groups, int) or groups < 1:
            raise ValueError('TaTPatchGroupLoss: groups must be a positive '
                             f'int, got {groups!r}')
        self.groups = groups
        self.loss_weight = loss_weight
        check_chunk_size(chunk_size, 'TaTPatchGroupLoss')
        self.chunk_size = chunk_size
        if channels is not None and feat_size is not None:
            self.layout(*_pair(feat_size, 'feat_size', 'TaTPatchGroupLoss'),
                        channels)

    def layout(self, h: int, w: int, c: int) -> Tuple[int, int, int, int]:
        """Patch size and counts (ph, pw, nh, nw) of an (H, W) map with C
        channels; raises ValueError if the settings do not fit it."""
        n, m = self.patch_counts
        if n > h or m > w:
            raise ValueError(
                f'TaTPatchGroupLoss: patch_counts (n, m)=({n}, {m}) exceed '
                f'the feature map size (H, W)=({h}, {w})')
        ph, pw = h // n, w // m
        nh, nw = h // ph, w // pw
        if (nh * nw * c) % self.groups:
            raise ValueError(
                f'TaTPatchGroupLoss: P * C = {nh * nw} patches * {c} '
                f'channels = {nh * nw * c} is not divisible by groups='
                f'{self.groups} (patch size {ph}x{pw} on an {h}x{w} map)')
        return ph, pw, nh, nw

    @staticmethod
    def stack_patches(x: Tensor, ph: int, pw: int, nh: int,
                      nw: int) -> Tensor:
        """(B, C, H, W) -> (B, nh * nw * C, ph, pw), channel p * C + c."""
        b, c = x.shape[:2]
        x = x[:, :, :nh * ph, :nw * pw].reshape(b, c, nh, ph, nw, pw)
        return x.permute(0, 2, 4, 1, 3, 5).reshape(b, nh * nw * c, ph, pw)

    def forward(self, q: Tensor, k: Tensor, v: Tensor,
                t_feature: Tensor) -> Tensor:
        """Compute :math:`L^P`.

        Args:
            q, k, v (Tensor): Embedded maps (B, C, H, W).
            t_feature (Tensor): Raw teacher map (B, C, H, W), detached here.
        """
        _, c, h, w = _check_embedded('TaTPatchGroupLoss', q, k, v, t_feature)
        size = self.layout(h, w, c)
        q, k, v, target = (self.stack_patches(x, *size)
                           for x in (q, k, v, t_feature.detach()))
        out, _ = tat_reconfigure(q, k, v, self.groups, self.chunk_size)
        return self.loss_weight * F.mse_loss(out, target)


class TaTAnchorPointLoss(nn.Module):
    r"""TaT anchor-point distillation :math:`L^A`, a term of
    :class:`TaTSegLoss` (not registered: no recorder produces its embedded
    inputs).

    Takes the embedded q, k, v and the raw teacher map, all (B, C, H, W).
    With anchor COUNTS (a_h, a_w), all four are average-pooled with kernel =
    stride = (H // a_h, W // a_w) (no padding, floor: H // kh x W // kw
    anchors, at least a_h x a_w), then one-to-all TaT with G = 1 runs over
    all anchors:

    .. math::

        L^A = w \cdot \mathrm{mean}\big((\mathrm{TaT}_1(\bar q, \bar k,
        \bar v) - \bar f_t)^2\big)

    Args:
        anchor_counts (int | tuple[int, int]): (a_h, a_w).
        feat_size (tuple[int, int], optional): Expected (H, W), checked when
            the module is built (other sizes are checked when seen).
        loss_weight (float): w. Defaults to 1.0.
        chunk_size (int, optional): See :func:`tat_reconfigure`.
    """

    def __init__(self,
                 anchor_counts: IntPair,
                 feat_size: Optional[IntPair] = None,
                 loss_weight: float = 1.0,
                 chunk_size: Union[int, str, None] = 'auto') -> None:
        super().__init__()
        self.loss_weight = loss_weight
        check_chunk_size(chunk_size, 'TaTAnchorPointLoss')
        self.chunk_size = chunk_size
        self.anchor_counts = _pair(anchor_counts, 'anchor_counts',
                                   'TaTAnchorPointLoss')
        if feat_size is not None:
            self.pool_size(
                *_pair(feat_size, 'feat_size', 'TaTAnchorPointLoss'))

    def pool_size(self, h: int, w: int) -> Tuple[int, int]:
        """Pooling kernel (= stride) on an (H, W) map; raises ValueError if
        there are more anchors than positions."""
        a_h, a_w = self.anchor_counts
        if a_h > h or a_w > w:
            raise ValueError(
                f'TaTAnchorPointLoss: anchor_counts (a_h, a_w)=({a_h}, '
                f'{a_w}) exceed the feature map size (H, W)=({h}, {w})')
        return h // a_h, w // a_w

    def forward(self, q: Tensor, k: Tensor, v: Tensor,
                t_feature: Tensor) -> Tensor:
        """Compute :math:`L^A`.

        Args:
            q, k, v (Tensor): Embedded maps (B, C, H, W).
            t_feature (Tensor): Raw teacher map (B, C, H, W), detached here.
        """
        _check_embedded('TaTAnchorPointLoss', q, k, v, t_feature)
        q, k, v, target = self._anchors(q, k, v, t_feature.detach())
        out, _ = tat_reconfigure(q, k, v, 1, self.chunk_size)
        return self.loss_weight * F.mse_loss(out, target)

    def _anchors(self, *maps: Tensor) -> Tuple[Tensor, ...]:
        """Average-pool (B, C, H, W) maps to the anchors."""
        kernel = self.pool_size(*maps[0].shape[-2:])
        return tuple(F.avg_pool2d(x, kernel, kernel) for x in maps)

    def attention_map(self, q: Tensor, k: Tensor) -> Tensor:
        """The map among the anchors of the forward, formed explicitly:
        (B, 1, h, w, h, w) for the h x w anchors of the embedded ``q`` and
        ``k`` (B, C, H, W)."""
        q, k = self._anchors(q, k)
        hw = q.shape[-2:]
        return _grid_map(tat_attention(q, k), hw, hw)


@MODELS.register_module()
class TaTSegLoss(nn.Module):
    r"""TaT segmentation loss as the authors train it (one module).

    Embeds once (:class:`TaTEmbedding`: 1x1 conv + BN for
    :math:`\gamma, \theta, \phi`) and combines the two terms on the shared
    q, k, v:

    .. math::

        \mathcal{L} = \alpha \big(\beta\, L^P(q, k, v, f_t) +
        \gamma\, L^A(q, k, v, f_t)\big)

    (:class:`TaTPatchGroupLoss`, :class:`TaTAnchorPointLoss`; batch-mean
    MSEs). The paper writes :math:`\delta L^P + \zeta L^A` with
    :math:`\delta = \alpha\beta`, :math:`\zeta = \alpha\gamma`.

    The authors' distiller processes one sample at a time, so each BN of the
    embeddings normalises every sample alone; ``per_sample_norm=True`` (the
    default) reproduces this with :class:`PerSampleBatchNorm2d`, and the
    loss then equals the mean over samples of the per-sample losses. Batch
    statistics (``False``) give different values and gradients.

    In training mode the unweighted terms are also logged through mmengine's
    ``MessageHub`` as ``{log_prefix}patch_loss`` and
    ``{log_prefix}anchor_loss`` (logging only: mmrazor back-propagates the
    returned value alone); :meth:`loss_terms` returns them.

    Args:
        student_channels (int): Cs.
        teacher_channels (int): Ct.
        patch_counts (int | tuple[int, int]): (n, m) of :math:`L^P`.
        groups (int): g of :math:`L^P`.
        anchor_counts (int | tuple[int, int]): (a_h, a_w) of :math:`L^A`.
        alpha (float): Weight of both terms. Defaults to 0.1.
        beta (float): Weight of :math:`L^P`. Defaults to 0.5.
        gamma (float): Weight of :math:`L^A`. Defaults to 0.5.
        kernel_size (int): Embedding conv kernel. Defaults to 1.
        per_sample_norm (bool): Per-sample BN statistics. Defaults to True.
        feat_size (tuple[int, int], optional): Expected (H, W) for the
            build-time checks of both terms.
        log_terms (bool): Log the terms in training. Defaults to True.
        log_prefix (str): Prefix of the logged names. Defaults to
            ``'distill.tat_'``.
        chunk_size (int, optional): See :func:`tat_reconfigure`.
    """

    def __init__(self,
                 student_channels: int,
                 teacher_channels: int,
                 patch_counts: IntPair,
                 groups: int,
                 anchor_counts: IntPair,
                 alpha: float = 0.1,
                 beta: float = 0.5,
                 gamma: float = 0.5,
                 kernel_size: int = 1,
                 per_sample_norm: bool = True,
                 feat_size: Optional[IntPair] = None,
                 log_terms: bool = True,
                 log_prefix: str = 'distill.tat_',
                 chunk_size: Union[int, str, None] = 'auto') -> None:
        super().__init__()
        check_chunk_size(chunk_size, 'TaTSegLoss')
        self.embedding = TaTEmbedding(student_channels, teacher_channels,
                                      kernel_size, True, per_sample_norm,
                                      owner='TaTSegLoss')
        self.patch_group = TaTPatchGroupLoss(patch_counts, groups,
                                             teacher_channels, feat_size,
                                             chunk_size=chunk_size)
        self.anchor_point = TaTAnchorPointLoss(anchor_counts, feat_size,
                                               chunk_size=chunk_size)
        self.alpha = alpha
        self.beta = beta
        self.gamma = gamma
        self.log_terms = log_terms
        self.log_prefix = log_prefix

    def loss_terms(self, s_feature: Tensor,
                   t_feature: Tensor) -> Dict[str, Tensor]:
        """The unweighted terms ``{'patch': L^P, 'anchor': L^A}``.

        Args:
            s_feature (Tensor): Student map (B, Cs, H, W).
            t_feature (Tensor): Teacher map (B, Ct, H, W).
        """
        q, k, v, target = self.embedding(s_feature, t_feature)
        return dict(
            patch=self.patch_group(q, k, v, target),
            anchor=self.anchor_point(q, k, v, target))

    def forward(self, s_feature: Tensor, t_feature: Tensor) -> Tensor:
        """Compute ``alpha * (beta * L^P + gamma * L^A)``.

        Args:
            s_feature (Tensor): Student map (B, Cs, H, W).
            t_feature (Tensor): Teacher map (B, Ct, H, W).
        """
        terms = self.loss_terms(s_feature, t_feature)
        if self.log_terms and self.training:
            hub = MessageHub.get_current_instance()
            for name, value in terms.items():
                hub.update_scalar(f'train/{self.log_prefix}{name}_loss',
                                  value.detach())
        return self.alpha * (self.beta * terms['patch'] +
                             self.gamma * terms['anchor'])

    def attention_map(self, s_feature: Tensor, t_feature: Tensor) -> Tensor:
        """The anchor-point term's map among the anchors, formed explicitly
        (for heat maps): (B, 1, h, w, h, w), see
        :meth:`TaTAnchorPointLoss.attention_map`.

        Args:
            s_feature (Tensor): Student map (B, Cs, H, W).
            t_feature (Tensor): Teacher map (B, Ct, H, W).
        """
        q, k, _, _ = self.embedding(s_feature, t_feature)
        return self.anchor_point.attention_map(q, k)
