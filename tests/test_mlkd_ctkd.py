# Copyright (c) mmkd_ext contributors. All rights reserved.
"""MLKD and CTKD losses, the two-view pipeline / algorithm and their
ImageNet configs (configs/mlkd/{mlkd,mlkd-zscore}_*,
configs/ctkd/{ctkd,ctkd-zscore}_*)."""
import copy
import glob
import math
import os.path as osp
import uuid

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.logging import MessageHub

from mmkd_ext.analysis import build_algorithm, make_batch, run_train_step
from mmkd_ext.models.losses import CTKDLoss, LogitStandardization, MLKDLoss
from mmkd_ext.models.losses.ctkd import ctkd_lambda, gradient_reversal

from .numerics import assert_close_normwise

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
MLKD_CONFIGS = sorted(glob.glob(osp.join(ROOT, 'configs/mlkd/mlkd*.py')))
CTKD_CONFIGS = sorted(glob.glob(osp.join(ROOT, 'configs/ctkd/ctkd*.py')))


def _set_epoch(epoch: int) -> None:
    """A fresh current MessageHub holding the 1-based ``epoch``."""
    hub = MessageHub.get_instance(f'test-mlkd-ctkd-{uuid.uuid4()}')
    hub.update_info('epoch', epoch - 1)


def _logits(*shape, seed=0, scale=3.0, dtype=torch.float64):
    gen = torch.Generator().manual_seed(seed)
    return (torch.randn(*shape, generator=gen) * scale).to(dtype)


# ---------------------------------------------------------------- MLKD --
def _ref_standardize(x):
    return (x - x.mean(1, keepdim=True)) / (1e-7 + x.std(1, keepdim=True))


def _ref_kd(s, t, temp, stand):
    if stand:
        s, t = _ref_standardize(s), _ref_standardize(t)
    return F.kl_div(
        F.log_softmax(s / temp, 1), F.softmax(t / temp, 1),
        reduction='none').sum(1).mean() * temp**2


def _ref_cc(s, t, temp):
    ps, pt = F.softmax(s / temp, 1), F.softmax(t / temp, 1)
    return ((pt.t() @ pt - ps.t() @ ps)**2).sum() / s.shape[1]


def _ref_bc(s, t, temp):
    ps, pt = F.softmax(s / temp, 1), F.softmax(t / temp, 1)
    return ((pt @ pt.t() - ps @ ps.t())**2).sum() / s.shape[0]


def _ref_mlkd(z_w, v_w, z_s, v_s, temps, w, stand=False, quirk=True):
    """The spec's equations, written as the authors' code computes them:
    numpy-percentile boolean masks multiplied with reduced scalars."""
    p = F.softmax(v_w, 1)
    conf = p.max(1).values
    mask = conf.le(float(np.percentile(conf.numpy(), 50)))
    cls_conf = p.sum(0)
    cls_mask = cls_conf.le(float(np.percentile(cls_conf.numpy(), 50)))
    kd_weak = sum(w * (_ref_kd(z_w, v_w, t, stand) * mask).mean()
                  for t in temps)
    kd_strong = 0
    for i, t in enumerate(temps):
        s, v = (z_w, v_w) if quirk and i >= 3 else (z_s, v_s)
        kd_strong = kd_strong + w * _ref_kd(s, v, t, stand)
    cc = sum(w * (_ref_cc(z_w, v_w, t) * cls_mask).mean() for t in temps)
    bc = sum(w * (_ref_bc(z_w, v_w, t) * mask).mean() for t in temps)
    return kd_weak + kd_strong + cc + bc


