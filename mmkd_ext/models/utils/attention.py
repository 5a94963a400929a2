# Copyright (c) mmkd_ext contributors. All rights reserved.
"""Memory-efficient softmax attention shared by CanKD and TaT.

Both methods compute ``softmax_j(q_i . k_j * scale) v_j`` over a large number
of positions (RetinaNet P3: 16800 queries x 4200 keys; TaT segmentation:
16384 x 16384). Materialising the full (N, M) matrix, and keeping it for the
backward pass, dominates memory. This module computes the same value and the
same gradients without keeping it:

* on CUDA, :func:`torch.nn.functional.scaled_dot_product_attention` (flash /
  memory-efficient kernels, which never store the matrix), when one of its
  fused kernels takes the inputs (its math fallback would materialise the
  matrix: the chunked path below is used then);
* elsewhere, the queries are processed in chunks. Only the output, the
  row maxima of the logits and the row sums of the exponentials
  ``E = exp(x - max)`` are kept; the backward pass recomputes each chunk's
  ``E`` with the forward's own operations and applies the softmax-attention
  gradient chunk by chunk on ``E`` and the row-scaled ``dO / s`` (the
  flash-attention backward; see :class:`_ChunkedSoftmaxAttention`). This
  costs one extra ``q k^T`` product per recomputed chunk (7 matrix products
  instead of 6), against two extra products and a second softmax for
  recomputation by checkpointing. The forward keeps the blocks of its last
  chunks for the backward, as many as fit with the backward's gradient
  block in half a full matrix (:func:`kept_blocks`: 3 of 8 with the
  ``'auto'`` chunks), which skips their recomputation; a kept block equals a
  recomputed one bit for bit. Every chunk of a pass writes its blocks into
  the same buffers (:func:`_block`: a fresh block is new pages, zero-filled
  by the kernel on first touch).
  ``chunk_size='auto'`` (the default) takes an eighth of the queries per
  chunk, at least :data:`MIN_AUTO_CHUNK`, the direct form below four times
  that (:func:`auto_chunk_size`): a rule on the memory budget and the map
  size, not on one CPU's timings.
  Probabilities below eps**2 of their row are computed as exact zeros
  (below the rounding of the row sum; see :func:`_exp_flush_`), which keeps
  the CPU off subnormal arithmetic.

Both paths equal :func:`direct_softmax_attention` (the plain formula) in
value and gradient up to floating-point rounding; the tests check this.

Where the CPU time goes (issue 19; AMD EPYC, Zen 4, 2 vCPUs under KVM,
float32, forward + backward, no ``1/sqrt(d)``, torch's 2 threads, idle
machine, 2026-12-06; torch.profiler per operation). CanKD gaussian at
RetinaNet P3 (B = 2, 16800 x 4200, d = 256, dv = 128, no key gradient),
the direct form, 2.2 s: ``q k^T`` 0.53 s, ``dS k`` 0.42 s, ``dO v^T``
0.32 s, ``P v`` 0.24 s, ``P^T dO`` 0.22 s, softmax 0.17 s and its backward
0.16 s. The chunked path before this version, 2.8 s: the same products
plus the recomputed ``q k^T`` (0.58 s), but every product writing a fresh
(B, 4200, 4200) block paid 45 ms of page faults on its 141 MiB (a product
into a reused buffer: 111 ms, into a fresh one: 150 ms); the elementwise
passes (max, subtract, clamp, ``exp``, threshold, sum; 0.36 s in all) cost
what the direct form's softmax does. Reused buffers brought it to 2.4 s,
the kept blocks to parity.

``python benchmarks/bench_attention.py --cases cankd_eg cankd_g tat_4096
--variants ours sdpa --repeat 7`` on that idle machine (no flush), speed
(direct time / time, median [range] of 7 rounds) and extra peak memory
against the direct form: CanKD embedded-gaussian (d = dv = 128) 1.06x
[1.05-1.08], 0.20 (SDPA 1.35x, 0.05); gaussian 1.02x [0.99-1.04], 0.21
(SDPA, math kernel since dv != d: 0.91x, 1.01); TaT one-to-all at 4096
positions (d = dv = 512) 0.99x [0.91-1.02], 0.26 (SDPA 0.94x, 0.22);
direct 1.98 s, 2.19 s, 1.33 s. TaT at 16384 positions (``--cases
tat_16384 --repeat 2``): 1.03x [0.98-1.09], 0.19 (SDPA 1.13x, 0.05); direct
26.2 s. The same command before this version (the
direct form then multiplied by a scale of 1, an extra pass): 1.13x, 0.97x,
1.02x. Against the direct form as it is now, the version before this one
(``--variants ours before --baseline`` its file, chunks of 4096 / 1024
rows, 5 rounds, ``--no-memory``) measured 0.85x, 0.82x, 0.92x and this
one 1.06x, 1.00x [0.97-1.03], 0.97x [0.94-0.97] in the same run: the
gaussian and TaT cases are at parity within the run-to-run spread.

The CPU does not use torch's fused kernel by default, although it won at
CanKD's embedded-gaussian size above: its backward has no guard against
subnormals (with CanKD's and TaT's unscaled, peaked logits: 13.5 s instead
of 0.6 s at 4096 positions, measured earlier on this machine; the random
projections of the benchmark give milder logits), and flushing
(``torch.set_flush_denormal(True)``) reaches torch's worker threads only
when set before they exist, which a library cannot ensure.
"""
import math
from typing import Optional, Union

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.autograd.function import once_differentiable
from torch.nn.attention import SDPBackend


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
    logits = torch.matmul(q, k.transpose(-2, -1))
    if scale != 1.0:
        logits = logits * scale
    return torch.matmul(torch.softmax(logits, dim=-1), v)


