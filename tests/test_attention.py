# Copyright (c) mmkd_ext contributors. All rights reserved.
"""Tests of the softmax attention shared by CanKD and TaT
(``mmkd_ext.models.utils.attention``).

Its chunked path (query chunks, exponentials kept or recomputed in backward
from the saved row maxima) and its fused-kernel dispatch must equal the
direct formula in value and in every gradient; the fused kernel is used only
where it does not materialise the matrix.
"""
import pytest
import torch
import torch.nn.functional as F

from mmkd_ext.models.utils import attention as attention_mod
from mmkd_ext.models.utils import (
    direct_softmax_attention,
    fused_sdpa_supported,
    softmax_attention,
)

from .numerics import assert_as_accurate_as, assert_close_normwise


@pytest.mark.parametrize('q_shape,k_shape,v_shape', [
    ((2, 37, 5), (2, 11, 5), (2, 11, 3)),
    ((2, 3, 37, 4), (2, 3, 9, 4), (2, 3, 9, 6)),
    ((2, 3, 37, 4), (3, 9, 4), (1, 3, 9, 6)),  # broadcast batch dims
])
@pytest.mark.parametrize('chunk_size', [1, 8, 36])
@pytest.mark.parametrize('scale', [1.0, 0.5])
def test_chunked_attention_matches_direct(q_shape, k_shape, v_shape,
                                          chunk_size, scale):
    gen = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(shape, generator=gen, dtype=torch.float64) * 2
               for shape in (q_shape, k_shape, v_shape))
    grad_out = torch.randn(torch.broadcast_shapes(
        q_shape[:-2], k_shape[:-2], v_shape[:-2]) + (37, v_shape[-1]),
        generator=gen, dtype=torch.float64)
    results = []
    for fn in (lambda *a: softmax_attention(*a, scale=scale,
                                            chunk_size=chunk_size),
               lambda *a: direct_softmax_attention(*a, scale=scale)):
        inputs = [x.clone().requires_grad_(True) for x in (q, k, v)]
        out = fn(*inputs)
        grads = torch.autograd.grad(out, inputs, grad_out)
        results.append((out, grads))
    (out, grads), (ref, ref_grads) = results
    # Another summation order: d-term logits, key sums, then query sums
    # for the key and value gradients.
    n_terms = q_shape[-1] + k_shape[-2] + q_shape[-2]
    assert_close_normwise(out, ref, n_terms=n_terms)
    for got, want in zip(grads, ref_grads):
        assert_close_normwise(got, want, n_terms=n_terms)


def test_chunked_attention_partial_grads_and_no_grad():
    gen = torch.Generator().manual_seed(1)
    q, k, v = (torch.randn(2, n, 4, generator=gen, dtype=torch.float64)
               for n in (13, 7, 7))
    ref = direct_softmax_attention(q, k, v)
    with torch.no_grad():
        q.requires_grad_(True)
        torch.testing.assert_close(softmax_attention(q, k, v, chunk_size=4),
                                   ref)
    # Only q needs a gradient: k and v get none, q's is right.
    out = softmax_attention(q, k, v, chunk_size=4)
    out.sum().backward()
    assert k.grad is None and v.grad is None
    q_ref = q.detach().clone().requires_grad_(True)
    direct_softmax_attention(q_ref, k, v).sum().backward()
    torch.testing.assert_close(q.grad, q_ref.grad)
    # Large logits stay finite (max-subtracted exponentials).
    big = softmax_attention(q * 300, k, v, chunk_size=4)
    torch.testing.assert_close(big, direct_softmax_attention(q * 300, k, v))
    # Peaked float32 rows (logits ~ 70 std; probabilities below eps**2 are
    # exact zeros): values and gradients as accurate as the direct float32
    # formula's (both against the float64 direct form; the logits' own
    # float32 rounding, ~1e-5 relative here, depends on the BLAS kernel).
    q32, k32, v32 = (torch.randn(2, n, 64, generator=gen) * 3
                     for n in (300, 200, 200))
    results = []
    for fn, dtype in (
            (lambda *a: softmax_attention(*a, chunk_size=64), torch.float32),
            (direct_softmax_attention, torch.float32),
            (direct_softmax_attention, torch.float64)):
        inputs = [x.to(dtype, copy=True).requires_grad_(True)
                  for x in (q32, k32, v32)]
        out = fn(*inputs)
        results.append([out] + list(
            torch.autograd.grad(out.square().sum(), inputs)))
    for chunked, direct, reference in zip(*results):
        assert_as_accurate_as(chunked, direct, reference)
    k.requires_grad_(True)
    v.requires_grad_(True)
    assert torch.autograd.gradcheck(
        lambda a, b, c: softmax_attention(a, b, c, scale=0.7, chunk_size=3),
        (q.detach().requires_grad_(True), k, v), fast_mode=True)


