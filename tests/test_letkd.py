# Copyright (c) mmkd_ext contributors. All rights reserved.
"""letKD: KD layer, teacher targets, loss, targets file, prepare tool,
insertion into the student, export and configs."""
import copy
import importlib.util
import os
import os.path as osp

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmpretrain.structures import DataSample
from mmrazor.registry import MODELS
from mmseg.structures import SegDataSample

from mmkd_ext.analysis import build_algorithm, make_batch, run_train_step
from mmkd_ext.letkd import (
    load_letkd_target,
    normalize_target_spec,
    pixel_labels,
    save_letkd_targets,
)
from mmkd_ext.letkd.prepare import (
    fit_kmeans_centers,
    fit_lda,
    fit_subclasses,
    nearest_prototype,
    score_table,
)
from mmkd_ext.models.architectures import (
    LetKDLayer,
    NormalizedConv2d,
    build_letkd_student,
    insert_letkd_layers,
)
from mmkd_ext.models.losses import LetKDLoss
from mmkd_ext.models.losses.letkd import (
    LetKDIntermediateTarget,
    LetKDPenultimateTarget,
    letkd_kl,
    pool_teacher,
)

from .numerics import assert_close_normwise
from .tool_helpers import train_with_tool

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CFG_DIR = osp.join(ROOT, 'configs', 'letkd')

# ---------------------------------------------------------------- helpers


def _ncv(x, w, s):
    """Direct normalized conv: s * cos(W_o, x_i) per pixel (float64)."""
    n, c, h, wd = x.shape
    out = torch.empty(n, w.shape[0], h, wd, dtype=torch.float64)
    w2 = w.reshape(w.shape[0], -1)
    for b in range(n):
        for i in range(h):
            for j in range(wd):
                u = x[b, :, i, j]
                for o in range(w2.shape[0]):
                    denom = max(u.norm(), 1e-12) * max(w2[o].norm(), 1e-12)
                    out[b, o, i, j] = s * (u @ w2[o]) / denom
    return out


def _bn_train(a, gamma, beta, eps=1e-5):
    mean = a.mean(dim=(0, 2, 3), keepdim=True)
    var = a.var(dim=(0, 2, 3), unbiased=False, keepdim=True)
    return gamma.view(1, -1, 1, 1) * (a - mean) / torch.sqrt(
        var + eps) + beta.view(1, -1, 1, 1)


def _kl_direct(logits, p_t):
    """(1/M) sum_i sum_k p_T log(p_T / p_S), 0 log 0 = 0, float64 loops."""
    m, k = logits.shape
    p_s = torch.softmax(logits.double(), dim=1)
    total = 0.0
    for i in range(m):
        for j in range(k):
            p = float(p_t[i, j])
            if p > 0:
                total += p * (np.log(p) - np.log(float(p_s[i, j])))
    return total / m


def _write_targets(path, specs, teacher_ckpt=None, seed=0):
    """A valid targets file with random tensors for ``specs``."""
    gen = torch.Generator().manual_seed(seed)
    targets = {}
    for name, spec in specs.items():
        spec = normalize_target_spec(name, dict(spec))
        k, d = spec['num_templates'], spec['channels']
        if spec['kind'] == 'penultimate':
            tensors = dict(centers=torch.rand(k, d, generator=gen))
        else:
            dim = spec['lda_dim']
            tensors = dict(
                lda_weight=torch.randn(dim, d, generator=gen) / d**0.5,
                lda_bias=torch.randn(dim, generator=gen),
                centers=torch.randn(k, dim, generator=gen),
                prototypes=torch.randn(k, dim, generator=gen),
                score_table=torch.softmax(
                    torch.randn(k, k, generator=gen), dim=1))
        targets[name] = dict(spec=spec, tensors=tensors)
    save_letkd_targets(str(path), targets, teacher_ckpt)
    return str(path)


PENULT = dict(
    kind='penultimate', teacher_module='backbone.layer4', channels=4,
    num_templates=5)
INTER = dict(
    kind='intermediate', teacher_module='backbone.layer4.0', channels=4,
    num_classes=3, num_subclasses=2, lda_dim=2)


# ------------------------------------------------------------ KD layer


def test_normalized_conv_is_scaled_cosine():
    torch.manual_seed(0)
    conv = NormalizedConv2d(5, 7, scale=2.5).double()
    x = torch.randn(2, 5, 3, 4, dtype=torch.float64)
    x[0, :, 0, 0] = 0  # an all-zero pixel gives 0, not NaN
    out = conv(x)
    ref = _ncv(x, conv.weight.detach(), 2.5)
    torch.testing.assert_close(out, ref)
    assert out[0, :, 0, 0].abs().max() == 0
    assert out.abs().max() <= 2.5 + 1e-12
    # invariant to the norms of inputs and kernels
    conv2 = copy.deepcopy(conv)
    conv2.weight.data *= torch.rand(7, 1, 1, 1, dtype=torch.float64) + 0.5
    torch.testing.assert_close(conv2(3 * x), out)


def test_layer_matches_equations():
    torch.manual_seed(0)
    layer = LetKDLayer(6, 5, alpha=0.7).double()
    assert float(layer.conv1.scale) == 3.0
    assert float(layer.conv2.scale) == 1.0
    assert layer.conv1.weight.shape == (5, 6, 1, 1)
    assert layer.conv2.weight.shape == (6, 5, 1, 1)
    x = torch.randn(3, 6, 2, 3, dtype=torch.float64)
    w1, w2 = layer.conv1.weight.detach(), layer.conv2.weight.detach()

    # train mode: BN with batch statistics
    a = _ncv(x, w1, 3.0)
    torch.testing.assert_close(layer.conv1(x), a)
    p_s = torch.exp(a) / torch.exp(a).sum(1, keepdim=True)
    torch.testing.assert_close(torch.softmax(layer.conv1(x), 1), p_s)
    h = torch.relu(_bn_train(a, torch.ones(5), torch.zeros(5)).double())
    x_hat = x + 0.7 * _ncv(h, w2, 1.0)
    torch.testing.assert_close(layer(x), x_hat)

    # eval mode: BN with running statistics
    layer.eval()
    bn = layer.bn
    h = torch.relu((a - bn.running_mean.view(1, -1, 1, 1)) /
                   torch.sqrt(bn.running_var.view(1, -1, 1, 1) + 1e-5))
    torch.testing.assert_close(layer(x), x + 0.7 * _ncv(h, w2, 1.0))