def _exp_flush_(x: Tensor) -> Tensor:
    """In-place ``exp`` of logits minus their row maximum (<= 0), with
    exact zeros for results below eps**2 (float32: 1.4e-14; the blocks are
    float32 or float64, see :func:`softmax_attention`).

    The row sums are >= 1 (the maximum gives exp(0)), so all the dropped
    terms of a row together (< M * eps**2) stay below the rounding of its
    sum (eps) for any M < 1/eps (8e6 keys in float32). Without this, peaked
    affinities (CanKD's 'gaussian': logits x_i . y_j over 256 channels) fill
    the blocks with subnormal numbers (exp below -87 in float32, and their
    products in the backward pass), which CPUs process many times slower.
    The clamp keeps ``exp`` itself off its slow paths (underflow, -inf).
    """
    log_eps2 = 2 * math.log(torch.finfo(x.dtype).eps)
    x.clamp_(min=log_eps2 - 1).exp_()
    return torch.threshold_(x, math.exp(log_eps2), 0.0)


def _as_3d(x: Tensor, batch: torch.Size) -> Tensor:
    """(..., a, b) broadcast to ``batch`` -> (prod(batch), a, b)."""
    return x.expand(batch + x.shape[-2:]).reshape((-1, ) + x.shape[-2:])


def _block(flat: Tensor, batch: int, rows: int, keys: int) -> Tensor:
    """The contiguous (B', rows, M) block at the start of the 1-d buffer
    ``flat``.

    Every chunk of a pass writes its blocks into the same buffers: a fresh
    buffer of a block's size (above glibc's mmap threshold, 32 MiB at most)
    is new pages, which the kernel zero-fills on first touch: 45 ms for
    141 MiB on the 2-vCPU AMD EPYC (KVM) of issue 19, as much as the
    (2, 4200, 128) x (2, 128, 4200) product that writes it.
    """
    return flat[:batch * rows * keys].view(batch, rows, keys)


def _logits(q_chunk: Tensor, k_t: Tensor, scale: float,
            block: Tensor) -> Tensor:
    """The scaled logits of a chunk, written into ``block``: the forward
    and the backward's recomputation both call this, so that their
    exponentials (and a kept block and a recomputed one) are equal bit for
    bit."""
    logits = torch.bmm(q_chunk, k_t, out=block)
    return logits.mul_(scale) if scale != 1.0 else logits


#: Fewest query rows per chunk that ``chunk_size='auto'`` uses (below
#: ``4 * MIN_AUTO_CHUNK`` queries it takes the direct form).
MIN_AUTO_CHUNK = 512


def check_chunk_size(chunk_size: Union[int, str, None], where: str) -> None:
    """Raise a ``ValueError`` naming ``where`` unless ``chunk_size`` is a
    positive int, ``'auto'`` or None."""
    if chunk_size in (None, 'auto'):
        return
    if (isinstance(chunk_size, bool) or not isinstance(chunk_size, int)
            or chunk_size < 1):
        raise ValueError(f"{where}: chunk_size must be a positive int, "
                         f"'auto' or None, got {chunk_size!r}")