def test_mlkd_hand_derived():
    # teacher weak probs [3/4, 1/4] and [1/2, 1/2]; uniform student; the
    # strong view matches exactly. Confidences 3/4, 1/2 (median 5/8) keep
    # one sample: f_s = 1/2; class sums 5/4, 3/4 (median 1): f_c = 1/2.
    v_w = torch.tensor([[math.log(3.0), 0.0], [0.0, 0.0]])
    z_w = torch.zeros(2, 2)
    z_s = v_s = torch.zeros(2, 2)
    kd = (0.75 * math.log(1.5) + 0.25 * math.log(0.5)) / 2
    cc = 36 / 256 / 2  # ||[[5,-1],[-1,-3]]/16||^2 / C
    bc = 1 / 64 / 2  # ||[[1/8,0],[0,0]]||^2 / B
    expected = 0.5 * kd + 0.5 * cc + 0.5 * bc
    # float32 on 2 x 2 logits: each term passes about a dozen roundings
    # (softmax, log, the Gram matrices, the means), and kd cancels.
    loss = MLKDLoss(temperatures=(1.0, ), loss_weight=1.0)(z_w, v_w, z_s,
                                                           v_s)
    assert_close_normwise(loss, torch.tensor(expected, dtype=torch.float64),
                          n_terms=12, dtype=torch.float32)
    loss = MLKDLoss(temperatures=(1.0, ), loss_weight=3.0)(z_w, v_w, z_s,
                                                           v_s)
    assert_close_normwise(loss,
                          torch.tensor(3 * expected, dtype=torch.float64),
                          n_terms=12, dtype=torch.float32)