def _channels_last_view(b, n, d, gen, dtype=torch.float64):
    """(B, N, d) view of a (B, d, N) tensor, as CanKD and TaT pass NCHW
    maps: the last dimension has stride N."""
    return torch.randn(b, d, n, generator=gen, dtype=dtype).transpose(1, 2)


def test_fused_sdpa_supported_follows_torch_choice():
    gen = torch.Generator().manual_seed(2)
    q, k, v = (torch.randn(2, 1, 16, 8, generator=gen) for _ in range(3))
    assert fused_sdpa_supported(q, k, v)
    # A strided last dimension or a different value size: math fallback.
    q_t = _channels_last_view(2, 16, 8, gen, torch.float32).unsqueeze(1)
    assert q_t.stride(-1) != 1
    assert not fused_sdpa_supported(q_t, k, v)
    assert fused_sdpa_supported(q_t.contiguous(), k, v)
    assert not fused_sdpa_supported(q, k, v[..., :4])


def test_cpu_default_never_calls_sdpa(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError('SDPA called on CPU by default')

    monkeypatch.setattr(attention_mod.F, 'scaled_dot_product_attention',
                        forbidden)
    gen = torch.Generator().manual_seed(3)
    q, k, v = (torch.randn(2, 40, 8, generator=gen) for _ in range(3))
    # float32, another summation order: 8-term logits, 40-term key sums.
    assert_close_normwise(softmax_attention(q, k, v, chunk_size=16),
                          direct_softmax_attention(q, k, v), n_terms=8 + 40)


def _record_sdpa(monkeypatch):
    calls = []
    real = F.scaled_dot_product_attention

    def record(q, k, v, **kwargs):
        calls.append([x.stride(-1) for x in (q, k, v)])
        return real(q, k, v, **kwargs)

    monkeypatch.setattr(attention_mod.F, 'scaled_dot_product_attention',
                        record)
    return calls


@pytest.mark.parametrize('dv', [6, 3])
def test_default_dispatch_uses_fused_kernel_only_where_supported(
        monkeypatch, dv):
    """The CUDA default path, exercised on CPU (the device test patched):
    strided inputs are made contiguous for the fused kernel; inputs no fused
    kernel takes (here dv != d) go to the chunked path instead of SDPA's
    math fallback. Values and all gradients equal the direct form."""
    calls = _record_sdpa(monkeypatch)
    monkeypatch.setattr(attention_mod, '_sdpa_by_default', lambda q: True)
    gen = torch.Generator().manual_seed(4)
    q = _channels_last_view(2, 37, 6, gen)
    k = _channels_last_view(2, 11, 6, gen)
    v = _channels_last_view(2, 11, dv, gen)
    grad_out = torch.randn(2, 37, dv, generator=gen, dtype=torch.float64)
    results = []
    for fn in (lambda *a: softmax_attention(*a, chunk_size=8),
               direct_softmax_attention):
        inputs = [x.detach().requires_grad_(True) for x in (q, k, v)]
        out = fn(*inputs)
        results.append([out] +
                       list(torch.autograd.grad(out, inputs, grad_out)))
    fused = dv == 6
    assert calls == ([[1, 1, 1]] if fused else [])
    for got, want in zip(*results):
        assert_close_normwise(got, want, n_terms=6 + 11 + 37)


def test_use_sdpa_flags(monkeypatch):
    calls = _record_sdpa(monkeypatch)
    gen = torch.Generator().manual_seed(5)
    q, k, v = (torch.randn(2, 20, 4, generator=gen, dtype=torch.float64)
               for _ in range(3))
    ref = direct_softmax_attention(q, k, v, scale=0.5)
    # True: always SDPA, even where only its math kernel takes the inputs.
    torch.testing.assert_close(
        softmax_attention(q, k, v[..., :3], 0.5, use_sdpa=True),
        direct_softmax_attention(q, k, v[..., :3], scale=0.5))
    assert len(calls) == 1
    monkeypatch.setattr(attention_mod, '_sdpa_by_default', lambda q: True)
    torch.testing.assert_close(
        softmax_attention(q, k, v, 0.5, chunk_size=8, use_sdpa=False), ref)
    assert len(calls) == 1
    torch.testing.assert_close(softmax_attention(q, k, v, 0.5), ref)
    assert len(calls) == 2


def test_chunk_size_none_is_the_direct_form_everywhere(monkeypatch):
    """``chunk_size=None`` is the reference (benchmarks' direct variant):
    no fused kernel on CUDA either, unless forced."""
    calls = _record_sdpa(monkeypatch)
    monkeypatch.setattr(attention_mod, '_sdpa_by_default', lambda q: True)
    gen = torch.Generator().manual_seed(6)
    q, k, v = (torch.randn(2, 20, 4, generator=gen, dtype=torch.float64)
               for _ in range(3))
    torch.testing.assert_close(softmax_attention(q, k, v, chunk_size=None),
                               direct_softmax_attention(q, k, v))
    assert calls == []
    softmax_attention(q, k, v, chunk_size=None, use_sdpa=True)
    assert len(calls) == 1


@pytest.mark.parametrize('dtype', [torch.bfloat16, torch.float16])
def test_chunked_attention_half_precision_inputs(dtype):
    """Half-precision inputs are computed in float32 and the result cast
    back. Each row: one key at logit 0 and 999 keys at -10 (probability
    4.5e-5 each, 4.3% of the mass in all, carrying the only non-zero
    values); bfloat16 blocks flushed at their own eps**2 (6e-5) would drop
    them all (0 instead of 0.043)."""
    q = torch.ones(1, 64, 2)
    k = torch.full((1, 1000, 2), -5.0)
    k[0, 0] = 0.0
    v = torch.ones(1, 1000, 1)
    v[0, 0] = 0.0
    ref = direct_softmax_attention(q.double(), k.double(), v.double())
    inputs = [x.to(dtype).requires_grad_(True) for x in (q, k, v)]
    out = softmax_attention(*inputs, chunk_size=16)
    assert out.dtype == dtype
    torch.testing.assert_close(out.double(), ref, rtol=1e-2, atol=0)
    out.sum().backward()
    assert all(x.grad.dtype == dtype for x in inputs)


def test_chunked_attention_under_autocast():
    """Under CPU autocast (bfloat16) the chunked path runs in float32 (its
    products write into buffers, which autocast does not cast) and returns
    float32, as accurate as the float32 direct form in value and gradients
    (both against the float64 direct form), also when backward is called
    inside the autocast region. A bfloat16 computation would be ~2**16
    times less accurate and fails the comparison."""
    gen = torch.Generator().manual_seed(7)
    q, k, v = (torch.randn(2, 100, 8, generator=gen) for _ in range(3))
    grad_out = torch.randn(2, 100, 8, generator=gen)
    results = []
    for chunk_size, dtype in ((16, torch.float32), (None, torch.float32),
                              (None, torch.float64)):
        inputs = [x.to(dtype, copy=True).requires_grad_(True)
                  for x in (q, k, v)]
        with torch.autocast('cpu', dtype=torch.bfloat16,
                            enabled=chunk_size is not None):
            out = softmax_attention(*inputs, chunk_size=chunk_size)
            out.backward(grad_out.to(dtype))
        assert out.dtype == dtype
        results.append([out] + [x.grad for x in inputs])
    for chunked, direct, reference in zip(*results):
        assert_as_accurate_as(chunked, direct, reference)


def test_auto_chunk_size_from_the_number_of_queries(monkeypatch):
    """'auto' (the default): the direct form below four minimal chunks,
    then an eighth of the queries per chunk, never fewer than the minimum;
    the chunk passed on is the one chosen."""
    small = attention_mod.MIN_AUTO_CHUNK
    assert attention_mod.auto_chunk_size(4 * small - 1) == 4 * small - 1
    assert attention_mod.auto_chunk_size(4 * small) == small
    assert attention_mod.auto_chunk_size(8 * small + 1) == small + 1
    assert attention_mod.auto_chunk_size(16800) == 2100
    assert attention_mod.auto_chunk_size(16384) == 2048
    chosen = []
    real = attention_mod._ChunkedSoftmaxAttention.apply

    def record(q, k, v, scale, chunk_size):
        chosen.append(chunk_size)
        return real(q, k, v, scale, chunk_size)

    monkeypatch.setattr(attention_mod._ChunkedSoftmaxAttention, 'apply',
                        record)
    monkeypatch.setattr(attention_mod, 'MIN_AUTO_CHUNK', 4)
    gen = torch.Generator().manual_seed(9)
    q, k, v = (torch.randn(2, n, 3, generator=gen, dtype=torch.float64,
                           requires_grad=True) for n in (37, 9, 9))
    out = softmax_attention(q, k, v)
    assert chosen == [5]  # ceil(37 / 8)
    assert_close_normwise(out, direct_softmax_attention(q, k, v),
                          n_terms=3 + 9 + 37)
    softmax_attention(q[:, :15], k, v)  # 15 queries: the direct form
    assert chosen == [5]


@pytest.mark.parametrize('chunk_size', [0, -3, 2.5, 'big', True])
def test_bad_chunk_size_names_the_argument(chunk_size):
    q = torch.zeros(1, 4, 2)
    with pytest.raises(ValueError, match='chunk_size'):
        softmax_attention(q, q, q, chunk_size=chunk_size)


def test_backward_skips_the_kept_chunks_and_is_reentrant(monkeypatch):
    """The forward keeps the exponentials of its last chunks (as many as
    fit, with the gradient block, in half a matrix): the backward recomputes
    the logits of the other chunks only, and a second backward (retain_graph,
    which recomputes all) gives the same gradients bit for bit."""
    b, n, m, d, dv, chunk = 2, 40, 9, 3, 5, 4  # 10 chunks
    assert attention_mod.kept_blocks(n, chunk) == 4
    assert attention_mod.kept_blocks(n, 10) == 1
    assert attention_mod.kept_blocks(n, 11) == 0  # 4 chunks, 1 short
    logit_products = []
    bmm = torch.bmm

    def counting_bmm(x, y, **kwargs):
        if tuple(y.shape) == (b, d, m):  # q_chunk @ k^T
            logit_products.append(x.shape[1])
        return bmm(x, y, **kwargs)

    monkeypatch.setattr(torch, 'bmm', counting_bmm)

    gen = torch.Generator().manual_seed(4)
    q, k, v = (torch.randn(b, rows, cols, generator=gen, requires_grad=True)
               for rows, cols in ((n, d), (m, d), (m, dv)))
    out = softmax_attention(q, k, v, chunk_size=chunk)
    assert logit_products == [chunk] * 10
    grad_out = torch.randn(out.shape, generator=gen)
    logit_products.clear()
    first = torch.autograd.grad(out, (q, k, v), grad_out, retain_graph=True)
    assert logit_products == [chunk] * 6
    logit_products.clear()
    second = torch.autograd.grad(out, (q, k, v), grad_out)
    assert logit_products == [chunk] * 10
    for kept, recomputed in zip(first, second):
        assert torch.equal(kept, recomputed)
    ref = torch.autograd.grad(direct_softmax_attention(q, k, v), (q, k, v),
                              grad_out)
    for got, want in zip(first, ref):
        assert_close_normwise(got, want, n_terms=d + m + n)