def test_layer_gradcheck():
    torch.manual_seed(0)
    layer = LetKDLayer(3, 4).double()
    x = torch.randn(2, 3, 2, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(layer, (x, ))
    # every layer parameter gets a gradient from x_hat
    layer(x).sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0
               for p in layer.parameters())


def test_layer_bad_input():
    layer = LetKDLayer(8, 4)
    with pytest.raises(ValueError, match=r'\(N, 8, H, W\).*\(2, 6, 3, 3\)'):
        layer(torch.randn(2, 6, 3, 3))
    with pytest.raises(ValueError, match='num_templates'):
        LetKDLayer(8, 0)


# ------------------------------------------------------- teacher targets


def assert_target_close(p_t, ref, feats, centers, tau):
    """p_T = softmax(tau (2 f.c - |c|^2)) in float32: each logit is off by
    up to gamma_{D+1} (2 |f| |c| + |c|^2), and a softmax turns absolute
    logit errors into relative errors of at most 2 tau times that."""
    f = feats.double().permute(0, 2, 3, 1).reshape(-1, feats.shape[1])
    f_norm, c_norm = f.norm(dim=1), centers.double().norm(dim=1)
    terms = (2 * f_norm[:, None] * c_norm + c_norm**2).max().item()
    assert_close_normwise(p_t, ref, n_terms=feats.shape[1] + 1,
                          dtype=torch.float32, factor=2 * tau * terms)


@pytest.mark.parametrize('tau', [1.0, 0.5, 5.0])
def test_penultimate_target_hand_made(tau):
    centers = torch.tensor([[0., 0.], [1., 0.], [0., 2.]])
    feats = torch.tensor([[0.2, 0.1], [0.9, -0.2], [0.1, 1.5],
                          [3.0, 3.0]]).t().reshape(1, 2, 2, 2)
    p_t = LetKDPenultimateTarget(centers, tau)(feats)
    f = feats.double().permute(0, 2, 3, 1).reshape(-1, 2)
    d = ((f[:, None, :] - centers.double()[None])**2).sum(-1)
    ref = torch.softmax(-tau * d, dim=1)
    assert_target_close(p_t, ref, feats, centers, tau)
    assert p_t[0].argmax() == 0 and p_t[1].argmax() == 1
    assert p_t[2].argmax() == 2


def test_penultimate_target_large_features():
    """Raw post-ReLU features with large norms: the expansion used by the
    module equals the direct squared distances (float64 reference)."""
    torch.manual_seed(0)
    centers = torch.rand(16, 32) * 20
    feats = torch.rand(2, 32, 3, 3) * 20
    p_t = LetKDPenultimateTarget(centers, 0.01)(feats)
    f = feats.double().permute(0, 2, 3, 1).reshape(-1, 32)
    d = torch.cdist(f, centers.double())**2
    assert_target_close(p_t, torch.softmax(-0.01 * d, 1), feats, centers,
                        0.01)


def _hand_made_intermediate():
    # D = 3 -> d = 2 by dropping the last channel and shifting by b
    weight = torch.tensor([[1., 0., 0.], [0., 1., 0.]])
    bias = torch.tensor([0.5, -0.5])
    # C = 2 classes, S = 2 sub-classes, class-major
    centers = torch.tensor([[0., 0.], [4., 0.], [1., 0.], [0., 4.]])
    table = torch.tensor([[0.7, 0.1, 0.2, 0.0], [0.0, 1.0, 0.0, 0.0],
                          [0.25, 0.25, 0.25, 0.25], [0.0, 0.0, 0.5, 0.5]])
    return weight, bias, centers, table


def test_intermediate_target_hand_made():
    weight, bias, centers, table = _hand_made_intermediate()
    target = LetKDIntermediateTarget(weight, bias, centers, table, 2)
    # z = f[:2] + (0.5, -0.5)
    f = torch.tensor([
        [0.5, 0.5, 9.0],  # z = (1, 0): nearest overall is class 1's (1, 0)
        [0.5, 0.5, 9.0],  # same pixel, label 1 -> sub-class 2
        [-0.5, 4.5, 0.0],  # z = (0, 4): class 0 -> (0,0) vs (4,0): k*=0
        [3.5, 0.5, 0.0],  # z = (4, 0): class 0, k* = 1
    ]).t().reshape(1, 3, 2, 2)
    labels = torch.tensor([[[0, 1], [0, 0]]])
    p_t, valid = target(f, labels)
    assert valid.all()
    expected = table[[0, 2, 0, 1]]
    torch.testing.assert_close(p_t, expected)
    # ignored pixels (-1) are left out
    p_t, valid = target(f, torch.tensor([[[0, -1], [-1, 1]]]))
    assert valid.tolist() == [True, False, False, True]
    # pixel 3, z = (4, 0) with label 1: (1, 0) is nearer than (0, 4)
    torch.testing.assert_close(p_t, table[[0, 2]])


def test_pixel_labels_and_pool():
    cls = [DataSample().set_gt_label(2), DataSample().set_gt_label(0)]
    labels = pixel_labels(cls, (2, 3), num_classes=3)
    assert labels.shape == (2, 2, 3)
    assert (labels[0] == 2).all() and (labels[1] == 0).all()
    seg = torch.randint(0, 4, (1, 8, 8))
    seg[0, 0, 0] = 255
    sample = SegDataSample(gt_sem_seg=PixelData(data=seg))
    labels = pixel_labels([sample], (4, 4), num_classes=4)
    ref = seg[0, ::2, ::2].clone()
    ref[ref == 255] = -1
    assert labels[0].tolist() == ref.tolist()
    assert labels[0, 0, 0] == -1
    with pytest.raises(ValueError, match=r'outside \[0, 3\)'):
        pixel_labels([sample], (4, 4), num_classes=3)
    x = torch.arange(32.).reshape(1, 2, 4, 4)
    pooled = pool_teacher(x, 2)
    assert pooled[0, 0, 0, 0] == (0 + 1 + 4 + 5) / 4
    assert pool_teacher(x, 1) is x


# --------------------------------------------------- offline statistics


