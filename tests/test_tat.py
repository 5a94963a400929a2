# Copyright (c) mmkd_ext contributors. All rights reserved.
"""TaT losses against a direct float64 implementation of the equations, and
the TaT configs (build + one train_step on CPU)."""
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from mmengine.logging import MessageHub
from mmengine.optim import build_optim_wrapper

from mmkd_ext.analysis import build_algorithm, make_batch, run_train_step
from mmkd_ext.models.losses.tat import (
    PerSampleBatchNorm2d,
    TaTAnchorPointLoss,
    TaTLoss,
    TaTPatchGroupLoss,
    TaTSegLoss,
    tat_reconfigure,
)

from .numerics import assert_grads_close_normwise

CONFIG_DIR = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))),
                      'configs', 'tat')


# ----------------------------------------------------------------------------
# Direct implementation of the equations (written independently of the loss
# code: explicit loops over groups, patches and pooling windows).
# ----------------------------------------------------------------------------
def ref_bn(x, bn, per_sample):
    """Train-mode BN by hand: statistics over (B, H, W) or over (H, W)."""
    dims = (2, 3) if per_sample else (0, 2, 3)
    mean = x.mean(dim=dims, keepdim=True)
    var = x.var(dim=dims, unbiased=False, keepdim=True)
    w = bn.weight.view(1, -1, 1, 1)
    b = bn.bias.view(1, -1, 1, 1)
    return (x - mean) / torch.sqrt(var + bn.eps) * w + b