@pytest.mark.parametrize('batch', [5, 6])
@pytest.mark.parametrize('stand', [False, True])
@pytest.mark.parametrize('quirk', [True, False])
def test_mlkd_matches_reference(batch, stand, quirk):
    temps = (2.0, 3.0, 5.0, 2.0, 6.0)  # duplicate T = 2, as in MLKD+Z
    z_w, v_w = _logits(batch, 7, seed=1), _logits(batch, 7, seed=2)
    z_s, v_s = _logits(batch, 7, seed=3), _logits(batch, 7, seed=4)
    loss = MLKDLoss(temps, loss_weight=9.0, logit_stand=stand,
                    strong_weak_quirk=quirk)
    z_w_, z_s_ = z_w.clone().requires_grad_(), z_s.clone().requires_grad_()
    out = loss(z_w_, v_w, z_s_, v_s)
    out.backward()
    z_w.requires_grad_()
    z_s.requires_grad_()
    ref = _ref_mlkd(z_w, v_w, z_s, v_s, temps, 9.0, stand, quirk)
    ref.backward()
    assert out.item() == pytest.approx(ref.item(), rel=1e-10)
    torch.testing.assert_close(z_w_.grad, z_w.grad, rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(z_s_.grad, z_s.grad, rtol=1e-9, atol=1e-12)


def test_mlkd_mask_fractions():
    # odd batch: (B + 1) / 2B of the samples are <= the median
    loss = MLKDLoss((1.0, ), loss_weight=1.0)
    for batch, frac in ((5, 3 / 5), (6, 1 / 2)):
        z_w, v_w = _logits(batch, 4, seed=5), _logits(batch, 4, seed=6)
        zero = torch.zeros_like(z_w)
        got = loss(z_w, v_w, zero, zero)
        kd = _ref_kd(z_w, v_w, 1.0, False)
        bc = _ref_bc(z_w, v_w, 1.0)
        cc = _ref_cc(z_w, v_w, 1.0)
        assert got.item() == pytest.approx(frac * (kd + bc) + 0.5 * cc)


def test_mlkd_quirk_uses_weak_logits():
    temps = (1.0, 3.0, 5.0, 2.0, 6.0)
    z_w, v_w = _logits(4, 5, seed=7), _logits(4, 5, seed=8)
    z_s, v_s = _logits(4, 5, seed=9), _logits(4, 5, seed=10)
    with_quirk = MLKDLoss(temps)(z_w, v_w, z_s, v_s)
    without = MLKDLoss(temps, strong_weak_quirk=False)(z_w, v_w, z_s, v_s)
    diff = sum(
        _ref_kd(z_w, v_w, t, False) - _ref_kd(z_s, v_s, t, False)
        for t in (2.0, 6.0))
    assert (with_quirk - without).item() == pytest.approx(diff.item())


@pytest.mark.parametrize('stand', [False, True])
def test_mlkd_gradcheck(stand):
    loss = MLKDLoss((2.0, 3.0, 5.0, 2.0, 6.0), logit_stand=stand)
    z_w = _logits(3, 4, seed=11).requires_grad_()
    z_s = _logits(3, 4, seed=12).requires_grad_()
    v_w, v_s = _logits(3, 4, seed=13), _logits(3, 4, seed=14)
    assert torch.autograd.gradcheck(
        lambda a, b: loss(a, v_w, b, v_s), (z_w, z_s), fast_mode=True)


def test_mlkd_teacher_detached_and_fp16():
    v_w = _logits(4, 5, seed=15, dtype=torch.float32).requires_grad_()
    z = _logits(4, 5, seed=16, dtype=torch.float32).requires_grad_()
    MLKDLoss()(z, v_w, z, v_w).backward()
    assert v_w.grad is None and z.grad is not None
    half = [_logits(4, 5, seed=s, dtype=torch.float16) for s in range(4)]
    out = MLKDLoss(logit_stand=True)(*half)
    assert out.dtype == torch.float32 and torch.isfinite(out)
    peaked = torch.tensor([[100.0, 0.0, 0.0], [0.0, 100.0, 0.0]])
    assert torch.isfinite(MLKDLoss()(peaked.flip(1), peaked, peaked, peaked))


def test_mlkd_fp32_under_autocast():
    preds = [_logits(4, 6, seed=s, dtype=torch.float32) for s in range(4)]
    loss = MLKDLoss((2.0, 3.0), logit_stand=True)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = loss(*preds)
    assert out.dtype == torch.float32
    assert out.item() == pytest.approx(loss(*preds).item(), rel=1e-6)


def test_mlkd_bad_input():
    good = torch.zeros(4, 5)
    with pytest.raises(ValueError,
                       match=r'MLKDLoss.*preds_T_strong.*\(4, 6\)'):
        MLKDLoss()(good, good, good, torch.zeros(4, 6))
    with pytest.raises(ValueError, match='MLKDLoss.*C >= 2'):
        MLKDLoss()(*[torch.zeros(4)] * 4)
    for temps in ((), (1.0, 0.0), (-2.0, ), (float('inf'), )):
        with pytest.raises(ValueError, match='MLKDLoss: temperatures'):
            MLKDLoss(temps)


# ---------------------------------------------------------------- CTKD --
def test_ctkd_lambda_schedule():
    assert ctkd_lambda(1, 5) == pytest.approx(0.5 * (1 - math.cos(math.pi /
                                                                  5)))
    assert ctkd_lambda(1, 5) == pytest.approx(0.0954915028)
    assert ctkd_lambda(3, 5) == pytest.approx(0.6545084972)
    assert ctkd_lambda(5, 5) == pytest.approx(1.0)
    assert ctkd_lambda(100, 5) == pytest.approx(1.0)
    assert ctkd_lambda(1, 10) == pytest.approx(0.0244717419)
    values = [ctkd_lambda(n, 10) for n in range(1, 12)]
    assert values == sorted(values)
    with pytest.raises(ValueError, match='ctkd_lambda'):
        ctkd_lambda(0, 5)


def test_gradient_reversal():
    x = torch.randn(3, dtype=torch.float64, requires_grad=True)
    y = gradient_reversal(x, 0.3)
    assert torch.equal(y, x)
    g = torch.randn(3, dtype=torch.float64)
    y.backward(g)
    torch.testing.assert_close(x.grad, -0.3 * g)


def test_ctkd_temperature_range():
    _set_epoch(1)
    loss = CTKDLoss()
    z = torch.zeros(2, 3)
    tau0 = loss.temperature(z, z)
    assert tau0.item() == pytest.approx(1 + 20 / (1 + math.exp(-1)))
    assert tau0.item() == pytest.approx(15.6211716)
    for theta in (-12.0, -1.0, 0.0, 3.0, 12.0):
        loss.theta.data.fill_(theta)
        tau = loss.temperature(z, z).item()
        assert 1.0 < tau < 21.0
        assert tau == pytest.approx(1 + 20 / (1 + math.exp(-theta)))


def _ref_ctkd_kd(z, v, theta, w=1.0):
    tau = 1 + 20 * torch.sigmoid(theta)
    return w * F.kl_div(
        F.log_softmax(z / tau, 1), F.softmax(v / tau, 1),
        reduction='batchmean') * tau**2


@pytest.mark.parametrize('epoch,warmup', [(1, 5), (3, 5), (7, 5), (1, 10)])
def test_ctkd_kd_value_and_theta_gradient(epoch, warmup):
    _set_epoch(epoch)
    loss = CTKDLoss(loss_weight=2.0, warmup_epochs=warmup)
    z = _logits(4, 6, seed=20).requires_grad_()
    v = _logits(4, 6, seed=21)
    out = loss(z, v)
    out.backward()
    theta = torch.ones(1, dtype=torch.float64, requires_grad=True)
    z_ref = z.detach().clone().requires_grad_()
    ref = _ref_ctkd_kd(z_ref, v, theta, w=2.0)
    ref.backward()
    assert out.item() == pytest.approx(ref.item(), rel=1e-10)
    torch.testing.assert_close(z.grad, z_ref.grad)
    # theta ascends the loss: its gradient is reversed and scaled by lambda
    lam = ctkd_lambda(epoch, warmup)
    assert loss.theta.grad.item() == pytest.approx(
        -lam * theta.grad.item(), rel=1e-5)
    assert loss.theta.grad.item() != 0


def test_ctkd_gradcheck_student():
    _set_epoch(2)
    loss = CTKDLoss(distill='dkd', dkd_alpha=1.0, dkd_beta=2.0)
    z = _logits(3, 5, seed=22).requires_grad_()
    v = _logits(3, 5, seed=23)
    labels = torch.tensor([0, 3, 4])
    assert torch.autograd.gradcheck(lambda a: loss(a, v, labels), (z, ))
    loss = CTKDLoss()
    assert torch.autograd.gradcheck(lambda a: loss(a, v), (z, ))


def _ref_official_dkd(z, v, y, alpha, beta, temp):
    """mdistiller / CTKD DKD: cat_mask binary probs, -1000 target mask."""
    gt = F.one_hot(y, z.shape[1]).bool()
    ps, pt = F.softmax(z / temp, 1), F.softmax(v / temp, 1)
    bs = torch.stack([(ps * gt).sum(1), (ps * ~gt).sum(1)], 1)
    bt = torch.stack([(pt * gt).sum(1), (pt * ~gt).sum(1)], 1)
    tckd = F.kl_div(torch.log(bs), bt, reduction='sum') * temp**2 / len(y)
    pt2 = F.softmax(v / temp - 1000.0 * gt, 1)
    ls2 = F.log_softmax(z / temp - 1000.0 * gt, 1)
    nckd = F.kl_div(ls2, pt2, reduction='sum') * temp**2 / len(y)
    return alpha * tckd + beta * nckd


def _ref_spec_dkd(z, v, y, alpha, beta, temp):
    """The spec's DKD equations with explicit non-target index lists (no
    mask, so no exact-zero probabilities)."""
    num, k = z.shape
    other = torch.stack([
        torch.tensor([c for c in range(k) if c != int(t)]) for t in y])
    terms = []
    for x in (z, v):
        p = F.softmax(x / temp, 1)
        p_gt = p.gather(1, y[:, None])
        terms.append((torch.cat([p_gt, 1 - p_gt], 1),
                      F.softmax(x.gather(1, other) / temp, 1)))
    (bs, ns), (bt, nt) = terms
    tckd = (bt * (bt.log() - bs.log())).sum() / num
    nckd = (nt * (nt.log() - ns.log())).sum() / num
    return (alpha * tckd + beta * nckd) * temp**2


def test_ctkd_dkd_matches_official():
    _set_epoch(4)
    loss = CTKDLoss(loss_weight=1.5, distill='dkd', dkd_alpha=1.0,
                    dkd_beta=8.0, warmup_epochs=5)
    loss.theta.data.fill_(-0.4)
    z = _logits(5, 6, seed=24).requires_grad_()
    v = _logits(5, 6, seed=25)
    y = torch.tensor([0, 1, 5, 2, 2])
    out = loss(z, v, y)
    out.backward()
    theta = torch.full((1, ), -0.4, dtype=torch.float64, requires_grad=True)
    z_ref = z.detach().clone().requires_grad_()
    ref = 1.5 * _ref_official_dkd(z_ref, v, y, 1.0, 8.0,
                                  1 + 20 * torch.sigmoid(theta))
    ref.backward()
    assert out.item() == pytest.approx(ref.item(), rel=1e-9)
    torch.testing.assert_close(z.grad, z_ref.grad)
    # the official theta gradient is NaN (see below): use the spec's form
    assert theta.grad.isnan().all()
    theta.grad = None
    spec = 1.5 * _ref_spec_dkd(z_ref, v, y, 1.0, 8.0,
                               1 + 20 * torch.sigmoid(theta))
    assert spec.item() == pytest.approx(ref.item(), rel=1e-9)
    spec.backward()
    assert loss.theta.grad.item() == pytest.approx(
        -ctkd_lambda(4, 5) * theta.grad.item(), rel=1e-5)


def test_ctkd_dkd_no_nan_theta_gradient():
    # A confident teacher: the official -1000 mask gives exact-zero teacher
    # probabilities and a NaN theta gradient; slicing does not.
    _set_epoch(1)
    v = torch.tensor([[30.0, 0.0, -5.0, 2.0], [0.0, 25.0, 1.0, -3.0]])
    z = torch.randn(2, 4, generator=torch.Generator().manual_seed(0))
    y = torch.tensor([0, 1])
    theta = torch.full((1, ), -4.0, requires_grad=True)
    _ref_official_dkd(z, v, y, 1.0, 8.0,
                      1 + 20 * torch.sigmoid(theta)).backward()
    assert torch.isnan(theta.grad).any()  # the failure being avoided
    loss = CTKDLoss(distill='dkd', dkd_beta=8.0)
    loss.theta.data.fill_(-4.0)
    z = z.clone().requires_grad_()
    loss(z, v, y).backward()
    assert torch.isfinite(loss.theta.grad).all()
    assert torch.isfinite(z.grad).all()
    assert loss.theta.grad.abs().item() > 0


def test_ctkd_fp32_under_autocast():
    _set_epoch(2)
    loss = CTKDLoss()
    z = _logits(4, 8, seed=26, dtype=torch.bfloat16)
    v = _logits(4, 8, seed=27, dtype=torch.bfloat16)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = loss(z, v)
    assert out.dtype == torch.float32
    ref = loss(z.float(), v.float())
    assert out.item() == pytest.approx(ref.item(), rel=1e-6)


def test_ctkd_instance_temperature():
    _set_epoch(6)
    torch.manual_seed(0)
    loss = CTKDLoss(temp_type='instance', num_classes=6, hidden_channels=8,
                    warmup_epochs=5)
    z = _logits(4, 6, seed=28).requires_grad_()
    v = _logits(4, 6, seed=29)
    tau = loss.temperature(z, v)
    assert tau.shape == (4, 1)
    assert ((tau > 1) & (tau < 21)).all()
    out = loss(z, v)
    tau = tau.detach()
    p = F.softmax(v / tau, 1) + 1e-7
    per = (p * (p.log() - F.log_softmax(z / tau, 1))).sum(1)
    assert out.item() == pytest.approx(
        (tau.squeeze(1)**2 * per).mean().item(), rel=1e-6)
    out.backward()
    grads = [p.grad for p in loss.mlp.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    # reversal: one step along -grad increases the loss (lambda = 1)
    with torch.no_grad():
        for param in loss.mlp.parameters():
            param -= 1e-3 * param.grad
    assert loss(z, v).item() > out.item()


def test_ctkd_zscore_wrapper():
    _set_epoch(3)
    loss = LogitStandardization(loss=dict(type='CTKDLoss', loss_weight=9.0))
    z = _logits(4, 10, seed=30).requires_grad_()
    v = _logits(4, 10, seed=31)
    theta = torch.ones(1, dtype=torch.float64)
    ref = _ref_ctkd_kd(_ref_standardize(z), _ref_standardize(v), theta, 9.0)
    assert loss(z, v).item() == pytest.approx(ref.item(), rel=1e-8)
    assert [n for n, _ in loss.named_parameters()] == ['loss.theta']


def test_ctkd_epoch_from_runtime_info_hook():
    """mmengine's default RuntimeInfoHook feeds the epoch (0-based
    ``runner.epoch`` before each train epoch) that CTKDLoss reads."""
    from types import SimpleNamespace

    from mmengine.hooks import RuntimeInfoHook
    hub = MessageHub.get_instance(f'test-runner-{uuid.uuid4()}')
    for done in (0, 1, 6):
        RuntimeInfoHook().before_train_epoch(
            SimpleNamespace(message_hub=hub, epoch=done))
        assert CTKDLoss().current_epoch() == done + 1


def test_ctkd_needs_epoch():
    MessageHub.get_instance(f'test-no-epoch-{uuid.uuid4()}')
    with pytest.raises(RuntimeError, match="CTKDLoss.*'epoch'"):
        CTKDLoss()(torch.zeros(2, 3), torch.zeros(2, 3))


def test_ctkd_bad_input():
    _set_epoch(1)
    with pytest.raises(ValueError, match=r'CTKDLoss.*\(2, 3\).*\(2, 4\)'):
        CTKDLoss()(torch.zeros(2, 3), torch.zeros(2, 4))
    with pytest.raises(ValueError, match='CTKDLoss.*gt_labels'):
        CTKDLoss(distill='dkd')(torch.zeros(2, 3), torch.zeros(2, 3))
    with pytest.raises(ValueError, match=r'CTKDLoss.*\[0, 2\].*max 3'):
        CTKDLoss(distill='dkd')(torch.zeros(2, 3), torch.zeros(2, 3),
                                torch.tensor([0, 3]))
    with pytest.raises(ValueError, match=r'CTKDLoss.*shape \(2, \)'):
        CTKDLoss(distill='dkd')(torch.zeros(2, 3), torch.zeros(2, 3),
                                torch.zeros(2, 3))
    for kwargs, msg in (
        (dict(t_start=0.0), 't_start.*got 0.0'),
        (dict(t_range=-1.0), 't_range.*got -1.0'),
        (dict(warmup_epochs=0), 'warmup_epochs.*got 0'),
        (dict(distill='ttm'), "distill.*'ttm'"),
        (dict(temp_type='layer'), "temp_type.*'layer'"),
        (dict(temp_type='instance'), 'num_classes'),
        (dict(temp_type='instance', num_classes=3, distill='dkd'),
         "'instance' supports distill='kd' only"),
    ):
        with pytest.raises(ValueError, match='CTKDLoss: .*' + msg):
            CTKDLoss(**kwargs)


# ------------------------------------------- two-view pipeline / algorithm --
def _mlkd_train_pipeline(scale):
    cfg = Config.fromfile(MLKD_CONFIGS[0])
    pipeline = copy.deepcopy(cfg.train_dataloader.dataset.pipeline)
    for view in pipeline[1]['transforms']:
        view[0]['scale'] = scale
    return pipeline


def _run_pipeline(pipeline, img, seed):
    from mmcv.transforms import Compose
    from mmengine.registry import init_default_scope
    init_default_scope('mmpretrain')
    np.random.seed(seed)
    load = pipeline[0]
    assert load['type'] == 'LoadImageFromFile'
    out = Compose(pipeline[1:])(dict(img=img.copy(), img_shape=img.shape[:2],
                                     ori_shape=img.shape[:2], gt_label=1))
    return out


def test_two_view_pipeline_deterministic_under_seed():
    img = np.random.default_rng(0).integers(0, 256, (48, 40, 3), np.uint8)
    pipeline = _mlkd_train_pipeline(32)
    a = _run_pipeline(pipeline, img, seed=3)
    b = _run_pipeline(pipeline, img, seed=3)
    c = _run_pipeline(pipeline, img, seed=4)
    assert len(a['inputs']) == 2
    assert all(v.shape == (3, 32, 32) for v in a['inputs'])
    assert all(torch.equal(x, y) for x, y in zip(a['inputs'], b['inputs']))
    assert not torch.equal(a['inputs'][1], c['inputs'][1])


def test_fixmatch_cutout_only():
    from mmkd_ext.datasets import FixMatchRandAugment
    img = np.full((20, 30, 3), 7, np.uint8)
    np.random.seed(0)
    out = FixMatchRandAugment(num_ops=0, cutout_max=1.0)(dict(img=img))['img']
    changed = (out != img).any(2)
    ys, xs = np.nonzero(changed)
    assert changed.sum() > 0
    # one filled rectangle, BGR of the RGB fill (125, 123, 114)
    assert changed.sum() == (np.ptp(ys) + 1) * (np.ptp(xs) + 1)
    assert (out[changed] == [114, 123, 125]).all()
    assert np.ptp(xs) + 1 <= 30


def test_fixmatch_bad_input():
    from mmkd_ext.datasets import FixMatchRandAugment
    with pytest.raises(ValueError, match='FixMatchRandAugment.*shape'):
        FixMatchRandAugment()(dict(img=np.zeros((8, 8), np.uint8)))
    with pytest.raises(ValueError, match='FixMatchRandAugment: cutout_max'):
        FixMatchRandAugment(cutout_max=2)


def _two_view_batch(task, input_size, batch_size, num_classes):
    weak = make_batch(task, input_size, batch_size, num_classes, seed=0)
    strong = make_batch(task, input_size, batch_size, num_classes, seed=1)
    return dict(inputs=[weak['inputs'], strong['inputs']],
                data_samples=weak['data_samples'])


def test_pipeline_to_train_step_and_recorded_views():
    """The config's real pipeline -> collate -> preprocessor -> loss: the
    MLKD loss receives the weak (record 0) and strong (record 1) logits."""
    from mmengine.dataset import pseudo_collate
    pipeline = _mlkd_train_pipeline(32)
    rng = np.random.default_rng(1)
    samples = [
        _run_pipeline(pipeline, rng.integers(0, 256, (40, 40, 3), np.uint8),
                      seed=s) for s in range(3)
    ]
    batch = pseudo_collate(samples)
    model, _ = build_algorithm(MLKD_CONFIGS[0])
    model.train()
    data = model.data_preprocessor(batch, True)
    weak, strong = data['inputs']
    assert weak.shape == strong.shape == (3, 3, 32, 32)
    losses = model.loss(data['inputs'], data['data_samples'])
    assert {'student.loss', 'student_view1.loss',
            'distill.loss_mlkd'} <= set(losses)
    rec_s = model.distiller.student_recorders.get_recorder('fc')
    rec_t = model.distiller.teacher_recorders.get_recorder('fc')
    assert len(rec_s.data_buffer) == len(rec_t.data_buffer) == 2
    with torch.no_grad():
        model.eval()
        expected = [model.teacher(v, mode='tensor') for v in (weak, strong)]
    torch.testing.assert_close(rec_t.data_buffer[0], expected[0])
    torch.testing.assert_close(rec_t.data_buffer[1], expected[1])
    ref = model.distiller.distill_losses['loss_mlkd'](
        rec_s.data_buffer[0], rec_t.data_buffer[0], rec_s.data_buffer[1],
        rec_t.data_buffer[1])
    assert losses['distill.loss_mlkd'].item() == pytest.approx(ref.item())
    # validation is single-view and goes through unchanged
    single = model.data_preprocessor(
        dict(inputs=[s['inputs'][0] for s in samples],
             data_samples=[s['data_samples'] for s in samples]), False)
    torch.testing.assert_close(single['inputs'], weak)
    model.eval()
    preds = model.val_step(
        dict(inputs=[s['inputs'][0] for s in samples],
             data_samples=[s['data_samples'] for s in samples]))
    assert len(preds) == 3 and preds[0].pred_score.shape == (1000, )
    with pytest.raises(ValueError, match='MultiViewDistill: expects 2'):
        model.loss(single['inputs'], single['data_samples'])


def test_multiview_preprocessor_refuses_batch_augments():
    from mmkd_ext.models.algorithms import MultiViewClsDataPreprocessor
    with pytest.raises(ValueError, match='MultiViewClsDataPreprocessor'):
        MultiViewClsDataPreprocessor(
            batch_augments=dict(augments=dict(type='Mixup', alpha=0.8)))


# ------------------------------------------------------------- configs --
EXPECTED = {
    # name prefix -> (loss type, loss params, CE weight, lr)
    'mlkd_logits_resnet34': ('MLKDLoss', dict(
        temperatures=(1.0, 3.0, 5.0, 2.0, 6.0), loss_weight=0.5), 0.5, 0.1),
    'mlkd_logits_resnet50': ('MLKDLoss', dict(
        temperatures=(1.0, 3.0, 5.0, 2.0, 6.0), loss_weight=0.5), 0.5, 0.2),
    'mlkd-zscore': ('MLKDLoss', dict(
        temperatures=(2.0, 3.0, 5.0, 2.0, 6.0), loss_weight=9.0,
        logit_stand=True), 0.5, 0.2),
    'ctkd_logits': ('CTKDLoss', dict(loss_weight=1.0, warmup_epochs=5,
                                     t_start=1.0, t_range=20.0), 1.0, 0.2),
    'ctkd-zscore': ('CTKDLoss', dict(loss_weight=9.0, warmup_epochs=5,
                                     t_start=1.0, t_range=20.0), 0.1, 0.2),
}


def _expected(cfg_path):
    name = osp.basename(cfg_path)
    (value, ) = [v for k, v in EXPECTED.items() if name.startswith(k)]
    return value


def test_config_list():
    assert len(MLKD_CONFIGS) == 4 and len(CTKD_CONFIGS) == 4


@pytest.mark.parametrize('cfg_path', MLKD_CONFIGS + CTKD_CONFIGS,
                         ids=osp.basename)
def test_config_settings(cfg_path):
    loss_type, params, ce_weight, lr = _expected(cfg_path)
    cfg = Config.fromfile(cfg_path)
    loss = list(cfg.model.distiller.distill_losses.values())
    assert len(loss) == 1
    loss = loss[0]
    zscore = (loss.type == 'LogitStandardization'
              or loss.get('logit_stand', False))
    assert ('zscore' in osp.basename(cfg_path)) == zscore
    if loss.type == 'LogitStandardization':
        loss = loss.loss
    assert loss.type == loss_type
    for key, value in params.items():
        got = tuple(loss[key]) if key == 'temperatures' else loss[key]
        assert got == value, (key, got, value)
    student = cfg.model.architecture
    assert student.head.loss.loss_weight == ce_weight
    assert ('mobilenet-v1' in cfg_path) == (
        student.backbone.type == 'MobileNetV1')
    assert cfg.optim_wrapper.optimizer.lr == lr
    assert cfg.optim_wrapper.optimizer.weight_decay == 1e-4
    assert cfg.optim_wrapper.optimizer.momentum == 0.9
    assert cfg.train_dataloader.batch_size * 8 == 512
    assert cfg.auto_scale_lr.base_batch_size == 512
    assert cfg.train_cfg.max_epochs == 100
    assert cfg.param_scheduler.milestones == [30, 60, 90]
    assert cfg.val_cfg.type == 'mmrazor.SingleTeacherDistillValLoop'
    if loss_type == 'MLKDLoss':
        assert cfg.model.type == 'MultiViewDistill'
        views = cfg.train_dataloader.dataset.pipeline[1]
        assert views.type == 'MultiView' and views.num_views == [1, 1]
        assert views.transforms[1][-1].type == 'FixMatchRandAugment'


@pytest.mark.parametrize('cfg_path', MLKD_CONFIGS + CTKD_CONFIGS,
                         ids=osp.basename)
def test_config_train_step(cfg_path):
    _set_epoch(1)
    mlkd = 'mlkd' in osp.basename(cfg_path)
    log_vars = run_train_step(
        cfg_path, 'cls', input_size=(32, 32), batch_size=2,
        batch_fn=_two_view_batch if mlkd else None)
    key = 'distill.loss_mlkd' if mlkd else 'distill.loss_ctkd'
    assert math.isfinite(log_vars[key]) and log_vars[key] > 0
    assert 'student.loss' in log_vars
    assert ('student_view1.loss' in log_vars) == mlkd
    assert math.isfinite(log_vars['loss'])
    if not mlkd:
        assert MessageHub.get_current_instance().get_scalar(
            'train/ctkd_tau').current() == pytest.approx(15.6211716)


def test_ctkd_theta_in_optimizer_with_weight_decay():
    from mmengine.optim import build_optim_wrapper
    _set_epoch(1)
    model, cfg = build_algorithm(CTKD_CONFIGS[-1])  # ctkd_..._resnet50_mv1
    model.train()
    theta = model.distiller.distill_losses['loss_ctkd'].theta
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    groups = [g for g in optim.optimizer.param_groups
              if any(p is theta for p in g['params'])]
    assert len(groups) == 1 and groups[0]['weight_decay'] == 1e-4
    assert groups[0]['lr'] == 0.2
    batch = make_batch('cls', (32, 32), 2, 1000)
    data = model.data_preprocessor(batch, True)
    losses = model.loss(data['inputs'], data['data_samples'])
    losses['distill.loss_ctkd'].backward()
    assert theta.grad is not None and theta.grad.abs().item() > 0
    model.zero_grad()
    before = theta.detach().clone()
    model.train_step(batch, optim)
    assert torch.isfinite(theta).all() and not torch.equal(theta, before)