def _blobs(n_per_class, num_classes, dim, seed=0, spread=1.0):
    rng = np.random.default_rng(seed)
    means = rng.normal(0, 3, (num_classes, dim))
    x = np.concatenate([
        rng.normal(means[c], spread, (n_per_class, dim))
        for c in range(num_classes)
    ]).astype(np.float32)
    y = np.repeat(np.arange(num_classes), n_per_class)
    return x, y


def test_lda_matches_sklearn_transform():
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    x, y = _blobs(40, 5, 7)
    weight, bias = fit_lda(x, y, 3)
    assert weight.shape == (3, 7) and bias.shape == (3, )
    ref = LinearDiscriminantAnalysis(n_components=3).fit(x, y).transform(x)
    z = torch.from_numpy(x) @ weight.t() + bias
    np.testing.assert_allclose(z.numpy(), ref[:, :3], rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match='lda_dim=5'):
        fit_lda(x, y, 5)


def test_score_table_from_toy_run():
    """Sub-classes, prototypes and s_T from a toy LDA + K-means run, checked
    against a direct computation of the definitions."""
    num_classes, s = 3, 2
    x, y = _blobs(60, num_classes, 5, seed=1, spread=2.5)
    weight, bias = fit_lda(x, y, 2)
    z = torch.from_numpy(x) @ weight.t() + bias
    yt = torch.from_numpy(y)
    centers, prototypes = fit_subclasses(z, yt, num_classes, s, seed=0)
    assert centers.shape == prototypes.shape == (num_classes * s, 2)

    zn, cn = z.double().numpy(), centers.double().numpy()
    sub = np.empty(len(y), dtype=int)
    for i in range(len(y)):  # label-restricted nearest sub-class
        own = cn[y[i] * s:(y[i] + 1) * s]
        sub[i] = y[i] * s + np.argmin(((zn[i] - own)**2).sum(1))
    prot = np.stack([zn[sub == a].mean(0) for a in range(num_classes * s)])
    np.testing.assert_allclose(prototypes.numpy(), prot, rtol=1e-5,
                               atol=1e-5)
    near = np.array([np.argmin(((zn[i] - prot)**2).sum(1))
                     for i in range(len(y))])
    counts = np.zeros((num_classes * s, ) * 2)
    for a, b in zip(sub, near):
        counts[a, b] += 1
    ref = counts / counts.sum(1, keepdims=True)

    target = LetKDIntermediateTarget(weight, bias, centers,
                                     torch.eye(num_classes * s), s)
    a = target.assign(target.project(torch.from_numpy(x)), yt)
    assert a.tolist() == sub.tolist()
    b = nearest_prototype(z, prototypes)
    assert b.tolist() == near.tolist()
    k = num_classes * s
    table, empty = score_table(
        torch.bincount(a * k + b, minlength=k * k).view(k, k))
    assert empty == 0
    np.testing.assert_allclose(table.numpy(), ref, atol=1e-6)
    torch.testing.assert_close(table.sum(1), torch.ones(k))
    # overlapping classes: some pixels decide for another class
    assert (ref - np.diag(np.diag(ref))).sum() > 0


def test_score_table_empty_row_is_one_hot():
    counts = torch.tensor([[2., 2., 0.], [0., 0., 0.], [1., 0., 3.]])
    table, empty = score_table(counts)
    assert empty == 1
    torch.testing.assert_close(
        table, torch.tensor([[.5, .5, 0.], [0., 1., 0.], [.25, 0., .75]]))


def test_fit_subclasses_needs_enough_vectors():
    z = torch.randn(10, 2)
    y = torch.tensor([0] * 9 + [1])
    with pytest.raises(ValueError, match=r'classes \[1\]'):
        fit_subclasses(z, y, 2, 2)


# ------------------------------------------------------------------ loss


def test_kl_value_and_gradient():
    torch.manual_seed(0)
    logits = torch.randn(6, 5, dtype=torch.float64, requires_grad=True)
    p_t = torch.softmax(torch.randn(6, 5, dtype=torch.float64) * 2, 1)
    p_t[0] = torch.tensor([0.5, 0.5, 0, 0, 0], dtype=torch.float64)
    loss = letkd_kl(F.log_softmax(logits, 1), p_t)
    assert abs(float(loss) - _kl_direct(logits.detach(), p_t)) < 1e-10
    loss.backward()
    grad = (torch.softmax(logits.detach(), 1) - p_t) / 6
    torch.testing.assert_close(logits.grad, grad)
    assert torch.autograd.gradcheck(
        lambda a: letkd_kl(F.log_softmax(a, 1), p_t),
        (logits.detach().requires_grad_(), ))
    assert F.kl_div(F.log_softmax(logits, 1), p_t,
                    reduction='batchmean').item() == pytest.approx(
                        float(loss))


def test_penultimate_loss(tmp_path):
    path = _write_targets(tmp_path / 't.pth', dict(penult=PENULT))
    loss_fn = LetKDLoss(path, 'penult', tau=2.0, loss_weight=0.5, **PENULT)
    centers = load_letkd_target(path, 'penult', PENULT)['tensors']['centers']
    torch.manual_seed(0)
    s = torch.randn(2, 5, 3, 3, dtype=torch.float64, requires_grad=True)
    t = torch.rand(2, 4, 3, 3)
    loss = loss_fn(s, t)
    f = t.double().permute(0, 2, 3, 1).reshape(-1, 4)
    d = torch.cdist(f, centers.double())**2
    p_t = torch.softmax(-2.0 * d, 1)
    logits = s.detach().permute(0, 2, 3, 1).reshape(-1, 5)
    assert float(loss) == pytest.approx(0.5 * _kl_direct(logits, p_t),
                                        rel=1e-5)
    loss.backward()
    ref = 0.5 * (torch.softmax(logits, 1) - p_t) / 18
    torch.testing.assert_close(
        s.grad.permute(0, 2, 3, 1).reshape(-1, 5), ref, atol=1e-6,
        rtol=1e-4)
    # heterogeneous pair: the teacher map is average-pooled 2x2 first
    spec2 = dict(PENULT, pool=2)
    path2 = _write_targets(tmp_path / 't2.pth', dict(penult=spec2))
    pooled = LetKDLoss(path2, 'penult', **spec2)
    t2 = torch.rand(2, 4, 6, 6)
    with pytest.raises(ValueError, match='pool: 2 in the file, 1'):
        LetKDLoss(path2, 'penult', **PENULT)
    centers = load_letkd_target(path2, 'penult', spec2)['tensors']['centers']
    p_t = LetKDPenultimateTarget(centers)(F.avg_pool2d(t2, 2))
    assert float(pooled(s, t2)) == pytest.approx(
        _kl_direct(logits, p_t), rel=1e-5)