def auto_chunk_size(n: int) -> int:
    """Queries per chunk for ``chunk_size='auto'``, from the number of
    queries ``n``: an eighth of them, at least :data:`MIN_AUTO_CHUNK`, so
    that the blocks alive in the backward pass (three kept, one gradient
    block: :func:`kept_blocks`) take half of one full matrix (the direct
    form's extra peak is ~2.5 matrices: the chunked path's is then ~0.2-0.3
    of it); ``n`` (the direct form) below ``4 * MIN_AUTO_CHUNK`` queries,
    where no block would be kept.
    """
    if n < 4 * MIN_AUTO_CHUNK:
        return n
    return max(-(-n // 8), MIN_AUTO_CHUNK)


def kept_blocks(n: int, chunk_size: int) -> int:
    """How many blocks of exponentials the forward pass keeps for the
    backward pass (those of its last chunks, which the backward then does
    not recompute): as many as fit, with the backward's gradient block, in
    half of one full (N, M) matrix, the chunked path's memory budget (see
    :func:`auto_chunk_size`); none with fewer than 4 chunks."""
    return max(0, (n // 2) // chunk_size - 1)


def _chunked_forward(q: Tensor, k: Tensor, v: Tensor, scale: float,
                     chunk_size: int, keep: int = 0) -> tuple:
    """The 3-d output (B', N, dv), B' the product of the broadcast batch
    dimensions; the row maximum of the logits and the row sum of the
    exponentials :math:`E = \\exp(x - \\max)` (each (B', N, 1)); the buffers
    holding :math:`E` of the last ``keep`` chunks (a list in chunk order,
    each the size of a whole chunk: see :func:`_block`), exactly as the
    backward pass would recompute them.
    """
    batch = torch.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    q, k, v = (_as_3d(x, batch) for x in (q, k, v))
    b, n, m = q.shape[0], q.shape[1], k.shape[1]
    out = q.new_empty(q.shape[:2] + v.shape[2:])
    row_max, row_sum = q.new_empty(b, n, 1), q.new_empty(b, n, 1)
    k_t = k.transpose(1, 2)
    starts = range(0, n, chunk_size)
    first_kept = len(starts) - keep
    flat = q.new_empty(b * min(n, chunk_size) * m)
    kept = []
    for index, start in enumerate(starts):
        rows = slice(start, start + chunk_size)
        q_c = q[:, rows]
        if index > first_kept:  # the first kept chunk's is the work buffer
            flat = q.new_empty(flat.shape)
        exp = _logits(q_c, k_t, scale, _block(flat, b, q_c.shape[1], m))
        torch.amax(exp, dim=-1, keepdim=True, out=row_max[:, rows])
        _exp_flush_(exp.sub_(row_max[:, rows]))
        torch.sum(exp, dim=-1, keepdim=True, out=row_sum[:, rows])
        torch.bmm(exp, v, out=out[:, rows]).div_(row_sum[:, rows])
        if index >= first_kept:
            kept.append(flat)
    return out, row_max, row_sum, kept


def _chunked_attention(q: Tensor, k: Tensor, v: Tensor, scale: float,
                       chunk_size: int) -> Tensor:
    """Forward only (no autograd graph), in the broadcast shape."""
    batch = torch.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    out = _chunked_forward(q, k, v, scale, chunk_size)[0]
    return out.reshape(batch + out.shape[1:])


class _ChunkedSoftmaxAttention(torch.autograd.Function):
    """Query-chunked softmax attention whose backward recomputes the
    exponentials of each chunk from the saved row maxima, except those of
    the last chunks, which the forward keeps (:func:`kept_blocks`).

    With :math:`P = E / s` (:math:`E = \\exp(x - \\max)`, :math:`s` the row
    sum), the backward works on :math:`E` and the row-scaled output
    gradient :math:`dO / s`: :math:`dV = E^\\top (dO / s)`,
    :math:`dS = E \\odot ((dO / s) V^\\top - D / s)` with
    :math:`D_i = \\sum_c dO_{ic} O_{ic}`, then :math:`dQ = dS\\, K`,
    :math:`dK = dS^\\top Q` (times ``scale``). :math:`E` is recomputed by the
    forward's own operations, so a kept block and a recomputed one are equal
    bit for bit: a second backward (``retain_graph``), which recomputes
    all, gives the same gradients.
    """

    @staticmethod
    def forward(ctx, q: Tensor, k: Tensor, v: Tensor, scale: float,
                chunk_size: int) -> Tensor:
        batch = torch.broadcast_shapes(q.shape[:-2], k.shape[:-2],
                                       v.shape[:-2])
        keep = kept_blocks(q.shape[-2], chunk_size)
        out, row_max, row_sum, kept = _chunked_forward(
            q, k, v, scale, chunk_size, keep)
        ctx.save_for_backward(q, k, v, out, row_max, row_sum)
        ctx.scale, ctx.chunk_size, ctx.batch = scale, chunk_size, batch
        # Intermediates, for the first backward only: it reuses their
        # memory for the chunks it recomputes.
        ctx.kept = kept
        return out.reshape(batch + out.shape[1:])

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out: Tensor) -> tuple:
        # The block products write into buffers (out=), which autocast
        # would not cast: a backward called under autocast runs without.
        with torch.autocast(grad_out.device.type, enabled=False):
            return _ChunkedSoftmaxAttention._backward(ctx, grad_out)

    @staticmethod
    def _backward(ctx, grad_out: Tensor) -> tuple:
        q_in, k_in, v_in, out, row_max, row_sum = ctx.saved_tensors
        kept, ctx.kept = ctx.kept, []
        need_q, need_k, need_v = ctx.needs_input_grad[:3]
        scale, batch, chunk_size = ctx.scale, ctx.batch, ctx.chunk_size
        q, k, v = (_as_3d(x, batch) for x in (q_in, k_in, v_in))
        grad_out = grad_out.reshape(out.shape)
        k_t, v_t = k.transpose(1, 2), v.transpose(1, 2)
        # D / s and dO / s (see the class docstring)
        delta = (grad_out * out).sum(dim=-1, keepdim=True).div_(row_sum)
        grad_out = grad_out / row_sum
        grad_q = torch.empty_like(q) if need_q else None
        grad_k = torch.zeros_like(k) if need_k else None
        grad_v = torch.zeros_like(v) if need_v else None
        b, n, m = q.shape[0], q.shape[1], k.shape[1]
        grad_flat = q.new_empty(b * min(n, chunk_size) * m)
        starts = range(0, n, chunk_size)
        first_kept = len(starts) - len(kept)
        # The last chunks first, on their kept blocks; the others are
        # recomputed into the first kept buffer (or a new one).
        exp_flat = kept[0] if kept else q.new_empty(grad_flat.shape)
        for index in reversed(range(len(starts))):
            rows = slice(starts[index], starts[index] + chunk_size)
            q_c, grad_c = q[:, rows], grad_out[:, rows]
            r = q_c.shape[1]
            if index >= first_kept:
                exp = _block(kept[index - first_kept], b, r, m)
            else:
                exp = _logits(q_c, k_t, scale, _block(exp_flat, b, r, m))
                _exp_flush_(exp.sub_(row_max[:, rows]))
            if need_v:
                grad_v.baddbmm_(exp.transpose(1, 2), grad_c)
            if need_q or need_k:
                grad_s = torch.bmm(grad_c, v_t, out=_block(grad_flat, b, r, m))
                grad_s.sub_(delta[:, rows]).mul_(exp)
                if scale != 1.0:
                    grad_s.mul_(scale)
                if need_q:
                    torch.bmm(grad_s, k, out=grad_q[:, rows])
                if need_k:
                    grad_k.baddbmm_(grad_s.transpose(1, 2), q_c)

        def back(grad, x):
            if grad is None:
                return None
            return grad.reshape(batch + x.shape[-2:]).sum_to_size(x.shape)

        return (back(grad_q, q_in), back(grad_k, k_in), back(grad_v, v_in),
                None, None)


def _sdpa_by_default(q: Tensor) -> bool:
    """Devices on which ``use_sdpa=None`` tries the fused kernel: CUDA
    (the CPU's is not guarded against subnormals, see above)."""
    return q.is_cuda


def fused_sdpa_supported(q: Tensor, k: Tensor, v: Tensor,
                         scale: float = 1.0) -> bool:
    """Whether :func:`torch.nn.functional.scaled_dot_product_attention`
    runs a fused kernel (flash, memory-efficient, cuDNN) on these inputs,
    rather than its math fallback, which materialises the attention matrix.

    It asks torch's own kernel choice; its constraints (among them: the
    last dimension contiguous, no broadcast batch dimensions, supported head
    sizes and dtypes, the kernels enabled in ``torch.backends``) depend on
    the device and the torch version.
    """
    choose = getattr(torch, '_fused_sdp_choice', None)
    if choose is None:  # a torch without the query: trust the kernel
        return True
    return choose(q, k, v, None, 0.0, False,
                  scale=scale) != SDPBackend.MATH.value


def softmax_attention(q: Tensor,
                      k: Tensor,
                      v: Tensor,
                      scale: float = 1.0,
                      chunk_size: Union[int, str, None] = 'auto',
                      use_sdpa: Optional[bool] = None) -> Tensor:
    """``softmax_j(q_i . k_j * scale) v_j`` without storing the (N, M) matrix.

    Args:
        q (Tensor): Queries, shape (..., N, d).
        k (Tensor): Keys, shape (..., M, d).
        v (Tensor): Values, shape (..., M, dv).
        scale (float): Multiplier of the logits. CanKD and TaT use 1.0 (no
            ``1/sqrt(d)``), which must be passed explicitly to SDPA.
        chunk_size (int | str, optional): Queries per chunk on the chunked
            path (a value >= N: the direct form); ``'auto'``: from N, see
            :func:`auto_chunk_size`. ``None``: the direct form on every
            device (a reference; the fused kernel only if
            ``use_sdpa=True``). Defaults to ``'auto'``.
        use_sdpa (bool, optional): ``True``: always call torch's
            ``scaled_dot_product_attention`` (whichever kernel it picks);
            ``False``: never. ``None`` (default): call it on CUDA when a
            fused kernel takes the inputs (made contiguous in their last
            dimension first, see :func:`fused_sdpa_supported`) and
            ``chunk_size`` is not None, otherwise use the chunked path (on
            CPU always: see the module docstring).

    Returns:
        Tensor: Shape (..., N, dv).
    """
    if q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2]:
        raise ValueError(
            'softmax_attention: incompatible shapes q=%s, k=%s, v=%s' %
            (tuple(q.shape), tuple(k.shape), tuple(v.shape)))
    if use_sdpa or (use_sdpa is None and chunk_size is not None
                    and _sdpa_by_default(q)):
        # Fused kernels need a unit stride in the last dimension; CanKD's
        # and TaT's (..., positions, channels) views of NCHW maps have not.
        fused_q, fused_k, fused_v = (x if x.stride(-1) == 1 else
                                     x.contiguous() for x in (q, k, v))
        if use_sdpa or fused_sdpa_supported(fused_q, fused_k, fused_v,
                                            scale):
            return F.scaled_dot_product_attention(fused_q, fused_k, fused_v,
                                                  scale=scale)
    n = q.shape[-2]
    check_chunk_size(chunk_size, 'softmax_attention')
    if chunk_size == 'auto':
        chunk_size = auto_chunk_size(n)
    if chunk_size is None or chunk_size >= n:
        return direct_softmax_attention(q, k, v, scale)
    # The chunked path computes in float32 at least, with autocast off:
    # half-precision buffers would accumulate the key and value gradients
    # chunk by chunk in half precision, and autocast does not cast the
    # products that write into buffers (out=). Under autocast the result
    # stays float32 (as autocast's softmax); otherwise it has the inputs'
    # dtype.
    device = q.device.type
    autocast = torch.is_autocast_enabled(device)
    result_dtype = torch.promote_types(torch.promote_types(q.dtype, k.dtype),
                                       v.dtype)
    work_dtype = torch.promote_types(result_dtype, torch.float32)
    q, k, v = (x.to(work_dtype) for x in (q, k, v))
    with torch.autocast(device, enabled=False):
        if torch.is_grad_enabled() and (q.requires_grad or k.requires_grad
                                        or v.requires_grad):
            out = _ChunkedSoftmaxAttention.apply(q, k, v, scale, chunk_size)
        else:
            out = _chunked_attention(q, k, v, scale, chunk_size)
    return out if autocast else out.to(result_dtype)
