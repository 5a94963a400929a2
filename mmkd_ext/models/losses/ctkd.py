# Copyright (c) mmkd_ext contributors. All rights reserved.
"""Curriculum temperature for knowledge distillation (CTKD), AAAI 2023."""
import math
from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.logging import MessageHub
from mmrazor.registry import MODELS

from .functional import kl_div_log_probs, softened_kl


class _GradientReversal(torch.autograd.Function):
    """Identity forward; backward multiplies the gradient by ``-lambda``."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, lambda_: float) -> torch.Tensor:
        ctx.lambda_ = lambda_
        return x.clone()

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> Tuple[torch.Tensor, None]:
        return -ctx.lambda_ * grad, None


def gradient_reversal(x: torch.Tensor, lambda_: float) -> torch.Tensor:
    """Gradient reversal layer (Ganin & Lempitsky, 2015).

    Args:
        x (torch.Tensor): Input, returned unchanged.
        lambda_ (float): The backward pass multiplies the gradient by
            ``-lambda_``.
    """
    return _GradientReversal.apply(x, lambda_)


def ctkd_lambda(epoch: int, warmup_epochs: int) -> float:
    """CTKD's cosine curriculum for the gradient-reversal strength.

    .. math::
        \\lambda_n = \\frac{1}{2}\\left(1 + \\cos\\left(\\left(1 +
        \\frac{\\min(n, E)}{E}\\right)\\pi\\right)\\right)

    rises from 0 to 1 and equals 1 for :math:`n \\ge E`.

    Args:
        epoch (int): The 1-based epoch :math:`n` (>= 1).
        warmup_epochs (int): :math:`E` (>= 1).
    """
    if epoch < 1 or warmup_epochs < 1:
        raise ValueError(
            'ctkd_lambda: epoch (1-based) and warmup_epochs must be >= 1, '
            f'got epoch={epoch}, warmup_epochs={warmup_epochs}')
    n = min(epoch, warmup_epochs)
    return 0.5 * (1.0 + math.cos((1.0 + n / warmup_epochs) * math.pi))


@MODELS.register_module()
class CTKDLoss(nn.Module):
    """KD (or DKD) with a curriculum temperature learned adversarially.

    `Curriculum Temperature for Knowledge Distillation
    <https://arxiv.org/abs/2211.16231>`_ (AAAI 2023).

    **Global temperature** (``temp_type='global'``, the official code): a
    single parameter :math:`\\theta` (init 1.0) gives

    .. math::
        \\tau = t_{start} + t_{range} \\, \\sigma(\\mathrm{GRL}_\\lambda
        (\\theta)), \\quad \\tau \\in (t_{start}, t_{start} + t_{range})

    (:math:`\\tau_0 = 1 + 20\\sigma(1) = 15.62` by default). The gradient
    reversal layer is the identity forward and multiplies the gradient by
    :math:`-\\lambda_n` backward, so :math:`\\theta` *maximises* the loss
    that the student minimises. :math:`\\lambda_n` follows
    :func:`ctkd_lambda` with the 1-based epoch :math:`n` and
    :math:`E` = ``warmup_epochs`` (10 on CIFAR, 5 on ImageNet in the
    authors' scripts). The loss is

    .. math::
        \\mathcal{L} = w \\, \\tau^2 \\frac{1}{B} \\sum_b
        KL(\\mathrm{sm}(v_b / \\tau) \\| \\mathrm{sm}(z_b / \\tau))

    with :math:`\\tau^2` *not* detached: :math:`\\theta` gets gradient
    through both softmaxes and :math:`\\tau^2`. With ``distill='dkd'`` the
    learned :math:`\\tau` replaces DKD's temperature everywhere:
    :math:`w (\\alpha \\, TCKD + \\beta \\, NCKD)` (no warm-up factor, as in
    the CTKD code). NCKD takes the softmax over the non-target classes by
    slicing them out instead of the official ``-1000`` mask, whose exact
    zero teacher probabilities give a NaN gradient for :math:`\\theta`;
    all KL terms are computed from log-probabilities for the same reason.

    **Instance-wise temperature** (``temp_type='instance'``, **unverified**:
    the authors' instance-wise code is not in their repository; this
    follows the paper): a 2-layer MLP on the concatenated (detached)
    teacher and student logits predicts one :math:`\\theta_b` per sample,
    mapped and reversed as above; per the authors' README the loss is
    :math:`w \\frac{1}{B} \\sum_b \\tau_b^2 \\sum_k P_{bk} (\\log P_{bk} -
    \\log \\mathrm{sm}(z_b / \\tau_b)_k)` with
    :math:`P_b = \\mathrm{sm}(v_b / \\tau_b) + 10^{-7}` (not renormalised).
    ``distill='kd'`` only.

    **The epoch** is read from mmengine's ``MessageHub`` (its ``'epoch'``
    info is written before every training epoch by ``RuntimeInfoHook``, a
    default hook of every Runner, and is restored on resume): :math:`n` =
    ``epoch + 1``, constant within the epoch. With an iteration-based loop
    it stays 1. Outside a Runner, set it with
    ``MessageHub.get_current_instance().update_info('epoch', n - 1)``.

    **Precision.** The gradient of :math:`\\theta` is ill-conditioned, so
    the whole loss is computed in float32 (float64 inputs stay float64)
    with autocast disabled, even under AMP. The current (mean)
    temperature is logged as the scalar ``train/ctkd_tau``.

    Combine with Z-score logit standardization by wrapping:
    ``dict(type='LogitStandardization', loss=dict(type='CTKDLoss', ...))``.
    :math:`\\theta` (or the MLP) is a parameter of the distiller, so it is
    optimised with the student's optimizer, learning rate and weight decay.

    Args:
        loss_weight (float): :math:`w`. Defaults to 1.0.
        temp_type (str): ``'global'`` or ``'instance'``. Defaults to
            ``'global'``.
        t_start (float): Lowest temperature, > 0. Defaults to 1.0.
        t_range (float): Temperature range, > 0 (``--t_end`` in the
            official script). Defaults to 20.0.
        warmup_epochs (int): :math:`E`, epochs for :math:`\\lambda` to
            reach 1. Defaults to 10.
        distill (str): ``'kd'`` or ``'dkd'``. Defaults to ``'kd'``.
        dkd_alpha (float): DKD's TCKD weight. Defaults to 1.0.
        dkd_beta (float): DKD's NCKD weight. Defaults to 1.0.
        num_classes (int, optional): Number of classes; required by the
            instance-wise MLP.
        hidden_channels (int): Hidden width of the instance-wise MLP.
            Defaults to 256.
        init_theta (float): Initial :math:`\\theta` of the global
            temperature. Defaults to 1.0.

    Shapes:
        preds_S, preds_T: (B, C) logits; gt_labels: (B, ) (``'dkd'`` only).
    """

    def __init__(self,
                 loss_weight: float = 1.0,
                 temp_type: str = 'global',
                 t_start: float = 1.0,
                 t_range: float = 20.0,
                 warmup_epochs: int = 10,
                 distill: str = 'kd',
                 dkd_alpha: float = 1.0,
                 dkd_beta: float = 1.0,
                 num_classes: Optional[int] = None,
                 hidden_channels: int = 256,
                 init_theta: float = 1.0) -> None:
        super().__init__()
        if temp_type not in ('global', 'instance'):
            raise ValueError("CTKDLoss: temp_type must be 'global' or "
                             f"'instance', got {temp_type!r}")
        if distill not in ('kd', 'dkd'):
            raise ValueError(
                f"CTKDLoss: distill must be 'kd' or 'dkd', got {distill!r}")
        if temp_type == 'instance' and distill != 'kd':
            raise ValueError(
                "CTKDLoss: temp_type='instance' supports distill='kd' only, "
                f'got distill={distill!r}')
        for name, value in (('t_start', t_start), ('t_range', t_range)):
            if not 0 < value < float('inf'):
                raise ValueError(
                    f'CTKDLoss: {name} must be a finite number > 0 (the '
                    f'temperature must stay positive), got {value}')
        if isinstance(warmup_epochs, bool) or not isinstance(
                warmup_epochs, int) or warmup_epochs < 1:
            raise ValueError('CTKDLoss: warmup_epochs must be an int >= 1, '
                             f'got {warmup_epochs!r}')
        self.loss_weight = loss_weight
        self.temp_type = temp_type
        self.t_start = float(t_start)
        self.t_range = float(t_range)
        self.warmup_epochs = warmup_epochs
        self.distill = distill
        self.dkd_alpha = dkd_alpha
        self.dkd_beta = dkd_beta
        self.num_classes = num_classes
        if temp_type == 'global':
            self.theta = nn.Parameter(torch.full((1, ), float(init_theta)))
        else:
            if not isinstance(num_classes, int) or num_classes < 2:
                raise ValueError(
                    "CTKDLoss: temp_type='instance' needs num_classes (int "
                    f'>= 2) for its MLP, got {num_classes!r}')
            self.mlp = nn.Sequential(
                nn.Linear(2 * num_classes, hidden_channels),
                nn.ReLU(inplace=True), nn.Linear(hidden_channels, 1))

    def current_epoch(self) -> int:
        """The 1-based training epoch, from mmengine's ``MessageHub``."""
        epoch = MessageHub.get_current_instance().get_info('epoch')
        if epoch is None:
            raise RuntimeError(
                "CTKDLoss: the current epoch is unknown: MessageHub has no "
                "'epoch' info (a Runner's RuntimeInfoHook writes it before "
                'each training epoch). Outside a Runner, call '
                "MessageHub.get_current_instance().update_info('epoch', "
                'n - 1) for the 1-based epoch n.')
        return int(epoch) + 1

    def temperature(self, preds_S: torch.Tensor,
                    preds_T: torch.Tensor) -> torch.Tensor:
        """The learned temperature: (1, 1) (global) or (B, 1) (instance),
        gradient-reversed with the current epoch's lambda."""
        lambda_ = ctkd_lambda(self.current_epoch(), self.warmup_epochs)
        if self.temp_type == 'global':
            theta = self.theta.to(preds_S.dtype).view(1, 1)
        else:
            mlp_in = torch.cat([preds_T, preds_S.detach()], dim=1)
            weight = self.mlp[0].weight
            theta = self.mlp(mlp_in.to(weight.dtype)).to(preds_S.dtype)
        theta = gradient_reversal(theta, lambda_)
        return self.t_start + self.t_range * torch.sigmoid(theta)

    def forward(self,
                preds_S: torch.Tensor,
                preds_T: torch.Tensor,
                gt_labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Forward computation.

        Args:
            preds_S (torch.Tensor): Student logits, shape (B, C).
            preds_T (torch.Tensor): Teacher logits, shape (B, C).
            gt_labels (torch.Tensor, optional): Class indices, shape (B, );
                required with ``distill='dkd'``.

        Returns:
            torch.Tensor: Scalar loss.
        """
        self._check_inputs(preds_S, preds_T, gt_labels)
        dtype = torch.promote_types(preds_S.dtype, torch.float32)
        with torch.autocast(device_type=preds_S.device.type, enabled=False):
            preds_S = preds_S.to(dtype)
            preds_T = preds_T.detach().to(dtype)
            tau = self.temperature(preds_S, preds_T)
            MessageHub.get_current_instance().update_scalar(
                'train/ctkd_tau', float(tau.detach().mean()))
            if self.temp_type == 'instance':
                loss = self._instance_kd(preds_S, preds_T, tau)
            elif self.distill == 'kd':
                loss = softened_kl(preds_S, preds_T, tau) * tau[0, 0]**2
            else:
                loss = self._dkd(preds_S, preds_T, gt_labels, tau[0, 0])
        return self.loss_weight * loss

    @staticmethod
    def _instance_kd(preds_S: torch.Tensor, preds_T: torch.Tensor,
                     tau: torch.Tensor) -> torch.Tensor:
        p_T = F.softmax(preds_T / tau, dim=1) + 1e-7
        log_p_S = F.log_softmax(preds_S / tau, dim=1)
        per_sample = (p_T * (p_T.log() - log_p_S)).sum(dim=1)
        return (tau.squeeze(1)**2 * per_sample).mean()

    def _dkd(self, preds_S: torch.Tensor, preds_T: torch.Tensor,
             gt_labels: torch.Tensor, tau: torch.Tensor) -> torch.Tensor:
        """Decoupled KD (Zhao et al., CVPR 2022) at temperature ``tau``."""
        num, num_classes = preds_S.shape
        target = F.one_hot(gt_labels.long(), num_classes).bool()
        terms = []
        for logits in (preds_S, preds_T):
            log_p = F.log_softmax(logits / tau, dim=1)
            log_p_gt = log_p[target].view(num, 1)
            log_p_other = log_p[~target].view(num, num_classes - 1)
            binary = torch.cat(
                [log_p_gt, torch.logsumexp(log_p_other, 1, keepdim=True)], 1)
            nontarget = F.log_softmax(
                (logits / tau)[~target].view(num, num_classes - 1), dim=1)
            terms.append((binary, nontarget))
        (bin_S, non_S), (bin_T, non_T) = terms
        # from log-probabilities: the gradient w.r.t. the teacher side (the
        # temperature reaches it too) stays finite where p_T underflows
        tckd = kl_div_log_probs(bin_T, bin_S).sum(dim=1).mean()
        nckd = kl_div_log_probs(non_T, non_S).sum(dim=1).mean()
        return (self.dkd_alpha * tckd + self.dkd_beta * nckd) * tau**2

    def _check_inputs(self, preds_S: torch.Tensor, preds_T: torch.Tensor,
                      gt_labels: Optional[torch.Tensor]) -> None:
        if preds_S.dim() != 2 or preds_S.shape != preds_T.shape or (
                preds_S.size(1) < 2):
            raise ValueError(
                'CTKDLoss: expects student and teacher logits of the same '
                f'shape (B, C) with C >= 2, got preds_S '
                f'{tuple(preds_S.shape)} and preds_T {tuple(preds_T.shape)}')
        if self.num_classes is not None and (preds_S.size(1) !=
                                             self.num_classes):
            raise ValueError(
                f'CTKDLoss: num_classes={self.num_classes} but the logits '
                f'have {preds_S.size(1)} classes')
        if self.distill != 'dkd':
            return
        if gt_labels is None:
            raise ValueError(
                "CTKDLoss: distill='dkd' needs gt_labels (map it in "
                'loss_forward_mappings from a ModuleInputs recorder on '
                "'head.loss_module', data_idx=1)")
        if gt_labels.shape != preds_S.shape[:1] or (
                gt_labels.dtype not in (torch.int64, torch.int32)):
            raise ValueError(
                'CTKDLoss: gt_labels must be integer class indices of shape '
                f'({preds_S.size(0)}, ), got {gt_labels.dtype} of shape '
                f'{tuple(gt_labels.shape)}')
        if gt_labels.numel() and not (0 <= int(gt_labels.min()) and int(
                gt_labels.max()) < preds_S.size(1)):
            raise ValueError(
                'CTKDLoss: gt_labels must lie in [0, '
                f'{preds_S.size(1) - 1}], got min {int(gt_labels.min())} '
                f'and max {int(gt_labels.max())}')