def test_intermediate_loss(tmp_path):
    weight, bias, centers, table = _hand_made_intermediate()
    spec = dict(
        kind='intermediate', teacher_module='backbone.layer4.0', channels=3,
        num_classes=2, num_subclasses=2, lda_dim=1)
    tensors = dict(lda_weight=weight, lda_bias=bias, centers=centers,
                   prototypes=centers, score_table=table)
    # inconsistent tensors are refused when the file is written
    with pytest.raises(ValueError, match='lda_weight has 2 rows'):
        save_letkd_targets(str(tmp_path / 'i.pth'),
                           dict(inter=dict(spec=spec, tensors=tensors)),
                           None)
    with pytest.raises(ValueError, match=r'"centers".*expected \(6, 2\)'):
        save_letkd_targets(
            str(tmp_path / 'i.pth'),
            dict(inter=dict(spec=dict(spec, num_classes=3, lda_dim=2),
                            tensors=tensors)), None)


    spec = dict(
        kind='intermediate', teacher_module='backbone.layer4.0', channels=3,
        num_classes=3, num_subclasses=2, lda_dim=2)
    centers3 = torch.cat([centers, torch.tensor([[9., 9.], [8., 8.]])])
    table3 = torch.eye(6)
    table3[:4, :4] = table
    save_letkd_targets(
        str(tmp_path / 'k.pth'), dict(
            inter=dict(
                spec=spec,
                tensors=dict(
                    lda_weight=weight, lda_bias=bias, centers=centers3,
                    prototypes=centers3, score_table=table3))), None)
    loss_fn = LetKDLoss(str(tmp_path / 'k.pth'), 'inter', **spec)
    f = torch.tensor([[0.5, 0.5, 9.0], [0.5, 0.5, 9.0], [-0.5, 4.5, 0.0],
                      [3.5, 0.5, 0.0]]).t().reshape(1, 3, 2, 2)
    seg = torch.tensor([[[0, 0, 1, 1], [0, 0, 1, 1], [255, 255, 0, 0],
                         [255, 255, 0, 0]]])
    sample = SegDataSample(gt_sem_seg=PixelData(data=seg))
    torch.manual_seed(0)
    s = torch.randn(1, 6, 2, 2, dtype=torch.float64, requires_grad=True)
    loss = loss_fn(s, f, [sample])
    # labels at 2x2: [[0, 1], [ignored, 0]]
    logits = s.detach().permute(0, 2, 3, 1).reshape(-1, 6)
    p_t = table3[[0, 2, 1]]
    ref = _kl_direct(logits[[0, 1, 3]], p_t)
    assert float(loss) == pytest.approx(ref, rel=1e-6)
    loss.backward()
    assert s.grad[0, :, 1, 0].abs().max() == 0  # the ignored pixel
    with pytest.raises(ValueError, match='data_samples'):
        loss_fn(s, f)


@pytest.mark.parametrize('s_shape,t_shape,match', [
    ((2, 6, 3, 3), (2, 4, 3, 3), 'templates'),
    ((2, 5, 3, 3), (2, 8, 3, 3), 'channels'),
    ((2, 5, 3, 3), (2, 4, 4, 4), 'does not match'),
    ((2, 5, 9), (2, 4, 3, 3), r'\(N, C, H, W\)'),
])
def test_loss_input_errors(tmp_path, s_shape, t_shape, match):
    path = _write_targets(tmp_path / 't.pth', dict(penult=PENULT))
    loss_fn = LetKDLoss(path, 'penult', **PENULT)
    with pytest.raises(ValueError, match=match):
        loss_fn(torch.randn(*s_shape), torch.rand(*t_shape))


def test_targets_file_errors(tmp_path):
    path = _write_targets(tmp_path / 't.pth',
                          dict(penult=PENULT, inter=INTER))
    missing = str(tmp_path / 'nope.pth')
    with pytest.raises(FileNotFoundError, match='nope.pth.*letkd_prepare'):
        LetKDLoss(missing, 'penult', **PENULT)
    for key, value in [('num_templates', 6), ('channels', 8),
                       ('teacher_module', 'backbone.layer3')]:
        with pytest.raises(ValueError) as info:
            LetKDLoss(path, 'penult', **dict(PENULT, **{key: value}))
        msg = str(info.value)
        assert path in msg and key in msg and str(value) in msg
    with pytest.raises(ValueError, match=r'num_classes: 3 in the file, 4'):
        LetKDLoss(path, 'inter', **dict(INTER, num_classes=4))
    with pytest.raises(ValueError, match='no target "other"'):
        LetKDLoss(path, 'other', **PENULT)
    # a partial description (e.g. an older config's sizes) says what to do
    with pytest.raises(ValueError, match='kind must be one of .*must be '
                       'whole: give all of it, or none'):
        LetKDLoss(path, 'penult', channels=4, num_templates=5)
    assert LetKDLoss(path, 'penult').spec == normalize_target_spec(
        'penult', PENULT)
    with pytest.raises(ValueError, match='lda_dim=3 exceeds'):
        normalize_target_spec('inter', dict(INTER, lda_dim=3))
    with pytest.raises(KeyError, match='unknown keys'):
        normalize_target_spec('penult', dict(PENULT, temperature=2))
    torch.save({'state_dict': {}}, str(tmp_path / 'ckpt.pth'))
    with pytest.raises(ValueError, match='not a letKD targets file'):
        LetKDLoss(str(tmp_path / 'ckpt.pth'), 'penult', **PENULT)
    data = torch.load(path, weights_only=True)
    data['version'] = 99
    torch.save(data, str(tmp_path / 'v.pth'))
    with pytest.raises(ValueError, match='format version 99'):
        LetKDLoss(str(tmp_path / 'v.pth'), 'penult', **PENULT)


# --------------------------------------------------- insertion / export


def _tiny_classifier(base=8, num_classes=3):
    return dict(
        _scope_='mmpretrain',
        type='ImageClassifier',
        backbone=dict(
            type='ResNet',
            depth=18,
            stem_channels=base,
            base_channels=base,
            out_indices=(3, )),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(
            type='LinearClsHead',
            num_classes=num_classes,
            in_channels=8 * base))