def ref_embed(x, seq, per_sample):
    conv, bn = seq[0], seq[1]
    y = F.conv2d(x, conv.weight, padding=conv.kernel_size[0] // 2)
    return ref_bn(y, bn, per_sample)


def ref_embedding(embedding, fs, ft, per_sample, teacher_embed=True):
    q = ref_embed(fs, embedding.embed_query, per_sample)
    v = ref_embed(fs, embedding.embed_value, per_sample)
    ft = ft.detach()
    k = ref_embed(ft, embedding.embed_key, per_sample) \
        if teacher_embed else ft
    return q, k, v, ft


def ref_one_to_all(q, k, v, groups):
    """f_s' with A = softmax_j(q_i . k_j) per contiguous channel group."""
    b, c, h, w = v.shape
    d = c // groups
    outs = []
    for g in range(groups):
        sl = slice(g * d, (g + 1) * d)
        qg = q[:, sl].reshape(b, d, h * w)
        kg = k[:, sl].reshape(b, d, h * w)
        vg = v[:, sl].reshape(b, d, h * w)
        attn = torch.softmax(torch.einsum('bdi,bdj->bij', qg, kg), dim=-1)
        outs.append(torch.einsum('bij,bdj->bdi', attn, vg))
    return torch.cat(outs, dim=1).reshape(b, c, h, w)


def ref_stack(x, n, m):
    """Patches of size (H//n, W//m), row-major, stacked: channel p*C + c."""
    h, w = x.shape[2:]
    ph, pw = h // n, w // m
    nh, nw = h // ph, w // pw
    patches = []
    for i in range(nh):
        for j in range(nw):
            patches.append(x[:, :, i * ph:(i + 1) * ph, j * pw:(j + 1) * pw])
    return torch.cat(patches, dim=1)


def ref_patch_group(q, k, v, ft, n, m, g):
    qs, ks, vs, ts = (ref_stack(x, n, m) for x in (q, k, v, ft))
    return ((ref_one_to_all(qs, ks, vs, g) - ts)**2).mean()


def ref_pool(x, a_h, a_w):
    h, w = x.shape[2:]
    kh, kw = h // a_h, w // a_w
    rows = []
    for i in range(h // kh):
        cols = []
        for j in range(w // kw):
            block = x[:, :, i * kh:(i + 1) * kh, j * kw:(j + 1) * kw]
            cols.append(block.mean(dim=(2, 3)))
        rows.append(torch.stack(cols, dim=-1))
    return torch.stack(rows, dim=-2)


def ref_anchor(q, k, v, ft, a_h, a_w):
    qp, kp, vp, tp = (ref_pool(x, a_h, a_w) for x in (q, k, v, ft))
    return ((ref_one_to_all(qp, kp, vp, 1) - tp)**2).mean()


def randomize(module, seed=0):
    """Non-trivial BN affine parameters (float64)."""
    gen = torch.Generator().manual_seed(seed)
    module.double()
    for mod in module.modules():
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.weight.data = torch.rand(
                mod.weight.shape, generator=gen, dtype=torch.float64) + 0.5
            mod.bias.data = torch.randn(
                mod.bias.shape, generator=gen, dtype=torch.float64)
    return module


def maps(b, cs, ct, h, w, seed=0):
    """Student (requires grad) and teacher maps, float64."""
    gen = torch.Generator().manual_seed(seed)
    fs = torch.randn(b, cs, h, w, generator=gen, dtype=torch.float64)
    ft = torch.randn(b, ct, h, w, generator=gen, dtype=torch.float64)
    return fs.requires_grad_(), ft


def grads(loss, tensors):
    return torch.autograd.grad(loss, tensors, retain_graph=True)


def assert_same(loss, ref, inputs):
    torch.testing.assert_close(loss, ref, rtol=1e-10, atol=1e-12)
    # Gradients sum over batch x queries x keys after channel contractions;
    # the key embedding's BN bias gets zero up to rounding (it shifts a
    # row's logits by one constant, which the softmax ignores): norm-wise,
    # against all the gradients together.
    b, c, h, w = inputs[0].shape
    assert_grads_close_normwise(grads(loss, inputs), grads(ref, inputs),
                                n_terms=b * (h * w)**2 + c)


# ----------------------------------------------------------------------------
# One-to-all
# ----------------------------------------------------------------------------
@pytest.mark.parametrize('teacher_embed,kernel_size', [(True, 1),
                                                       (False, 3)])
def test_one_to_all_matches_equations(teacher_embed, kernel_size):
    # G = 2 heads, Cs = 3 != Ct = 4, H x W = 3 x 5, chunked attention.
    loss_fn = randomize(
        TaTLoss(3, 4, kernel_size=kernel_size, teacher_embed=teacher_embed,
                groups=2, loss_weight=0.7, chunk_size=4))
    fs, ft = maps(2, 3, 4, 3, 5)
    loss = loss_fn(fs, ft)
    q, k, v, t = ref_embedding(loss_fn.embedding, fs, ft, False,
                               teacher_embed)
    ref = 0.7 * ((ref_one_to_all(q, k, v, 2) - t)**2).mean()
    params = [p for p in loss_fn.parameters()]
    assert_same(loss, ref, [fs] + params)
    # theta is trained when it exists; the teacher map gets no gradient.
    ft_leaf = ft.clone().requires_grad_()
    out = loss_fn(fs, ft_leaf)
    out.backward()
    assert ft_leaf.grad is None
    if teacher_embed:
        assert loss_fn.embedding.embed_key[0].weight.grad.abs().sum() > 0
    else:
        assert isinstance(loss_fn.embedding.embed_key, torch.nn.Identity)


def test_one_to_all_groups_change_the_value():
    # The heads are not a no-op: G = 1 and G = 2 give different losses.
    torch.manual_seed(0)
    one = randomize(TaTLoss(3, 4, groups=1))
    two = randomize(TaTLoss(3, 4, groups=2))
    two.load_state_dict(one.state_dict())
    fs, ft = maps(2, 3, 4, 3, 3)
    assert not torch.allclose(one(fs, ft), two(fs, ft))


def test_efficient_equals_direct():
    torch.manual_seed(0)
    chunked = randomize(TaTLoss(4, 6, groups=3, chunk_size=5))
    direct = randomize(TaTLoss(4, 6, groups=3, chunk_size=None))
    direct.load_state_dict(chunked.state_dict())
    fs, ft = maps(2, 4, 6, 4, 4, seed=1)
    params_c = list(chunked.parameters())
    params_d = list(direct.parameters())
    loss_c, loss_d = chunked(fs, ft), direct(fs, ft)
    loss_m, attn = chunked(fs, ft, return_map=True)
    torch.testing.assert_close(loss_c, loss_d, rtol=1e-12, atol=0)
    torch.testing.assert_close(loss_m, loss_d, rtol=1e-12, atol=0)
    g_c = grads(loss_c, [fs] + params_c)
    g_d = grads(loss_d, [fs] + params_d)
    g_m = grads(loss_m, [fs] + params_c)
    # Norm-wise over B x N x N = 2 x 16 x 16 terms (see assert_same).
    assert_grads_close_normwise(g_c, g_d, n_terms=2 * 16 * 16 + 6)
    assert_grads_close_normwise(g_m, g_d, n_terms=2 * 16 * 16 + 6)
    # The map: (B, G, N, N), row i = student position, softmax over the
    # teacher positions j of q_i . k_j in each group of 2 channels.
    assert attn.shape == (2, 3, 16, 16)
    q, k, _, _ = ref_embedding(chunked.embedding, fs, ft, False)
    for g in range(3):
        qg = q[:, 2 * g:2 * g + 2].reshape(2, 2, 16)
        kg = k[:, 2 * g:2 * g + 2].reshape(2, 2, 16)
        torch.testing.assert_close(
            attn[:, g],
            torch.softmax(torch.einsum('bdi,bdj->bij', qg, kg), dim=-1))


def test_reconfigure_gradcheck_chunked():
    gen = torch.Generator().manual_seed(3)
    q, k, v = (torch.randn(2, 4, 3, 3, generator=gen, dtype=torch.float64,
                           requires_grad=True) for _ in range(3))
    assert torch.autograd.gradcheck(
        lambda a, b, c: tat_reconfigure(a, b, c, groups=2, chunk_size=4)[0],
        (q, k, v))


# ----------------------------------------------------------------------------
# Patch-group and anchor-point
# ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    'h,w,n,m,c,g',
    [
        (7, 9, 2, 4, 3, 12),  # 3x2 patches, remainders; P = 8 < g = 12
        (10, 7, 4, 3, 2, 5),  # nh = 5 > n = 4; P = 15, 3 patches / group
        (8, 8, 2, 2, 4, 2),  # divisible sizes, 2 patches / group
    ])
def test_patch_group_matches_equations(h, w, n, m, c, g):
    loss_fn = TaTPatchGroupLoss((n, m), g, loss_weight=1.3, chunk_size=3)
    gen = torch.Generator().manual_seed(h * w + g)
    q, k, v, ft = (torch.randn(2, c, h, w, generator=gen,
                               dtype=torch.float64, requires_grad=True)
                   for _ in range(4))
    loss = loss_fn(q, k, v, ft)
    ref = 1.3 * ref_patch_group(q, k, v, ft.detach(), n, m, g)
    assert_same(loss, ref, [q, k, v])
    # The dropped remainder does not influence the loss.
    ph, pw = h // n, w // m
    kept_h, kept_w = (h // ph) * ph, (w // pw) * pw
    gq = grads(loss_fn(q, k, v, ft), [q])[0]
    assert gq[..., kept_h:, :].abs().sum() == 0
    assert gq[..., :, kept_w:].abs().sum() == 0
    assert gq[..., :kept_h, :kept_w].abs().sum() > 0


@pytest.mark.parametrize('h,w,a', [(7, 10, (3, 4)), (9, 9, (2, 2)),
                                   (6, 8, (6, 8))])
def test_anchor_point_matches_equations(h, w, a):
    loss_fn = TaTAnchorPointLoss(a, loss_weight=0.9, chunk_size=2)
    gen = torch.Generator().manual_seed(h * w)
    q, k, v, ft = (torch.randn(2, 3, h, w, generator=gen,
                               dtype=torch.float64, requires_grad=True)
                   for _ in range(4))
    loss = loss_fn(q, k, v, ft)
    ref = 0.9 * ref_anchor(q, k, v, ft.detach(), *a)
    assert_same(loss, ref, [q, k, v])


def test_seg_loss_matches_equations_and_shares_embeddings():
    loss_fn = randomize(
        TaTSegLoss(3, 4, patch_counts=(2, 3), groups=4, anchor_counts=(2, 2),
                   alpha=0.6, beta=1.0, gamma=0.4, per_sample_norm=False,
                   chunk_size=5))
    fs, ft = maps(2, 3, 4, 7, 8, seed=4)
    loss = loss_fn(fs, ft)
    q, k, v, t = ref_embedding(loss_fn.embedding, fs, ft, False)
    ref = 0.6 * (1.0 * ref_patch_group(q, k, v, t, 2, 3, 4) +
                 0.4 * ref_anchor(q, k, v, t, 2, 2))
    assert_same(loss, ref, [fs] + list(loss_fn.parameters()))
    # One set of embeddings (gamma, theta, phi), no parameters in the terms.
    assert len(list(loss_fn.patch_group.parameters())) == 0
    assert len(list(loss_fn.anchor_point.parameters())) == 0
    terms = loss_fn.loss_terms(fs, ft)
    torch.testing.assert_close(
        loss, 0.6 * (terms['patch'] + 0.4 * terms['anchor']))


# ----------------------------------------------------------------------------
# Per-sample normalisation
# ----------------------------------------------------------------------------
def test_per_sample_bn_is_bn_on_each_sample():
    torch.manual_seed(0)
    ours = PerSampleBatchNorm2d(3).double()
    ref = torch.nn.BatchNorm2d(3).double()
    ours.weight.data.uniform_(0.5, 1.5)
    ours.bias.data.normal_()
    ref.load_state_dict(ours.state_dict())
    x = torch.randn(4, 3, 5, 6, dtype=torch.float64, requires_grad=True)
    out = ours(x)
    loop = torch.cat([ref(x[i:i + 1]) for i in range(4)])
    torch.testing.assert_close(out, loop)
    weights = torch.randn(4, 3, 5, 6, dtype=torch.float64)
    g_ours = grads((out * weights).sum(), [x, ours.weight, ours.bias])
    g_loop = grads((loop * weights).sum(), [x, ref.weight, ref.bias])
    for a, b in zip(g_ours, g_loop):
        torch.testing.assert_close(a, b)
    # Running statistics: one update with the mean per-sample statistics.
    mean = x.detach().mean(dim=(2, 3)).mean(0)
    torch.testing.assert_close(ours.running_mean, 0.1 * mean)
    assert int(ours.num_batches_tracked) == 1
    # Eval mode uses the running statistics, as BatchNorm2d.
    ours.eval()
    ref.load_state_dict(ours.state_dict())
    ref.eval()
    torch.testing.assert_close(ours(x), ref(x))


def test_per_sample_norm_matches_loop_and_differs_from_batch_norm():
    kwargs = dict(patch_counts=2, groups=2, anchor_counts=2, alpha=0.5,
                  beta=1.0, gamma=0.7, chunk_size=4)
    per_sample = randomize(TaTSegLoss(3, 4, per_sample_norm=True, **kwargs))
    batch = randomize(TaTSegLoss(3, 4, per_sample_norm=False, **kwargs))
    batch.load_state_dict(per_sample.state_dict())
    fs, ft = maps(3, 3, 4, 6, 6, seed=5)
    params = list(per_sample.parameters())
    loss = per_sample(fs, ft)
    # The authors' distiller: one sample at a time, then the batch mean.
    loop = sum(per_sample(fs[i:i + 1], ft[i:i + 1]) for i in range(3)) / 3
    assert_same(loss, loop, [fs] + params)
    # Equations with per-sample statistics.
    q, k, v, t = ref_embedding(per_sample.embedding, fs, ft, True)
    ref = 0.5 * (ref_patch_group(q, k, v, t, 2, 2, 2) +
                 0.7 * ref_anchor(q, k, v, t, 2, 2))
    assert_same(loss, ref, [fs] + params)
    # Batch statistics: another value and other gradients.
    loss_b = batch(fs, ft)
    assert not torch.allclose(loss, loss_b)
    assert not torch.allclose(grads(loss, [fs])[0], grads(loss_b, [fs])[0])


def test_seg_loss_logs_terms():
    loss_fn = TaTSegLoss(2, 2, patch_counts=2, groups=1, anchor_counts=2)
    fs, ft = maps(2, 2, 2, 4, 4)
    hub = MessageHub.get_instance('test_tat_log')
    loss_fn.train()
    loss_fn(fs.float(), ft.float())
    terms = loss_fn.loss_terms(fs.float(), ft.float())
    scalars = hub.log_scalars
    for name in ('patch', 'anchor'):
        key = f'train/distill.tat_{name}_loss'
        assert key in scalars
        assert scalars[key].current() == pytest.approx(
            float(terms[name].detach()), rel=1e-5)


# ----------------------------------------------------------------------------
# Bad input
# ----------------------------------------------------------------------------
def test_errors_name_the_loss_and_sizes():
    loss_fn = TaTLoss(3, 4)
    with pytest.raises(ValueError, match=r'TaTLoss.*\(2, 3, 4, 4\).*'
                       r'\(2, 4, 4, 5\)'):
        loss_fn(torch.randn(2, 3, 4, 4), torch.randn(2, 4, 4, 5))
    with pytest.raises(ValueError, match='TaTLoss.*student_channels=3'):
        loss_fn(torch.randn(2, 5, 4, 4), torch.randn(2, 4, 4, 4))
    with pytest.raises(ValueError, match='TaTLoss.*teacher_channels=4.*'
                       'groups=3'):
        TaTLoss(3, 4, groups=3)
    with pytest.raises(ValueError, match='TaTLoss: chunk_size'):
        TaTLoss(3, 4, chunk_size=0)
    with pytest.raises(ValueError, match='TaTSegLoss: chunk_size'):
        TaTSegLoss(3, 4, patch_counts=2, groups=2, anchor_counts=2,
                   chunk_size='big')
    seg = TaTSegLoss(3, 4, patch_counts=2, groups=2, anchor_counts=2)
    with pytest.raises(ValueError, match='TaTSegLoss.*spatial size'):
        seg(torch.randn(2, 3, 8, 8), torch.randn(2, 4, 4, 4))

    x = torch.randn(1, 4, 6, 6)
    with pytest.raises(ValueError, match=r'TaTPatchGroupLoss.*\(n, m\)=\(8, '
                       r'2\).*\(H, W\)=\(6, 6\)'):
        TaTPatchGroupLoss((8, 2), groups=1)(x, x, x, x)
    with pytest.raises(ValueError, match=r'TaTAnchorPointLoss.*\(7, 7\).*'
                       r'\(H, W\)=\(6, 6\)'):
        TaTAnchorPointLoss(7)(x, x, x, x)
    # P * C not divisible by g: at build time when the sizes are known...
    with pytest.raises(ValueError, match=r'TaTPatchGroupLoss: P \* C = 4 '
                       r'patches \* 3 channels = 12.*groups=8'):
        TaTPatchGroupLoss(2, groups=8, channels=3, feat_size=(6, 6))
    with pytest.raises(ValueError, match='TaTPatchGroupLoss.*groups=5'):
        TaTSegLoss(3, 4, patch_counts=2, groups=5, anchor_counts=2,
                   feat_size=(8, 8))
    with pytest.raises(ValueError, match='TaTAnchorPointLoss.*exceed'):
        TaTSegLoss(3, 4, patch_counts=2, groups=2, anchor_counts=16,
                   feat_size=(8, 8))
    # ... otherwise at the first forward.
    with pytest.raises(ValueError, match=r'P \* C = 9 patches \* 4 channels'
                       r' = 36 is not divisible by groups=8'):
        TaTPatchGroupLoss(3, groups=8)(x, x, x, x)
    with pytest.raises(ValueError, match='same channels'):
        TaTPatchGroupLoss(3, groups=1)(x, x, x, torch.randn(1, 2, 6, 6))
    with pytest.raises(ValueError, match='kernel_size must be a positive odd'):
        TaTLoss(3, 4, kernel_size=2)


# ----------------------------------------------------------------------------
# Configs
# ----------------------------------------------------------------------------
SEG_CONFIGS = {
    # name: (B, lr, alpha, beta, gamma, n, g, a)
    'tat_decoder_deeplabv3plus-r101-d16_deeplabv3plus-r18-d16_'
    '1xb16-100e_voc12aug.py': (16, 0.007, 0.1, 1.0, 0.4, 16, 64, 32),
    'tat_decoder_deeplabv3plus-r101-d16_deeplabv3plus-mobilenet-v2-d16_'
    '1xb12-100e_voc12aug.py': (12, 0.004, 0.1, 1.0, 0.5, 32, 1024, 64),
    'tat_decoder_deeplabv3plus-r101-d16_deeplabv3plus-r18-d16_'
    '1xb16-100e_coco-stuff10k.py': (16, 0.01, 0.6, 1.0, 1.0, 32, 512, 32),
    'tat_decoder_deeplabv3plus-r101-d16_deeplabv3plus-mobilenet-v2-d16_'
    '1xb12-100e_coco-stuff10k.py': (12, 0.007, 0.4, 1.0, 1.0, 16, 64, 32),
}
CLS_CONFIGS = [
    'tat_backbone_resnet34_resnet18_8xb256-100e_in1k.py',
    'tat-kd_backbone_resnet34_resnet18_8xb256-100e_in1k.py',
]


@pytest.mark.parametrize('name', sorted(SEG_CONFIGS))
def test_seg_config_settings(name):
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(CONFIG_DIR, name))
    b, lr, alpha, beta, gamma, n, g, a = SEG_CONFIGS[name]
    loss = cfg.model.distiller.distill_losses.loss_tat
    assert loss.type == 'TaTSegLoss' and loss.per_sample_norm
    assert (loss.alpha, loss.beta, loss.gamma) == (alpha, beta, gamma)
    assert (loss.patch_counts, loss.groups, loss.anchor_counts) == (n, g, a)
    assert cfg.train_dataloader.batch_size == b
    assert cfg.optim_wrapper.optimizer.lr == lr
    assert cfg.optim_wrapper.optimizer.nesterov
    student = cfg.model.architecture
    assert student.decode_head.loss_decode.loss_weight == pytest.approx(1 / b)
    assert student.auxiliary_head is None
    custom = cfg.optim_wrapper.paramwise_cfg.custom_keys
    assert custom['architecture.decode_head'].lr_mult == 10
    for rec in ('student_recorders', 'teacher_recorders'):
        assert cfg.model.distiller[rec].feat.source == \
            'decode_head.sep_bottleneck.1.pointwise_conv.bn'


def _small_seg_options():
    # 32 x 32 images -> 8 x 8 decoder map: smaller patch/anchor counts.
    # The data preprocessor pads training images to the crop size.
    prefix = 'model.distiller.distill_losses.loss_tat.'
    return {prefix + 'patch_counts': 4, prefix + 'anchor_counts': 4,
            prefix + 'feat_size': (8, 8),
            'model.architecture.data_preprocessor.size': (32, 32)}


@pytest.mark.parametrize('name', sorted(SEG_CONFIGS))
def test_seg_config_train_step(name):
    # run_train_step, keeping the model to inspect the recorded features.
    model, cfg = build_algorithm(osp.join(CONFIG_DIR, name),
                                 _small_seg_options())
    model.train()
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    batch = make_batch('seg', (32, 32), 2,
                       model.architecture.decode_head.num_classes)
    embed_key = model.distiller.distill_losses.loss_tat.embedding.embed_key
    theta_before = embed_key[0].weight.detach().clone()
    log_vars = model.train_step(batch, optim_wrapper)
    assert float(log_vars['distill.loss_tat']) > 0
    assert all(torch.isfinite(v).all() for v in log_vars.values())
    loss_cfg = cfg.model.distiller.distill_losses.loss_tat
    channels = (loss_cfg.student_channels, loss_cfg.teacher_channels)
    recorders = (model.distiller.student_recorders,
                 model.distiller.teacher_recorders)
    for rec, c in zip(recorders, channels):
        feat = rec.get_recorder('feat').data_buffer[0]
        assert feat.shape == (2, c, 8, 8)  # stride 4
        assert feat.min() < 0  # the BN output, before the ReLU
    # The embeddings are trained with the student.
    assert not torch.equal(embed_key[0].weight, theta_before)
    # Output stride 16 for teacher and student.
    with torch.no_grad():
        for net in (model.architecture, model.teacher):
            net.eval()
            assert net.backbone(torch.zeros(1, 3, 32, 32))[-1].shape[-2:] \
                == (2, 2)


@pytest.mark.parametrize('name', CLS_CONFIGS)
def test_cls_config_train_step(name):
    log_vars = run_train_step(osp.join(CONFIG_DIR, name), 'cls',
                              input_size=(64, 64))
    assert log_vars['distill.loss_tat'] > 0
    if name.startswith('tat-kd'):
        assert log_vars['distill.loss_kl'] > 0
    assert all(torch.isfinite(torch.tensor(v)) for v in log_vars.values())


def test_cls_config_settings_and_student_init(tmp_path):
    from mmengine.config import Config
    from mmpretrain.registry import MODELS as CLS_MODELS
    from torchvision.models import resnet18
    cfg = Config.fromfile(osp.join(CONFIG_DIR, CLS_CONFIGS[0]))
    loss = cfg.model.distiller.distill_losses.loss_tat
    assert (loss.kernel_size, loss.teacher_embed, loss.groups) == (3, False,
                                                                   1)
    assert loss.loss_weight == 0.2
    assert cfg.model.architecture.head.loss.loss_weight == 0.1
    opt = cfg.optim_wrapper.optimizer
    assert (opt.type, opt.lr, opt.weight_decay) == ('AdamW', 1.6e-3, 5e-4)
    assert cfg.train_dataloader.batch_size * 8 == 2048
    kd = Config.fromfile(osp.join(CONFIG_DIR, CLS_CONFIGS[1]))
    losses = kd.model.distiller.distill_losses
    assert (losses.loss_tat.loss_weight, losses.loss_kl.loss_weight,
            losses.loss_kl.tau) == (0.1, 0.5, 1.0)
    assert kd.model.architecture.head.loss.loss_weight == 0.5
    # The student loads a whole torchvision ResNet-18 converted to
    # mmpretrain keys (backbone.* and head.fc.*), classifier included.
    src = resnet18().state_dict()
    ckpt = {('head.' if k.startswith('fc') else 'backbone.') + k: v
            for k, v in src.items()}
    path = str(tmp_path / 'r18.pth')
    torch.save(ckpt, path)
    arch = cfg.model.architecture
    arch.init_cfg.checkpoint = path
    student = CLS_MODELS.build(arch)
    student.init_weights()
    state = student.state_dict()
    for key, value in ckpt.items():
        torch.testing.assert_close(state[key], value)


def test_seg_r18_student_loads_torchvision_weights(tmp_path):
    from mmengine.config import Config
    from mmseg.registry import MODELS as SEG_MODELS
    from torchvision.models import resnet18
    name = 'tat_decoder_deeplabv3plus-r101-d16_deeplabv3plus-r18-d16_' \
        '1xb16-100e_voc12aug.py'
    cfg = Config.fromfile(osp.join(CONFIG_DIR, name))
    backbone_cfg = cfg.model.architecture.backbone
    assert backbone_cfg.init_cfg.checkpoint == 'torchvision://resnet18'
    src = resnet18().state_dict()
    path = str(tmp_path / 'resnet18.pth')
    torch.save(src, path)
    backbone_cfg.init_cfg.checkpoint = path
    backbone_cfg._scope_ = 'mmseg'
    backbone = SEG_MODELS.build(backbone_cfg)
    backbone.init_weights()
    state = backbone.state_dict()
    assert set(state) == {k for k in src if not k.startswith('fc.')}
    for key, value in state.items():
        torch.testing.assert_close(value, src[key])
