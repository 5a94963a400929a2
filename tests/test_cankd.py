# Copyright (c) mmkd_ext contributors. All rights reserved.
"""Tests of CanKD (``CanKDLoss``) and of its configs.

The reference below is a direct implementation of the equations of
``configs/cankd/README.md`` that forms the full (B, N, M) affinity matrix,
as the authors' code does, with batch and instance normalisation written
out from their definitions.
"""
import glob
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from mmengine.optim import build_optim_wrapper
from mmengine.runner.checkpoint import get_state_dict, save_checkpoint
from mmrazor.registry import MODELS

from mmkd_ext.analysis import build_algorithm, make_batch, run_train_step
from mmkd_ext.models.losses import CanKDLoss
from mmkd_ext.utils import extract_student_state_dict

from .numerics import assert_close_normwise, assert_grads_close_normwise

AFFINITIES = ('dot_product', 'embedded_gaussian', 'gaussian')
CFG_DIR = osp.join(osp.dirname(__file__), '..', 'configs', 'cankd')


def _instance_norm(x, eps=1e-5):
    mean = x.mean(dim=(2, 3), keepdim=True)
    var = ((x - mean)**2).mean(dim=(2, 3), keepdim=True)
    return (x - mean) / torch.sqrt(var + eps)


def _batch_norm_train(x, weight, bias, eps=1e-5):
    mean = x.mean(dim=(0, 2, 3), keepdim=True)
    var = ((x - mean)**2).mean(dim=(0, 2, 3), keepdim=True)
    x_hat = (x - mean) / torch.sqrt(var + eps)
    return x_hat * weight.view(1, -1, 1, 1) + bias.view(1, -1, 1, 1)


def _conv1x1(x, conv):
    return torch.einsum('bchw,oc->bohw', x, conv.weight[:, :, 0, 0]) + \
        conv.bias.view(1, -1, 1, 1)


def direct_cankd(loss: CanKDLoss, x, y):
    """CanKD with the full affinity matrix f (B, N, M), authors' order:
    conv, then max-pool, on the teacher side."""
    b, c, h, w = x.shape
    p = loss.pool_size
    g = F.max_pool2d(_conv1x1(y, loss.g), p).flatten(2).transpose(1, 2)
    m = g.shape[1]
    if loss.affinity == 'gaussian':
        query = x.flatten(2).transpose(1, 2)  # (B, N, C)
        key = F.max_pool2d(y, p).flatten(2)  # (B, C, M)
    else:
        query = _conv1x1(x, loss.theta).flatten(2).transpose(1, 2)
        key = F.max_pool2d(_conv1x1(y, loss.phi), p).flatten(2)
    logits = torch.bmm(query, key)  # (B, N, M)
    assert logits.shape == (b, h * w, m)
    if loss.affinity == 'dot_product':
        f = logits / m
    else:
        f = torch.softmax(logits, dim=-1)
    a = torch.bmm(f, g).transpose(1, 2).reshape(b, -1, h, w)
    z = _batch_norm_train(
        _conv1x1(a, loss.out_proj), loss.out_bn.weight, loss.out_bn.bias)
    if loss.residual:
        z = z + x
    return loss.loss_weight * (
        (_instance_norm(z) - _instance_norm(y))**2).mean()


def _make_loss(affinity, channels, seed=0, dtype=torch.float64, **kwargs):
    """A CanKD loss whose output BN is not at its zero init, so that the
    attention branch contributes to the value and the gradients."""
    torch.manual_seed(seed)
    loss = CanKDLoss(channels, affinity=affinity, **kwargs).to(dtype)
    with torch.no_grad():
        loss.out_bn.weight.normal_(0., 1.)
        loss.out_bn.bias.normal_(0., 0.5)
    return loss.train()