def test_inserted_layer_changes_output_and_is_saved(tmp_path):
    init_default_scope('mmrazor')
    torch.manual_seed(0)
    plain = MODELS.build(_tiny_classifier())
    layers = dict(
        penult=dict(module='backbone.layer4', in_channels=64,
                    num_templates=7),
        inter=dict(module='backbone.layer4.0', in_channels=64,
                   num_templates=6, alpha=0.5))
    model = build_letkd_student(_tiny_classifier(), layers)
    assert type(model) is type(plain)
    missing, unexpected = model.load_state_dict(plain.state_dict(),
                                                strict=False)
    assert not unexpected
    assert sorted({k.split('.')[1] for k in missing}) == ['inter', 'penult']
    plain.eval()
    model.eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        y_plain = plain(x, mode='tensor')
        y_kd = model(x, mode='tensor')
        assert (y_plain - y_kd).abs().max() > 1e-4
        # the head sees x_hat of the penultimate layer
        feats = plain.backbone.layer4[0](plain.backbone.layer3(
            plain.backbone.layer2(plain.backbone.layer1(
                plain.backbone.maxpool(plain.backbone.relu(
                    plain.backbone.norm1(plain.backbone.conv1(x))))))))
        feats = model.letkd.inter(feats)
        feats = model.letkd.penult(plain.backbone.layer4[1](feats))
        torch.testing.assert_close(
            y_kd, plain.head(plain.neck((feats, ))), atol=1e-5, rtol=1e-4)
        # alpha = 0: the layers are the identity
        for layer in model.letkd.values():
            layer.alpha = 0.0
        torch.testing.assert_close(model(x, mode='tensor'), y_plain)
        for layer, alpha in zip(model.letkd.values(), (1.0, 0.5)):
            layer.alpha = alpha

    # saved and loaded with the model
    path = str(tmp_path / 'student.pth')
    torch.save(model.state_dict(), path)
    assert 'letkd.penult.conv1.weight' in model.state_dict()
    assert 'letkd.inter.bn.running_var' in model.state_dict()
    again = build_letkd_student(_tiny_classifier(), layers).eval()
    again.load_state_dict(torch.load(path, weights_only=True), strict=True)
    with torch.no_grad():
        torch.testing.assert_close(again(x, mode='tensor'), y_kd)


class _TupleNet(nn.Module):

    def __init__(self):
        super().__init__()
        self.neck = nn.Identity()

    def forward(self, xs):
        return self.neck(tuple(xs))


def test_insert_on_tuple_outputs_and_errors():
    net = _TupleNet()
    insert_letkd_layers(
        net,
        dict(fpn=dict(module='neck', index=[0, 2], in_channels=4,
                      num_templates=3)))
    calls = []
    net.letkd.fpn.conv1.register_forward_hook(
        lambda m, i, o: calls.append(o.shape))
    xs = [torch.randn(2, 4, s, s) for s in (4, 2, 1)]
    outs = net(xs)
    assert isinstance(outs, tuple) and len(outs) == 3
    assert outs[1] is xs[1]
    net.eval()
    torch.testing.assert_close(net(xs)[2], net.letkd.fpn(xs[2]))
    assert calls[:2] == [(2, 3, 4, 4), (2, 3, 1, 1)]

    with pytest.raises(KeyError, match=r'"nek".*Closest:.*neck'):
        insert_letkd_layers(
            _TupleNet(),
            dict(a=dict(module='nek', in_channels=4, num_templates=3)))
    with pytest.raises(ValueError, match='already has'):
        insert_letkd_layers(
            net, dict(a=dict(module='neck', in_channels=4,
                             num_templates=3)))
    bad = _TupleNet()
    insert_letkd_layers(
        bad, dict(a=dict(module='neck', in_channels=4, num_templates=3)))
    with pytest.raises(TypeError, match='set `index`'):
        bad(xs)


# --------------------------------------------- prepare tool, end to end


def _make_dataset(root, num_classes=3, per_class=6, size=64):
    import mmcv
    rng = np.random.default_rng(0)
    for c in range(num_classes):
        folder = osp.join(root, 'train', f'class_{c}')
        os.makedirs(folder)
        for i in range(per_class):
            img = rng.integers(0, 256, (size, size, 3))
            img[..., c] = np.clip(img[..., c] + 120, 0, 255)
            mmcv.imwrite(img.astype(np.uint8), osp.join(folder, f'{i}.png'))


_TINY_CFG = '''
custom_imports = dict(imports=['mmkd_ext'], allow_failed_imports=False)
default_scope = 'mmpretrain'
data_root = '{root}'
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=64, edge='short'),
    dict(type='CenterCrop', crop_size=64),
    dict(type='PackInputs')]
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=64),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs')]
train_dataloader = dict(
    batch_size=4, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='CustomDataset', data_root=data_root,
                 data_prefix='train', pipeline=train_pipeline))
test_dataloader = dict(
    batch_size=4, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='CustomDataset', data_root=data_root,
                 data_prefix='train', pipeline=test_pipeline))
test_evaluator = dict(type='Accuracy', topk=(1, ))
train_cfg = dict(by_epoch=True, max_epochs=1)
test_cfg = dict()
teacher_ckpt = '{ckpt}'
letkd_file = '{out}'
letkd_targets = dict(
    penult=dict(kind='penultimate', teacher_module='backbone.layer4',
                channels=128, num_templates=8),
    inter=dict(kind='intermediate', teacher_module='backbone.layer3.0',
               channels=64, pool=2, num_classes=3, num_subclasses=2,
               lda_dim=2))
model = dict(
    _scope_='mmrazor',
    type='LetKDDistill',
    data_preprocessor=dict(
        type='mmpretrain.ClsDataPreprocessor', num_classes=3,
        mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
        to_rgb=True),
    architecture=dict(
        type='mmrazor.LetKDStudent',
        model={student},
        layers=dict(
            penult=dict(module='backbone.layer4', in_channels=64,
                        num_templates=8),
            inter=dict(module='backbone.layer4.0', in_channels=64,
                       num_templates=6))),
    teacher={teacher},
    teacher_ckpt=teacher_ckpt,
    distiller=dict(
        type='CheckedDistiller',
        student_recorders=dict(
            penult=dict(type='ModuleOutputs', source='letkd.penult.conv1'),
            inter=dict(type='ModuleOutputs', source='letkd.inter.conv1'),
            inputs=dict(type='ModuleInputs', source='')),
        teacher_recorders=dict(
            penult=dict(type='ModuleOutputs', source='backbone.layer4'),
            inter=dict(type='ModuleOutputs', source='backbone.layer3.0')),
        distill_losses=dict(
            loss_letkd_penult=dict(type='LetKDLoss', target_file=letkd_file,
                                   target='penult',
                                   **letkd_targets['penult']),
            loss_letkd_inter=dict(type='LetKDLoss', target_file=letkd_file,
                                  target='inter', **letkd_targets['inter'])),
        loss_forward_mappings=dict(
            loss_letkd_penult=dict(
                s_logits=dict(from_student=True, recorder='penult'),
                t_feats=dict(from_student=False, recorder='penult')),
            loss_letkd_inter=dict(
                s_logits=dict(from_student=True, recorder='inter'),
                t_feats=dict(from_student=False, recorder='inter'),
                data_samples=dict(from_student=True, recorder='inputs',
                                  data_idx=1)))))
optim_wrapper = dict(optimizer=dict(
    type='SGD', lr=0.01, momentum=0.9, nesterov=True, weight_decay=1e-4))
'''


