# Copyright (c) mmkd_ext contributors. All rights reserved.
"""Tolerances derived from floating-point arithmetic, not from one machine.

Two computations of the same quantity in finite precision (another
summation order, another BLAS kernel, query chunks against one block) differ
by rounding. A summed element ``s = sum_i a_i`` computed in any order has an
error of up to about ``n * u * sum_i |a_i|`` (``u`` the unit roundoff of the
dtype, ``n`` the number of terms), which can be far larger than ``|s|``
itself when the terms cancel: an element-wise ``atol`` picked below that
bound passes on one CPU's kernels and fails on another's. The helpers here
compare whole tensors instead, in norm, against a bound that scales with the
dtype's ``u`` and the size of the sums, or against the error that the
reference computation itself makes in the same dtype.
"""
from collections.abc import Sequence

import torch


def unit_roundoff(dtype: torch.dtype) -> float:
    """Half the machine epsilon of ``dtype`` (the relative rounding error)."""
    return torch.finfo(dtype).eps / 2


def normwise_error(actual: torch.Tensor, expected: torch.Tensor) -> float:
    """``||actual - expected||_2 / ||expected||_2`` in float64."""
    actual, expected = actual.double(), expected.double()
    scale = expected.norm().item()
    diff = (actual - expected).norm().item()
    return diff / scale if scale > 0 else diff


def assert_close_normwise(actual: torch.Tensor, expected: torch.Tensor, *,
                          n_terms: int, dtype: torch.dtype | None = None,
                          factor: float = 16.0,
                          scale: float | None = None) -> None:
    """Assert ``||actual - expected|| <= factor * n_terms * u * scale``.

    ``n_terms`` is the length of the longest chain of sums and products that
    produced an element (e.g. the contraction length of a matrix product
    plus the number of accumulations after it); ``u`` is the unit roundoff
    of ``dtype`` (default: ``expected``'s). This is the classical worst-case
    forward-error bound ``gamma_n = n u / (1 - n u)``, taken norm-wise so
    that single elements near zero by cancellation do not decide the test;
    ``factor`` covers the constant of the bound across a few such stages
    (and, where stated, the condition number of a stage, e.g. a softmax
    that turns absolute logit errors into relative ones).
    ``scale`` is the magnitude of the summed terms, ``||expected||`` by
    default; pass a larger one where ``expected`` itself is zero up to
    rounding (see ``assert_grads_close_normwise``).
    """
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    assert torch.isfinite(actual).all(), 'non-finite values'
    u = unit_roundoff(dtype or expected.dtype)
    bound = factor * n_terms * u
    if scale is None:
        err = normwise_error(actual, expected)
    else:
        err = (actual.double() - expected.double()).norm().item() / scale
    assert err <= bound, (
        f'norm-wise relative error {err:.3e} > {bound:.3e} '
        f'({factor:.3g} x {n_terms} terms x u={u:.2e})')


def assert_grads_close_normwise(actual: Sequence[torch.Tensor],
                                expected: Sequence[torch.Tensor], *,
                                n_terms: int, factor: float = 16.0) -> None:
    """The gradients of a module's parameters, one tensor per parameter,
    each within the bound of ``assert_close_normwise`` relative to the
    norm of all of them together.

    A parameter whose gradient is zero in exact arithmetic (the bias of a
    layer followed by a normalisation, a shift that a softmax ignores) is
    computed as rounding noise of sums whose terms are at least as large as
    the other parameters' gradients: its own norm is no scale for it. A
    stage that amplifies rounding (a normalisation of nearly constant
    channels) goes into ``factor`` as its condition number.
    """
    assert len(actual) == len(expected), (len(actual), len(expected))
    scale = torch.cat([e.detach().double().flatten()
                       for e in expected]).norm().item()
    for got, want in zip(actual, expected):
        assert_close_normwise(got, want, n_terms=n_terms, factor=factor,
                              scale=scale)


def assert_as_accurate_as(candidate: torch.Tensor, baseline: torch.Tensor,
                          reference: torch.Tensor, *,
                          factor: float = 4.0) -> None:
    """Assert that ``candidate`` is about as accurate as ``baseline``.

    Both are computations of ``reference`` (computed in a wider dtype) in
    the same working precision; ``candidate``'s norm-wise error against
    ``reference`` may be at most ``factor`` times ``baseline``'s, plus a few
    units of roundoff of the working dtype (for the case where ``baseline``
    happens to round exactly). The bound thus scales with whatever rounding
    the machine's kernels make, instead of being a constant tuned on one.
    """
    assert candidate.shape == baseline.shape == reference.shape
    assert torch.isfinite(candidate).all(), 'non-finite values'
    floor = 8 * unit_roundoff(baseline.dtype)
    err = normwise_error(candidate, reference)
    base = normwise_error(baseline, reference)
    assert err <= factor * base + floor, (
        f'norm-wise error {err:.3e} against the wide reference > '
        f'{factor} x the baseline\'s {base:.3e} + {floor:.1e}')
