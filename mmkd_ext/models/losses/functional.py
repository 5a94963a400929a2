# Copyright (c) mmkd_ext contributors. All rights reserved.
"""Functional pieces shared by the logit losses."""
import torch
import torch.nn.functional as F
from torch import Tensor


def upcast_half(x: Tensor) -> Tensor:
    """float16 / bfloat16 -> float32; float32 and float64 unchanged (the
    same tensor)."""
    if x.dtype in (torch.float16, torch.bfloat16):
        return x.float()
    return x


def kl_div_log_probs(log_p: Tensor, log_q: Tensor) -> Tensor:
    r"""Pointwise terms :math:`p (\log p - \log q)` of
    :math:`\mathrm{KL}(p \| q)` from log-probabilities (sum them over the
    class dimension for the divergence).

    Unlike ``F.kl_div(log_q, p)``, the gradient with respect to ``log_p``
    stays finite where :math:`p` underflows to 0.
    """
    return log_p.exp() * (log_p - log_q)


def kl_div_probs(p: Tensor, log_q: Tensor) -> Tensor:
    r"""Pointwise terms :math:`p \log p - p \log q` of
    :math:`\mathrm{KL}(p \| q)` from probabilities :math:`p` (exact zeros
    allowed: :math:`0 \log 0 = 0`) and log-probabilities :math:`\log q`."""
    return torch.xlogy(p, p) - p * log_q


def softened_kl(preds_S: Tensor, preds_T: Tensor, temperature) -> Tensor:
    r""":math:`\frac{1}{B} \sum_b \mathrm{KL}(\mathrm{sm}(v_b / T) \|
    \mathrm{sm}(z_b / T))` of (B, C) student logits z and teacher logits v
    (without the usual :math:`T^2` factor). ``temperature`` is a number or
    a tensor that broadcasts against the logits."""
    log_p_T = F.log_softmax(preds_T / temperature, dim=1)
    log_p_S = F.log_softmax(preds_S / temperature, dim=1)
    return kl_div_log_probs(log_p_T, log_p_S).sum(dim=1).mean()