def _load_tool():
    spec = importlib.util.spec_from_file_location(
        'letkd_prepare', osp.join(ROOT, 'tools', 'letkd_prepare.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def prepared(tmp_path_factory):
    """Tiny 3-class dataset, teacher checkpoint, config and the targets file
    written by tools/letkd_prepare.py."""
    tmp = tmp_path_factory.mktemp('letkd')
    root = str(tmp / 'data')
    _make_dataset(root)
    init_default_scope('mmrazor')
    torch.manual_seed(0)
    teacher = MODELS.build(_tiny_classifier(base=16))
    ckpt = str(tmp / 'teacher.pth')
    torch.save({'state_dict': teacher.state_dict()}, ckpt)
    cfg_path = str(tmp / 'letkd_tiny.py')
    with open(cfg_path, 'w') as f:
        f.write(
            _TINY_CFG.format(
                root=root,
                ckpt=ckpt,
                out=str(tmp / 'targets.pth'),
                student=repr(_tiny_classifier()),
                teacher=repr(_tiny_classifier(base=16))))
    work_dir = str(tmp / 'work')
    tool = _load_tool()
    argv = [cfg_path, '--work-dir', work_dir, '--max-vectors', '50',
            '--chunk-size', '5', '--batch-size', '2', '--num-workers', '0']
    out = tool.main(argv)
    return dict(tmp=tmp, cfg=cfg_path, ckpt=ckpt, out=out, argv=argv,
                work_dir=work_dir, teacher=teacher, tool=tool)


def _teacher_pixels(prepared):
    """All (pooled) teacher pixel vectors of the tiny set, recomputed here
    (test-time pipeline, the config's data preprocessor)."""
    from mmengine.dataset import pseudo_collate
    from mmengine.registry import DATASETS
    cfg = Config.fromfile(prepared['cfg'])
    init_default_scope('mmpretrain')
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    pre = MODELS.build(dict(cfg.model.data_preprocessor))
    teacher = prepared['teacher'].eval()
    data = pre(pseudo_collate([dataset[i] for i in range(len(dataset))]))
    records = {}
    hooks = [
        teacher.backbone.layer4.register_forward_hook(
            lambda m, i, o: records.__setitem__('penult', o)),
        teacher.backbone.layer3[0].register_forward_hook(
            lambda m, i, o: records.__setitem__('inter', o))
    ]
    with torch.no_grad():
        teacher(data['inputs'], mode='tensor')
    for h in hooks:
        h.remove()
    inter = F.avg_pool2d(records['inter'], 2)
    labels = torch.cat([s.gt_label for s in data['data_samples']])
    return records['penult'], inter, labels


def test_prepare_tool_end_to_end(prepared):
    cfg = Config.fromfile(prepared['cfg'])
    pen = load_letkd_target(prepared['out'], 'penult',
                            dict(cfg.letkd_targets.penult))
    inter = load_letkd_target(prepared['out'], 'inter',
                              dict(cfg.letkd_targets.inter))
    assert pen['tensors']['centers'].shape == (8, 128)
    # 18 images x 2 x 2 pixels, of which 50 are used for the fits
    assert pen['stats'] == dict(fit_vectors=50, total_vectors=72)
    assert inter['stats']['fit_vectors'] == 50
    assert inter['stats']['counted_vectors'] == 72
    tensors = inter['tensors']
    assert tensors['lda_weight'].shape == (2, 64)
    assert tensors['score_table'].shape == (6, 6)
    torch.testing.assert_close(tensors['score_table'].sum(1), torch.ones(6))

    # s_T equals the definition evaluated over every pixel
    f_pen, f_inter, labels = _teacher_pixels(prepared)
    target = LetKDIntermediateTarget(tensors['lda_weight'],
                                     tensors['lda_bias'], tensors['centers'],
                                     tensors['score_table'], 2)
    f = f_inter.permute(0, 2, 3, 1).reshape(-1, 64)
    y = labels.repeat_interleave(4)
    z = target.project(f)
    a = target.assign(z, y)
    b = nearest_prototype(z, tensors['prototypes'])
    table, _ = score_table(
        torch.bincount(a * 6 + b, minlength=36).view(6, 6))
    torch.testing.assert_close(tensors['score_table'], table)
    # the centers are the K-means of the 50 cached teacher pixel vectors
    # with the smallest keys
    folder = osp.join(prepared['work_dir'], 'pass1')
    parts = [
        torch.load(osp.join(folder, name),
                   weights_only=True)['targets']['penult']
        for name in sorted(os.listdir(folder))
    ]
    feats = torch.cat([p['feats'] for p in parts])
    keys = torch.cat([p['keys'] for p in parts])
    assert 50 < len(keys) < 72
    sel = keys.topk(50, largest=False).indices.sort().values
    torch.testing.assert_close(
        fit_kmeans_centers(feats[sel].numpy(), 8, seed=0),
        pen['tensors']['centers'])
    f = f_pen.permute(0, 2, 3, 1).reshape(-1, 128)
    gap = (feats[:, None] - f[None]).abs().amax(-1).min(1).values
    assert gap.max() < 1e-4  # the cached vectors are teacher pixels


def test_prepare_tool_resumes_from_caches(prepared):
    work = prepared['work_dir']
    pass1 = sorted(os.listdir(osp.join(work, 'pass1')))
    assert pass1 == [f'chunk_{i:05d}.pth' for i in range(4)]
    stamps = {
        p: os.stat(osp.join(work, 'pass1', p)).st_mtime_ns
        for p in pass1
    }
    before = torch.load(prepared['out'], weights_only=True)
    os.remove(prepared['out'])
    os.remove(osp.join(work, 'pass2', 'chunk_00002.pth'))
    prepared['tool'].main(prepared['argv'])
    after = torch.load(prepared['out'], weights_only=True)
    for name in ('penult', 'inter'):
        for key, value in before['targets'][name]['tensors'].items():
            torch.testing.assert_close(after['targets'][name]['tensors'][key],
                                       value)
    assert stamps == {
        p: os.stat(osp.join(work, 'pass1', p)).st_mtime_ns
        for p in pass1
    }
    assert after['teacher_checksum'].startswith('sha256:')
    # other sampling settings do not silently reuse the caches
    with pytest.raises(ValueError, match=r"\['max_vectors'\] differ"):
        prepared['tool'].main(prepared['argv'][:4] + ['40'] +
                              prepared['argv'][5:])


@pytest.mark.slow
def test_prepare_tool_two_processes(prepared):
    """torchrun with 2 CPU processes (gloo): same file as one process (the
    subsample does not depend on the number of processes)."""
    import socket
    import subprocess
    import sys
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    tmp = prepared['tmp']
    out = str(tmp / 'targets_dist.pth')
    argv = list(prepared['argv'])
    argv[2] = str(tmp / 'work_dist')
    cmd = [
        sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node=2',
        f'--master_port={port}',
        osp.join(ROOT, 'tools', 'letkd_prepare.py')
    ] + argv + ['--launcher', 'pytorch', '--cfg-options', f'letkd_file={out}']
    env = dict(os.environ, OMP_NUM_THREADS='1')
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert 'pass1: 2 chunks to run on rank 0' in proc.stdout  # of 4
    one = torch.load(prepared['out'], weights_only=True)
    two = torch.load(out, weights_only=True)
    for name in ('penult', 'inter'):
        assert one['targets'][name]['stats'] == two['targets'][name]['stats']
        for key, value in one['targets'][name]['tensors'].items():
            torch.testing.assert_close(two['targets'][name]['tensors'][key],
                                       value)


def _build(cfg_path, **options):
    cfg = Config.fromfile(cfg_path)
    cfg.merge_from_dict(options)
    init_default_scope('mmpretrain')
    return MODELS.build(cfg.model), cfg


def test_prepared_file_trains_and_student_exports(prepared, tmp_path):
    from mmengine.runner import Runner, save_checkpoint

    from mmkd_ext.utils import export_student
    model, cfg = _build(prepared['cfg'])
    model.train()
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    batch = make_batch('cls', (64, 64), 2, 3)
    before = copy.deepcopy(model.architecture.letkd.state_dict())
    log_vars = model.train_step(batch, optim)
    assert log_vars['distill.loss_letkd_penult'] > 0
    assert log_vars['distill.loss_letkd_inter'] >= 0
    # the KD layers train with the student (scales included)
    after = model.architecture.letkd.state_dict()
    for key in ('penult.conv1.weight', 'penult.conv1.scale',
                'inter.conv2.weight', 'inter.bn.weight'):
        assert (after[key] - before[key]).abs().max() > 0, key

    ckpt = str(tmp_path / 'algo.pth')
    save_checkpoint({'state_dict': model.state_dict()}, ckpt)
    out = export_student(ckpt, str(tmp_path / 'student.pth'), cfg)
    student_cfg = Config.fromfile(out['config'])
    student_cfg.work_dir = str(tmp_path / 'test')
    student_cfg.load_from = out['checkpoint']
    runner = Runner.from_cfg(student_cfg)  # the stock test-script path
    metrics = runner.test()
    assert 'accuracy/top1' in metrics
    tested = runner.model
    assert hasattr(tested, 'letkd') and set(tested.letkd) == {'penult',
                                                               'inter'}
    model.eval()
    for key, value in model.architecture.state_dict().items():
        torch.testing.assert_close(tested.state_dict()[key], value)


def test_prepared_file_trains_with_the_train_tool(prepared, tmp_path):
    """The Runner path (tools/train.py): one epoch with the targets file,
    the distillation validation loop and a checkpoint."""
    cfg = Config.fromfile(prepared['cfg'])
    cfg.val_dataloader = cfg.test_dataloader
    cfg.val_evaluator = cfg.test_evaluator
    cfg.val_cfg = dict(type='mmrazor.SingleTeacherDistillValLoop')
    cfg.default_hooks = dict(
        logger=dict(type='LoggerHook', interval=1),
        checkpoint=dict(type='CheckpointHook', interval=1))
    cfg_path = str(tmp_path / 'letkd_run.py')
    cfg.dump(cfg_path)
    log = train_with_tool(cfg_path, str(tmp_path / 'work'), timeout=900)
    assert 'distill.loss_letkd_penult' in log
    assert 'teacher.accuracy/top1' in log


def test_build_refuses_mismatched_files(prepared, tmp_path):
    cfg_path = prepared['cfg']
    losses = 'model.distiller.distill_losses'
    # another teacher checkpoint
    other = str(tmp_path / 'other_teacher.pth')
    state = {
        k: v + 1 if v.is_floating_point() else v
        for k, v in prepared['teacher'].state_dict().items()
    }
    torch.save({'state_dict': state}, other)
    with pytest.raises(ValueError) as info:
        _build(cfg_path, **{'model.teacher_ckpt': other})
    msg = str(info.value)
    assert prepared['out'] in msg and 'loss_letkd_' in msg
    assert 'sha256' in msg and 'other_teacher.pth' in msg
    with pytest.raises(ValueError, match='teacher checkpoint'):
        _build(cfg_path, **{'model.teacher_ckpt': None})
    # missing file
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        build_algorithm(cfg_path, {
            f'{losses}.loss_letkd_penult.target_file':
            str(tmp_path / 'missing.pth')
        })
    # wrong K, channels, classes
    for loss, key, value in [('penult', 'num_templates', 16),
                             ('penult', 'channels', 256),
                             ('inter', 'num_classes', 4),
                             ('inter', 'teacher_module', 'backbone.layer3')]:
        with pytest.raises(ValueError) as info:
            _build(cfg_path, **{f'{losses}.loss_letkd_{loss}.{key}': value})
        msg = str(info.value)
        assert prepared['out'] in msg and key in msg and str(value) in msg


def test_build_reads_the_description_from_the_file(prepared):
    """Losses given only the file and the target read K, channels, classes
    from the file; the algorithm still refuses a file computed for another
    teacher module than the recorded one."""
    cfg_path = prepared['cfg']
    losses = 'model.distiller.distill_losses'
    cfg = Config.fromfile(cfg_path)
    only_file = {
        f'{losses}.loss_letkd_{name}': dict(
            _delete_=True, type='LetKDLoss', target_file=prepared['out'],
            target=name)
        for name in ('penult', 'inter')
    }
    model, _ = _build(cfg_path, **only_file)
    for name in ('penult', 'inter'):
        loss = model.distiller.distill_losses[f'loss_letkd_{name}']
        assert loss.spec == normalize_target_spec(
            name, dict(cfg.letkd_targets[name]))
    recorder = 'model.distiller.teacher_recorders.penult.source'
    with pytest.raises(ValueError) as info:
        _build(cfg_path, **only_file, **{recorder: 'backbone.layer3'})
    msg = str(info.value)
    assert 'loss_letkd_penult' in msg and prepared['out'] in msg
    assert '"backbone.layer4"' in msg and '"backbone.layer3"' in msg


# ---------------------------------------------------------------- configs

_SLOW = pytest.mark.slow
CONFIGS = [
    ('letkd-1_penult_resnet34_resnet18_8xb32-100e_in1k.py', 'cls', None),
    pytest.param('letkd-2_inter-penult_resnet34_resnet18_8xb32-100e_in1k.py',
                 'cls', None, marks=_SLOW),
    pytest.param('letkd-1_penult_resnet50_mobilenet-v1_8xb32-100e_in1k.py',
                 'cls', None, marks=_SLOW),
    pytest.param(
        'letkd-2_inter-penult_resnet50_mobilenet-v1_8xb32-100e_in1k.py',
        'cls', None, marks=_SLOW),
    pytest.param('letkd-1_fpn_retinanet-r101_retinanet-r50_8xb2-2x_coco.py',
                 'det', None, marks=_SLOW),
    pytest.param(
        'letkd-2_inter-penult_pspnet-r101-d8_pspnet-r18-d8_4xb2-80k_'
        'cityscapes.py', 'seg', None, marks=_SLOW),
    # fast variant: 10 classes for the intermediate target (a 80 x 80
    # score table instead of 8000 x 8000)
    ('letkd-2_inter-penult_resnet34_resnet18_8xb32-100e_in1k.py', 'cls', 10),
]


def _config_options(cfg_path, task, tmp_path, inter_classes=None):
    """Random targets files matching the config (no teacher checkpoint)."""
    cfg = Config.fromfile(cfg_path)
    specs = {k: dict(v) for k, v in cfg.letkd_targets.items()}
    opts = {}
    if inter_classes:
        specs['inter'].update(num_classes=inter_classes,
                              lda_dim=min(specs['inter']['lda_dim'],
                                          inter_classes - 1))
        opts['model.architecture.layers.inter.num_templates'] = \
            inter_classes * specs['inter']['num_subclasses']
    path = _write_targets(tmp_path / 'targets.pth', specs)
    for name, loss in cfg.model.distiller.distill_losses.items():
        assert loss.type == 'LetKDLoss'
        opts[f'model.distiller.distill_losses.{name}.target_file'] = path
    if task == 'seg':
        # mmseg pads the fake batch to the crop size otherwise
        opts['model.architecture.model.data_preprocessor.size'] = (64, 64)
    return opts


@pytest.mark.parametrize('name,task,inter_classes', CONFIGS)
def test_config_train_step(name, task, inter_classes, tmp_path):
    cfg_path = osp.join(CFG_DIR, name)
    opts = _config_options(cfg_path, task, tmp_path, inter_classes)
    log_vars = run_train_step(cfg_path, task, cfg_options=opts)
    letkd = {k: v for k, v in log_vars.items() if 'loss_letkd' in k}
    n_expected = dict(cls=1 + name.startswith('letkd-2'), det=5, seg=2)
    assert len(letkd) == n_expected[task], log_vars
    assert all(np.isfinite(v) and v >= 0 for v in letkd.values()), letkd


def test_config_settings():
    """The issue's numbers, read back from the configs."""
    for name in ('letkd-1_penult_resnet34_resnet18_8xb32-100e_in1k.py',
                 'letkd-2_inter-penult_resnet50_mobilenet-v1_8xb32-100e_in1k'
                 '.py'):
        cfg = Config.fromfile(osp.join(CFG_DIR, name))
        opt = cfg.optim_wrapper.optimizer
        assert (opt.type, opt.lr, opt.momentum, opt.nesterov,
                opt.weight_decay) == ('SGD', 0.1, 0.9, True, 1e-4)
        assert cfg.param_scheduler.milestones == [30, 60, 90]
        assert cfg.param_scheduler.gamma == 0.1
        assert cfg.train_cfg.max_epochs == 100
        assert cfg.train_dataloader.batch_size * 8 == 256
        losses = cfg.model.distiller.distill_losses
        targets = cfg.letkd_targets
        assert targets.penult.num_templates == 4096
        assert losses.loss_letkd_penult.tau == 1.0
        assert all(v.loss_weight == 1.0 for v in losses.values())
        # the losses read the targets' descriptions from the targets file
        assert all(
            set(v) == {'type', 'target_file', 'target', 'tau', 'loss_weight'}
            - ({'tau'} if v.target == 'inter' else set())
            for v in losses.values()), losses
        layers = cfg.model.architecture.layers
        assert all(v.alpha == 1.0 for v in layers.values())
        assert layers.penult.num_templates == targets.penult.num_templates
    assert targets.inter.num_classes * targets.inter.num_subclasses == \
        layers.inter.num_templates
    assert targets.inter.lda_dim == 60
    assert targets.penult.channels == targets.inter.channels == 2048
    assert layers.inter.module == 'backbone.layers.11'
    assert targets.inter.teacher_module == 'backbone.layer4.0'