def _features(b, c, h, w, seed=1, dtype=torch.float64, scale=1.0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(b, c, h, w, generator=gen, dtype=dtype) * scale
    y = torch.randn(b, c, h, w, generator=gen, dtype=dtype) * scale
    return x, y


def _out_bn_condition(loss: CanKDLoss, x, y) -> float:
    """max over channels of rms / std of the output BN's input: the
    attention averages g over the keys, so these channels are nearly
    constant and the BN amplifies their rounding by this factor."""
    outs = []
    hook = loss.out_proj.register_forward_hook(
        lambda mod, args, out: outs.append(out.detach()))
    with torch.no_grad():
        loss(x, y)
    hook.remove()
    mean, std = outs[0].mean((0, 2, 3)), outs[0].std((0, 2, 3), False)
    return ((mean**2 + std**2).sqrt() / std).max().item()


@pytest.mark.parametrize('affinity', AFFINITIES)
@pytest.mark.parametrize('shape,pool_size', [((1, 6, 5, 7), 2),
                                             ((2, 6, 7, 5), 2),
                                             ((3, 8, 9, 11), 2),
                                             ((2, 6, 7, 8), 3)])
def test_matches_full_matrix(affinity, shape, pool_size):
    """Value, student gradient and parameter gradients equal the direct
    full-matrix form (float64, odd sizes, floor pooling, chunked queries)."""
    b, c, h, w = shape
    # Small chunks: several query chunks (and a ragged last one).
    loss = _make_loss(affinity, c, pool_size=pool_size, chunk_size=4)
    x, y = _features(*shape, scale=0.5)
    x.requires_grad_(True)
    ours = loss(x, y)
    grads = torch.autograd.grad(ours, [x] + list(loss.parameters()))

    x_ref = x.detach().clone().requires_grad_(True)
    ref = direct_cankd(loss, x_ref, y)
    ref_grads = torch.autograd.grad(ref, [x_ref] + list(loss.parameters()))

    torch.testing.assert_close(ours, ref, rtol=1e-10, atol=1e-12)
    # Parameter gradients sum over batch x queries x keys after C-term
    # contractions, and the output BN amplifies what comes before it; some
    # are zero up to rounding (the biases of g, out_proj and out_bn, phi's
    # under a softmax): norm-wise, against all of them together.
    n_terms = b * h * w * ((h // pool_size) * (w // pool_size)) + c
    factor = 16 * _out_bn_condition(loss, x.detach(), y)
    assert_close_normwise(grads[0], ref_grads[0], n_terms=n_terms,
                          factor=factor)
    assert_grads_close_normwise(grads[1:], ref_grads[1:], n_terms=n_terms,
                                factor=factor)
    assert grads[0].abs().sum() > 0


@pytest.mark.parametrize('affinity', AFFINITIES)
def test_gradcheck(affinity):
    loss = _make_loss(affinity, 4, chunk_size=4)
    x, y = _features(2, 4, 3, 5, scale=0.5)
    x.requires_grad_(True)
    assert torch.autograd.gradcheck(
        lambda s: loss(s, y), (x, ), fast_mode=True)


@pytest.mark.parametrize('affinity', ['embedded_gaussian', 'gaussian'])
def test_chunked_equals_unchunked(affinity):
    """Query chunks with recomputation give the one-chunk value and grads."""
    x, y = _features(2, 8, 9, 13, scale=0.5)
    results = []
    for chunk_size in (None, 5):
        loss = _make_loss(affinity, 8, chunk_size=chunk_size)
        s = x.clone().requires_grad_(True)
        value = loss(s, y)
        value.backward()
        results.append((value.detach(), s.grad,
                        [p.grad for p in loss.parameters()]))
    (v0, g0, p0), (v1, g1, p1) = results
    # float64, another summation order: the sums behind a parameter gradient
    # run over batch x queries x keys (B x N x M = 2 x 117 x 24 after the
    # 2x2 pooling) and can cancel to ~0 in single elements, so compare
    # norm-wise against that many roundings (phi's bias has a zero gradient
    # under the softmax: measured against all parameter gradients).
    n_terms = 2 * (9 * 13) * ((9 // 2) * (13 // 2))
    factor = 16 * _out_bn_condition(loss, x, y)  # see test_matches_full_matrix
    assert_close_normwise(v1, v0, n_terms=n_terms, factor=factor)
    assert_close_normwise(g1, g0, n_terms=n_terms, factor=factor)
    assert_grads_close_normwise(p1, p0, n_terms=n_terms, factor=factor)


@pytest.mark.parametrize('affinity', AFFINITIES)
def test_float32_matches_full_matrix(affinity):
    """At a size where the affinity matrix is larger than d x d, float32
    results stay close to the float64 full-matrix reference."""
    loss = _make_loss(affinity, 16, dtype=torch.float32)
    x, y = _features(2, 16, 20, 30, dtype=torch.float32, scale=0.3)
    ours = loss(x, y)
    ref = direct_cankd(loss.double(), x.double(), y.double())
    torch.testing.assert_close(ours.double(), ref, rtol=1e-4, atol=1e-6)


def test_conv_before_pool():
    """phi and g convolve the full teacher map and then max-pool: the other
    order gives a different value (so the reference test can tell them
    apart)."""
    loss = _make_loss('dot_product', 6)
    x, y = _features(2, 6, 6, 8, scale=0.5)
    pooled_first = F.max_pool2d(y, 2)
    g_wrong = _conv1x1(pooled_first, loss.g)
    g_right = F.max_pool2d(_conv1x1(y, loss.g), 2)
    assert not torch.allclose(g_wrong, g_right)
    torch.testing.assert_close(loss(x, y), direct_cankd(loss, x, y))


@pytest.mark.parametrize('affinity', AFFINITIES)
@pytest.mark.parametrize('b', [1, 3])
def test_identity_at_init(affinity, b):
    """Zero-initialised BN: z = x, loss = mu * mean((IN(x) - IN(y))^2)."""
    torch.manual_seed(0)
    loss = CanKDLoss(6, affinity=affinity, loss_weight=5.0).double()
    x, y = _features(b, 6, 7, 9)
    expected = 5.0 * ((_instance_norm(x) - _instance_norm(y))**2).mean()
    torch.testing.assert_close(loss(x, y), expected, rtol=1e-12, atol=0)
    # Without the residual the block outputs BN(.) = 0 at init.
    loss = CanKDLoss(6, affinity=affinity, residual=False,
                     loss_weight=5.0).double()
    expected = 5.0 * (_instance_norm(y)**2).mean()
    torch.testing.assert_close(loss(x, y), expected, rtol=1e-12, atol=0)


def test_loss_weight_is_mu():
    """loss_weight multiplies the plain mean (no extra 1/2): the authors'
    loss_weight=10 on their halved MSE is our loss_weight=5."""
    x, y = _features(2, 6, 5, 5)
    one = _make_loss('dot_product', 6, loss_weight=1.0)(x, y)
    five = _make_loss('dot_product', 6, loss_weight=5.0)(x, y)
    torch.testing.assert_close(five, 5 * one)
    authors = 10 * F.mse_loss(
        F.instance_norm(x), F.instance_norm(y)) / 2
    fresh = CanKDLoss(6, loss_weight=5.0).double()
    torch.testing.assert_close(fresh(x, y), authors)


def test_structure():
    loss = CanKDLoss(7)
    assert loss.inter_channels == 3
    assert CanKDLoss(1).inter_channels == 1
    assert not hasattr(CanKDLoss(8, affinity='gaussian'), 'theta')
    assert not hasattr(CanKDLoss(8, affinity='gaussian'), 'phi')
    assert (loss.out_bn.weight == 0).all() and (loss.out_bn.bias == 0).all()


def test_teacher_gets_no_gradient():
    loss = _make_loss('dot_product', 6)
    x, y = _features(2, 6, 5, 7)
    x.requires_grad_(True)
    y.requires_grad_(True)
    loss(x, y).backward()
    assert y.grad is None
    assert x.grad is not None and x.grad.abs().sum() > 0
    for name, param in loss.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name


@pytest.mark.parametrize('s_shape,t_shape,match', [
    ((2, 8, 6, 6), (2, 16, 6, 6), r'\(2, 8, 6, 6\).*\(2, 16, 6, 6\)'),
    ((2, 8, 6, 6), (2, 8, 6, 4), r'\(2, 8, 6, 6\).*\(2, 8, 6, 4\)'),
    ((2, 8, 36), (2, 8, 36), r'\(B, C, H, W\).*\(2, 8, 36\)'),
    ((2, 4, 6, 6), (2, 4, 6, 6), r'in_channels=8.*4 channels'),
    ((2, 8, 1, 6), (2, 8, 1, 6), r'too small.*pool_size=2'),
])
def test_bad_input(s_shape, t_shape, match):
    loss = CanKDLoss(8)
    with pytest.raises(ValueError, match='CanKDLoss') as info:
        loss(torch.randn(s_shape), torch.randn(t_shape))
    assert info.match(match)


def test_bad_arguments():
    with pytest.raises(ValueError, match='affinity'):
        CanKDLoss(8, affinity='cosine')
    with pytest.raises(ValueError, match='pool_size'):
        CanKDLoss(8, pool_size=0)
    for chunk_size in (0, 'big', 2.5):
        with pytest.raises(ValueError, match='CanKDLoss: chunk_size'):
            CanKDLoss(8, chunk_size=chunk_size)
    assert CanKDLoss(8).chunk_size == 'auto'
    with pytest.raises(ValueError, match='in_channels'):
        CanKDLoss(0)


def test_registered():
    loss = MODELS.build(dict(type='CanKDLoss', in_channels=8))
    assert isinstance(loss, CanKDLoss)


# ---------------------------------------------------------------- configs
# name: (task, input size, slow). Inputs are the smallest sizes at which the
# distilled maps can be pooled (RetinaNet/RepPoints P6 has stride 64). The
# ImageNet configs and one COCO config step in the default run; the other
# teachers take 20-50 s each on 2 shared cores (-m slow).
CONFIGS = {
    'cankd_fpn_retinanet-r101_retinanet-r50_2xb2-2x_coco.py':
    ('det', 128, True),
    'cankd-dagger_fpn_retinanet-r101_retinanet-r50_2xb2-2x_coco.py':
    ('det', 128, True),
    'cankd_fpn_faster-rcnn-r101_faster-rcnn-r50_2xb2-2x_coco.py':
    ('det', 64, False),
    'cankd-dagger_fpn_faster-rcnn-r101_faster-rcnn-r50_2xb2-2x_coco.py':
    ('det', 64, True),
    'cankd_fpn_reppoints-x101-dconv_reppoints-r50_2xb2-2x_coco.py':
    ('det', 128, True),
    'cankd-dagger_fpn_reppoints-x101-dconv_reppoints-r50_2xb2-2x_coco.py':
    ('det', 128, True),
    'cankd_backbone_pspnet-r101-d8_pspnet-r18-d8_2xb2-80k_cityscapes.py':
    ('seg', 64, True),
    'cankd_backbone_deeplabv3-r101-d8_deeplabv3-r18-d8_2xb2-80k_cityscapes.py':
    ('seg', 64, True),
    'cankd_backbone_pspnet-r101-d8_deeplabv3-r18-d8_2xb2-80k_cityscapes.py':
    ('seg', 64, True),
    'cankd_backbone_deeplabv3-r101-d8_deeplabv3-mobilenet-v2-d8_2xb2-80k_'
    'cityscapes.py': ('seg', 64, True),
    'cankd_backbone_resnet34_resnet18_8xb32-100e_in1k.py': ('cls', 64, False),
    'cankd_backbone_resnet50_mobilenet-v1_8xb32-100e_in1k.py':
    ('cls', 64, False),
}


def _cfg(name):
    return osp.join(CFG_DIR, name)


def _small_input(task, size):
    """cfg_options that keep the data preprocessor from padding the fake
    batch to the full crop size (mmseg pads to 512x1024)."""
    if task == 'seg':
        return {'model.architecture.data_preprocessor.size': (size, size)}
    return None


def test_config_list_complete():
    # cankd_decoder_* (DeepLabV3+ on VOC / COCOStuff10k, our extension) are
    # tested in tests/test_matrix.py.
    found = {osp.basename(p) for p in glob.glob(osp.join(CFG_DIR, '*.py'))
             if not osp.basename(p).startswith('cankd_decoder_')}
    assert found == set(CONFIGS)


@pytest.mark.parametrize('name', [
    pytest.param(name, marks=pytest.mark.slow) if CONFIGS[name][2] else name
    for name in sorted(CONFIGS)
])
def test_config_train_step(name):
    """Each config builds with its real architectures (random weights) and
    runs one distillation train_step on CPU."""
    task, size, _ = CONFIGS[name]
    log_vars = run_train_step(
        _cfg(name), task, input_size=(size, size),
        cfg_options=_small_input(task, size))
    cankd = {k: v for k, v in log_vars.items() if 'loss_cankd' in k}
    n_expected = 4 if task == 'det' else 1
    assert len(cankd) == n_expected, log_vars
    assert all(v > 0 and v == v for v in cankd.values()), cankd


@pytest.mark.parametrize('name', sorted(CONFIGS))
def test_config_loads(name):
    """Every config parses; its CanKD losses have keys with "loss", weight
    mu and a mapping each; the teacher checkpoint is a user path."""
    from mmengine.config import Config
    cfg = Config.fromfile(_cfg(name))
    distiller = cfg.model.distiller
    assert distiller.type == 'CheckedDistiller'
    assert cfg.custom_imports.imports == ['mmkd_ext']
    assert cfg.val_cfg.type == 'mmrazor.SingleTeacherDistillValLoop'
    assert cfg.model.teacher_ckpt.startswith('path/to/')
    mu = 10.0 if 'pspnet-r101-d8_deeplabv3-r18' in name else 5.0
    assert set(distiller.distill_losses) == set(
        distiller.loss_forward_mappings)
    for key, loss in distiller.distill_losses.items():
        assert 'loss' in key and loss.type == 'CanKDLoss'
        assert loss.loss_weight == mu
        assert loss.get('affinity', 'dot_product') == 'dot_product'


def test_config_settings():
    """The numbers of the issue, read back from the built configs."""
    from mmengine.config import Config
    det = Config.fromfile(
        _cfg('cankd_fpn_retinanet-r101_retinanet-r50_2xb2-2x_coco.py'))
    assert det.optim_wrapper.optimizer.lr == 0.005
    assert det.optim_wrapper.optimizer.momentum == 0.9
    assert det.optim_wrapper.optimizer.weight_decay == 1e-4
    assert det.optim_wrapper.clip_grad.max_norm == 35
    assert det.train_cfg.max_epochs == 24
    assert det.param_scheduler[1].milestones == [16, 22]
    assert det.auto_scale_lr.base_batch_size == 4
    assert det.train_dataloader.batch_size == 2
    assert det.model.type == 'FpnTeacherDistill'
    for cfg in det.model.distiller.distill_losses.values():
        assert cfg.loss_weight == 5.0 and cfg.in_channels == 256
    idx = sorted(m.s_feature.data_idx
                 for m in det.model.distiller.loss_forward_mappings.values())
    assert idx == [0, 1, 2, 3]

    dagger = Config.fromfile(
        _cfg('cankd-dagger_fpn_faster-rcnn-r101_faster-rcnn-r50_2xb2-2x_'
             'coco.py'))
    arch = dagger.model.architecture
    assert arch.neck.init_cfg.prefix == 'neck.'
    assert arch.roi_head.bbox_head.init_cfg.prefix == 'roi_head.bbox_head.'
    assert arch.neck.init_cfg.checkpoint == dagger.model.teacher_ckpt
    assert 'resnet50' in arch.backbone.init_cfg.checkpoint

    seg = Config.fromfile(
        _cfg('cankd_backbone_pspnet-r101-d8_deeplabv3-r18-d8_2xb2-80k_'
             'cityscapes.py'))
    assert seg.model.distiller.distill_losses.loss_cankd.loss_weight == 10.0
    assert seg.optim_wrapper.optimizer.lr == 0.01
    assert seg.optim_wrapper.optimizer.weight_decay == 5e-4
    assert seg.train_cfg.max_iters == 80000
    assert seg.param_scheduler[0].type == 'PolyLR'
    mv2 = Config.fromfile(
        _cfg('cankd_backbone_deeplabv3-r101-d8_deeplabv3-mobilenet-v2-d8_'
             '2xb2-80k_cityscapes.py'))
    assert mv2.model.distiller.student_recorders.feat.source == \
        'backbone.layer7'
    assert mv2.model.distiller.connectors.loss_cankd_sfeat.in_channel == 320

    cls = Config.fromfile(
        _cfg('cankd_backbone_resnet34_resnet18_8xb32-100e_in1k.py'))
    assert cls.train_cfg.max_epochs == 100
    assert cls.model.distiller.distill_losses.loss_cankd.loss_weight == 5.0


def test_params_trained_and_saved(tmp_path):
    """Built from a config: the CanKD parameters get gradients, are in the
    optimizer and in the saved checkpoint, are not in the student, and the
    frozen teacher gets no gradient."""
    name = 'cankd_backbone_resnet50_mobilenet-v1_8xb32-100e_in1k.py'
    model, cfg = build_algorithm(_cfg(name))
    model.train()
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    cankd = model.distiller.distill_losses['loss_cankd']
    assert isinstance(cankd, CanKDLoss)
    # Move the BN off its zero init so every CanKD parameter is on the
    # gradient path in this single step.
    with torch.no_grad():
        cankd.out_bn.weight.fill_(0.5)
    before = {k: v.detach().clone() for k, v in cankd.named_parameters()}
    grads = {}
    for pname, param in cankd.named_parameters():
        param.register_hook(
            lambda g, pname=pname: grads.__setitem__(pname, g.clone()))
    model.train_step(make_batch('cls', (64, 64), 2, 4), optim_wrapper)

    optimized = {id(p) for group in optim_wrapper.optimizer.param_groups
                 for p in group['params']}
    for pname, param in cankd.named_parameters():
        assert id(param) in optimized, pname
        assert grads[pname].abs().sum() > 0, pname
        assert not torch.equal(param.detach(), before[pname]), pname
    for pname, param in model.teacher.named_parameters():
        assert param.grad is None and not param.requires_grad, pname

    path = str(tmp_path / 'ckpt.pth')
    save_checkpoint({'state_dict': get_state_dict(model)}, path)
    state = torch.load(path, map_location='cpu', weights_only=False)
    state = state['state_dict']
    keys = [k for k in state if k.startswith(
        'distiller.distill_losses.loss_cankd.')]
    expected = {f'distiller.distill_losses.loss_cankd.{k}'
                for k in cankd.state_dict()}
    assert set(keys) == expected
    for k, v in cankd.state_dict().items():
        torch.testing.assert_close(
            state[f'distiller.distill_losses.loss_cankd.{k}'], v)
    # The exported student is exactly the student's own state.
    exported = extract_student_state_dict({'state_dict': state})
    assert set(exported) == set(model.student.state_dict())


def test_missing_connector_error():
    """A connector-less config whose channels differ fails at the first step
    with the loss key and both shapes."""
    name = 'cankd_backbone_resnet50_mobilenet-v1_8xb32-100e_in1k.py'
    opts = {
        'model.distiller.connectors': None,
        'model.distiller.loss_forward_mappings.loss_cankd.s_feature':
        dict(_delete_=True, from_student=True, recorder='feat'),
    }
    with pytest.raises(ValueError) as info:
        run_train_step(_cfg(name), 'cls', cfg_options=opts)
    msg = str(info.value)
    assert 'loss_cankd' in msg and 'CanKDLoss' in msg
    assert '(2, 1024, 2, 2)' in msg and '(2, 2048, 2, 2)' in msg


def test_missing_recorder_module_error():
    name = 'cankd_backbone_resnet34_resnet18_8xb32-100e_in1k.py'
    opts = {'model.distiller.student_recorders.feat.source': 'backbone.layr4'}
    with pytest.raises(KeyError, match='backbone.layr4'):
        build_algorithm(_cfg(name), opts)


def test_wrong_rank_error():
    """Recorders that give (B, K) vectors: the first step names the loss
    key, CanKDLoss and both shapes."""
    name = 'cankd_backbone_resnet34_resnet18_8xb32-100e_in1k.py'
    opts = {
        'model.distiller.student_recorders.feat.source': 'head.fc',
        'model.distiller.teacher_recorders.feat.source': 'head.fc',
    }
    with pytest.raises(ValueError) as info:
        run_train_step(_cfg(name), 'cls', cfg_options=opts)
    msg = str(info.value)
    assert 'loss_cankd' in msg and 'CanKDLoss' in msg
    assert '(2, 1000)' in msg


def test_non_finite_loss_stops():
    name = 'cankd_backbone_resnet34_resnet18_8xb32-100e_in1k.py'
    opts = {'model.distiller.distill_losses.loss_cankd.loss_weight':
            float('nan')}
    with pytest.raises(FloatingPointError, match='loss_cankd'):
        run_train_step(_cfg(name), 'cls', cfg_options=opts)


def test_dagger_init_from_teacher(tmp_path):
    """The dagger student's neck and RoI box head are loaded from the
    teacher checkpoint by ``init_weights``; the RPN head is not."""
    name = 'cankd-dagger_fpn_faster-rcnn-r101_faster-rcnn-r50_2xb2-2x_coco.py'
    ckpt = str(tmp_path / 'teacher.pth')
    opts = {
        'model.architecture.neck.init_cfg.checkpoint': ckpt,
        'model.architecture.roi_head.bbox_head.init_cfg.checkpoint': ckpt,
        'model.architecture.backbone.init_cfg': None,  # no download
    }
    model, _ = build_algorithm(_cfg(name), opts)
    teacher = {
        k: v
        for k, v in model.teacher.state_dict().items()
        if k.startswith(('neck.', 'roi_head.bbox_head.', 'rpn_head.'))
    }
    torch.save({'state_dict': teacher}, ckpt)
    model.architecture.init_weights()
    student = model.architecture.state_dict()
    for key, value in teacher.items():
        if key.startswith('rpn_head.'):
            assert not torch.equal(student[key], value), key
        else:
            torch.testing.assert_close(student[key], value, msg=key)
