# Copyright (c) mmkd_ext contributors. All rights reserved.
from typing import Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmrazor.registry import MODELS
from torch import Tensor

from ..utils import check_chunk_size, softmax_attention


@MODELS.register_module()
class CanKDLoss(nn.Module):
    r"""PyTorch version of `CanKD: Cross-Attention-based Non-local operation
    for Feature-based Knowledge Distillation (WACV 2026)
    <https://arxiv.org/abs/2511.21503>`_.

    Every student position attends to the (max-pooled) teacher positions; the
    attended teacher features, projected back to C channels, are added to the
    student map and the result is matched to the teacher map after instance
    normalization. With the student map :math:`x` and the teacher map
    :math:`y`, both (B, C, H, W), :math:`d = \max(C // 2, 1)`, N = H * W
    student positions and M teacher positions left after max-pooling with
    kernel = stride = ``pool_size`` (floor):

    .. math::

        \theta = \mathrm{conv}_{C \to d}(x), \quad
        \phi = \mathrm{pool}(\mathrm{conv}_{C \to d}(y)), \quad
        g = \mathrm{pool}(\mathrm{conv}_{C \to d}(y))

        a_i = \sum_j f_{ij} \, g_j, \qquad
        z = \mathrm{BN}(W a) + x, \qquad
        \mathcal{L} = \mu \cdot \mathrm{mean}\big((\mathrm{IN}(z) -
        \mathrm{IN}(y))^2\big)

    with the affinity :math:`f` (B, N, M) one of

    - ``'dot_product'`` (the paper's): :math:`f_{ij} = \theta_i^\top \phi_j
      / M`;
    - ``'embedded_gaussian'``: :math:`f_{ij} = \mathrm{softmax}_j(
      \theta_i^\top \phi_j)`, without :math:`1/\sqrt{d}`;
    - ``'gaussian'``: :math:`f_{ij} = \mathrm{softmax}_j(x_i^\top
      \mathrm{pool}(y)_j)` (no :math:`\theta`, :math:`\phi`; :math:`g` kept).

    :math:`W` is a 1x1 conv d -> C and BN a BatchNorm over C whose weight and
    bias start at 0, so the block starts as the identity (:math:`z = x`).
    ``residual=False`` drops ``+ x``. IN is an instance norm without affine
    parameters (eps 1e-5); the mean runs over all B * C * H * W elements.

    The (B, N, M) matrix is never formed. ``'dot_product'`` has no softmax, so
    :math:`a = (g \phi^\top / M)\, \theta` is computed through a (B, d, d)
    matrix (exact reassociation). The softmax affinities use
    :func:`~mmkd_ext.models.utils.softmax_attention` with ``scale=1.0``
    (fused attention on CUDA, query chunks recomputed in backward elsewhere).
    Value and gradients equal the full-matrix form.

    The teacher map is only a target: it is detached, and gradients reach
    ``phi`` and ``g`` through the student-side loss. The learnable parts
    belong to the distiller, so they are trained with the student and saved
    in the algorithm's checkpoints, but are not part of the student.

    Note:
        The authors' code computes ``loss_weight * mse / 2``; here
        ``loss_weight`` is :math:`\mu` itself, so their ``loss_weight=10``
        is ``loss_weight=5`` here.

    Args:
        in_channels (int): Channels C of both maps. A student with different
            channels needs a connector (e.g. ``ConvModuleConnector``) first.
        affinity (str): ``'dot_product'``, ``'embedded_gaussian'`` or
            ``'gaussian'``. Defaults to ``'dot_product'``.
        pool_size (int): Kernel and stride of the teacher-side max-pooling.
            Defaults to 2.
        residual (bool): Add the student map to the attended features.
            Defaults to True.
        loss_weight (float): :math:`\mu`. Defaults to 1.0 (the paper's
            setting is 5.0, which the configs state).
        chunk_size (int | str, optional): Queries per chunk for the
            softmax affinities on the chunked path (CPU, or CUDA inputs no
            fused kernel takes); ``'auto'``: chosen from the map size (see
            :func:`~mmkd_ext.models.utils.attention.auto_chunk_size`);
            ``None``: the direct form on every device. Defaults to
            ``'auto'``.

    Shapes:
        - s_feature: (B, C, H, W), student map.
        - t_feature: (B, C, H, W), teacher map.
        - output: scalar.
    """
    affinities = ('dot_product', 'embedded_gaussian', 'gaussian')

    def __init__(self,
                 in_channels: int,
                 affinity: str = 'dot_product',
                 pool_size: int = 2,
                 residual: bool = True,
                 loss_weight: float = 1.0,
                 chunk_size: Union[int, str, None] = 'auto') -> None:
        super().__init__()
        if affinity not in self.affinities:
            raise ValueError(f'CanKDLoss: affinity must be one of '
                             f'{self.affinities}, got {affinity!r}')
        if not isinstance(in_channels, int) or in_channels < 1:
            raise ValueError(f'CanKDLoss: in_channels must be a positive '
                             f'int, got {in_channels!r}')
        if not isinstance(pool_size, int) or pool_size < 1:
            raise ValueError(f'CanKDLoss: pool_size must be a positive int, '
                             f'got {pool_size!r}')
        check_chunk_size(chunk_size, 'CanKDLoss')
        self.in_channels = in_channels
        self.inter_channels = max(in_channels // 2, 1)
        self.affinity = affinity
        self.pool_size = pool_size
        self.residual = residual
        self.loss_weight = loss_weight
        self.chunk_size = chunk_size

        d = self.inter_channels
        if affinity != 'gaussian':
            self.theta = nn.Conv2d(in_channels, d, 1)
            self.phi = nn.Conv2d(in_channels, d, 1)
        self.g = nn.Conv2d(in_channels, d, 1)
        self.out_proj = nn.Conv2d(d, in_channels, 1)
        self.out_bn = nn.BatchNorm2d(in_channels)
        nn.init.zeros_(self.out_bn.weight)
        nn.init.zeros_(self.out_bn.bias)

    def _check_inputs(self, s_feature: Tensor, t_feature: Tensor) -> None:
        s_shape, t_shape = tuple(s_feature.shape), tuple(t_feature.shape)
        if s_feature.dim() != 4 or t_feature.dim() != 4:
            raise ValueError(
                f'CanKDLoss expects (B, C, H, W) maps, got student '
                f'{s_shape} and teacher {t_shape}')
        if s_shape != t_shape:
            raise ValueError(
                f'CanKDLoss: student and teacher maps must have the same '
                f'shape, got student {s_shape} and teacher {t_shape} (add a '
                f'connector on the student side if the channels differ)')
        if s_shape[1] != self.in_channels:
            raise ValueError(
                f'CanKDLoss: in_channels={self.in_channels} but the maps '
                f'have {s_shape[1]} channels (student {s_shape}, teacher '
                f'{t_shape})')
        h, w = s_shape[2:]
        if min(h, w) < self.pool_size or h * w < 2:
            raise ValueError(
                f'CanKDLoss: maps of {h}x{w} positions are too small for '
                f'pool_size={self.pool_size} (student {s_shape}, teacher '
                f'{t_shape})')

    def _pool(self, x: Tensor) -> Tensor:
        """(B, c, H, W) -> (B, c, M) after max-pooling."""
        return F.max_pool2d(x, self.pool_size).flatten(2)

    def _query_key(self, s_feature: Tensor,
                   t_feature: Tensor) -> Tuple[Tensor, Tensor]:
        """Queries (B, d, N) of the student and keys (B, d, M) of the pooled
        teacher (``'gaussian'``: the maps themselves, d = C)."""
        if self.affinity == 'gaussian':
            return s_feature.flatten(2), self._pool(t_feature)
        return (self.theta(s_feature).flatten(2),
                self._pool(self.phi(t_feature)))

    def attend(self, s_feature: Tensor, t_feature: Tensor) -> Tensor:
        """The attended teacher features ``a``, (B, d, H, W)."""
        b, _, h, w = s_feature.shape
        value = self._pool(self.g(t_feature))  # (B, d, M)
        query, key = self._query_key(s_feature, t_feature)
        if self.affinity == 'dot_product':
            # sum_j g_j phi_j^T / M: (B, d, d). Dividing before the sum
            # keeps the entries at the scale of a mean (no fp16 overflow).
            kv = torch.matmul(value, key.transpose(1, 2) / key.shape[-1])
            attended = torch.matmul(kv, query)  # (B, d, N)
        else:
            attended = softmax_attention(
                query.transpose(1, 2),
                key.transpose(1, 2),
                value.transpose(1, 2),
                scale=1.0,
                chunk_size=self.chunk_size).transpose(1, 2)
        return attended.reshape(b, self.inter_channels, h, w)

    def attention_map(self, s_feature: Tensor, t_feature: Tensor) -> Tensor:
        """The affinity :math:`f` of the forward, formed explicitly.

        ``a = f g`` is what :meth:`attend` computes without forming
        :math:`f` (for heat maps; (B, N, M) memory).

        Args:
            s_feature (Tensor): Student map, (B, C, H, W).
            t_feature (Tensor): Teacher map, (B, C, H, W).

        Returns:
            Tensor: (B, 1, H, W, H // p, W // p) with p = ``pool_size``:
            the weight of each pooled teacher position for each student
            position (one head).
        """
        self._check_inputs(s_feature, t_feature)
        b, _, h, w = s_feature.shape
        query, key = self._query_key(s_feature, t_feature.detach())
        affinity = query.transpose(1, 2) @ key  # (B, N, M)
        if self.affinity == 'dot_product':
            affinity = affinity / key.shape[-1]
        else:
            affinity = affinity.softmax(dim=-1)
        p = self.pool_size
        return affinity.reshape(b, 1, h, w, h // p, w // p)

    def forward(self, s_feature: Tensor, t_feature: Tensor) -> Tensor:
        """Forward computation.

        Args:
            s_feature (Tensor): Student map, (B, C, H, W).
            t_feature (Tensor): Teacher map, (B, C, H, W).

        Returns:
            Tensor: The weighted loss, a scalar.
        """
        self._check_inputs(s_feature, t_feature)
        t_feature = t_feature.detach()
        z = self.out_bn(self.out_proj(self.attend(s_feature, t_feature)))
        if self.residual:
            z = z + s_feature
        target = F.instance_norm(t_feature, eps=1e-5)
        loss = F.mse_loss(F.instance_norm(z, eps=1e-5), target)
        return self.loss_weight * loss
