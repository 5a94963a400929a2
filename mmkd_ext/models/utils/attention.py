# Copyright (c) mmkd_ext contributors. All rights reserved.
"""Memory-efficient softmax attention shared by CanKD and TaT.

Both methods compute ``softmax_j(q_i . k_j * scale) v_j`` over a large number
of positions (RetinaNet P3: 16800 queries x 4200 keys; TaT segmentation:
16384 x 16384). Materialising the full (N, M) matrix, and keeping it for the
backward pass, dominates memory. This module computes the same value and the
same gradients without keeping it:

* on CUDA, :func:`torch.nn.functional.scaled_dot_product_attention` (flash /
  memory-efficient kernels, which never store the matrix);
* elsewhere, the queries are processed in chunks and each chunk's forward is
  recomputed during the backward pass (``torch.utils.checkpoint``), so at most
  one ``(chunk_size, M)`` block is alive at any time.

Both paths equal :func:`direct_softmax_attention` (the plain formula) in
value and gradient up to floating-point rounding; the tests check this.
"""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.checkpoint import checkpoint


def direct_softmax_attention(q: Tensor, k: Tensor, v: Tensor,
                             scale: float = 1.0) -> Tensor:
    """Reference attention that materialises the full affinity matrix.

    Args:
        q (Tensor): Queries, shape (..., N, d).
        k (Tensor): Keys, shape (..., M, d).
        v (Tensor): Values, shape (..., M, dv).
        scale (float): Multiplier of the logits ``q . k``. Defaults to 1.

    Returns:
        Tensor: ``softmax(q k^T * scale, dim=-1) v``, shape (..., N, dv).
    """
    attn = torch.softmax(torch.matmul(q, k.transpose(-2, -1)) * scale, dim=-1)
    return torch.matmul(attn, v)


def _chunk(q: Tensor, k: Tensor, v: Tensor, scale: float) -> Tensor:
    return direct_softmax_attention(q, k, v, scale)


def softmax_attention(q: Tensor,
                      k: Tensor,
                      v: Tensor,
                      scale: float = 1.0,
                      chunk_size: Optional[int] = 1024,
                      use_sdpa: Optional[bool] = None) -> Tensor:
    """``softmax_j(q_i . k_j * scale) v_j`` without storing the (N, M) matrix.

    Args:
        q (Tensor): Queries, shape (..., N, d).
        k (Tensor): Keys, shape (..., M, d).
        v (Tensor): Values, shape (..., M, dv).
        scale (float): Multiplier of the logits. CanKD and TaT use 1.0 (no
            ``1/sqrt(d)``), which must be passed explicitly to SDPA.
        chunk_size (int, optional): Queries per chunk on the chunked path.
            ``None`` or a value >= N computes the direct form.
        use_sdpa (bool, optional): Force (True) or forbid (False) the fused
            kernel. ``None`` uses it on CUDA only: on CPU, torch's fused
            kernels keep the full matrix for the backward pass of float64
            inputs and are not faster for float32 at these sizes.

    Returns:
        Tensor: Shape (..., N, dv).
    """
    if q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2]:
        raise ValueError(
            'softmax_attention: incompatible shapes q=%s, k=%s, v=%s' %
            (tuple(q.shape), tuple(k.shape), tuple(v.shape)))
    if use_sdpa is None:
        use_sdpa = q.is_cuda
    if use_sdpa:
        return F.scaled_dot_product_attention(q, k, v, scale=scale)
    n = q.shape[-2]
    if chunk_size is None or chunk_size >= n:
        return direct_softmax_attention(q, k, v, scale)
    needs_grad = torch.is_grad_enabled() and (q.requires_grad
                                              or k.requires_grad
                                              or v.requires_grad)
    outs = []
    for start in range(0, n, chunk_size):
        q_c = q[..., start:start + chunk_size, :]
        if needs_grad:
            outs.append(
                checkpoint(_chunk, q_c, k, v, scale, use_reentrant=False))
        else:
            outs.append(_chunk(q_c, k, v, scale))
    return torch.cat(outs, dim=-2)
