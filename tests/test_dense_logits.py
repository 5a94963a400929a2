# Copyright (c) mmkd_ext contributors. All rights reserved.
"""Logit losses on dense heads: per-pixel segmentation logits
(``PixelWiseLogitLoss``), Faster R-CNN RoI logits scored by the teacher on
the student's RoIs (``RoITeacherDistill``), and their configs.

References are written out from the definitions in float64: per-pixel KL
sums over an explicit list of valid pixels, WTTM / DKD applied to one pixel
at a time, and the teacher's RoI head re-run by hand on the student's
sampling results.
"""
import glob
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from mmrazor.registry import MODELS

from mmkd_ext.analysis import build_algorithm, make_batch, run_train_step
from mmkd_ext.models.losses import PixelWiseLogitLoss

ROOT = osp.join(osp.dirname(__file__), '..', 'configs')


@pytest.fixture(autouse=True)
def mmrazor_scope():
    """Build the losses in mmrazor's scope whatever an earlier config
    build (mmseg, mmdet) left as the default scope."""
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmrazor'):
        yield


def _kd(tau=1.0, weight=1.0):
    return dict(type='KLDivergence', tau=tau, loss_weight=weight)


def _pixel_loss(loss, **kwargs):
    return MODELS.build(dict(type='PixelWiseLogitLoss', loss=loss, **kwargs))


def _logits(*shape, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=gen, dtype=torch.float64) * 2


# --------------------------------------------------------- pixel-wise loss
def test_ignore_label_excluded_hand_derived():
    """KD (tau 2, batchmean) over the valid pixels only: sum of the valid
    pixels' KL divided by their count, written out pixel by pixel."""
    s, t = _logits(2, 3, 2, 3, seed=1), _logits(2, 3, 2, 3, seed=2)
    labels = torch.tensor([[[0, 255, 2], [1, 1, 255]],
                           [[255, 255, 255], [2, 0, 1]]])
    tau = 2.0
    total, count = 0.0, 0
    for b in range(2):
        for i in range(2):
            for j in range(3):
                if labels[b, i, j] == 255:
                    continue
                p = torch.softmax(t[b, :, i, j] / tau, 0)
                log_q = torch.log_softmax(s[b, :, i, j] / tau, 0)
                total += float((p * (p.log() - log_q)).sum()) * tau**2
                count += 1
    assert count == 7
    loss = _pixel_loss(_kd(tau=tau, weight=3.0))(s, t, labels)
    torch.testing.assert_close(loss, torch.tensor(3.0 * total / count,
                                                  dtype=torch.float64))

    # The ignored pixels carry no value and no gradient.
    s2, t2 = s.clone(), t.clone()
    ignored = (labels == 255).unsqueeze(1).expand_as(s)
    s2[ignored] = 50.0
    t2[ignored] = -50.0
    s2.requires_grad_(True)
    loss2 = _pixel_loss(_kd(tau=tau, weight=3.0))(s2, t2, labels)
    torch.testing.assert_close(loss2, loss)
    loss2.backward()
    assert s2.grad[ignored].abs().max() == 0
    assert s2.grad[~ignored].abs().max() > 0


def test_label_map_with_channel_dim_and_no_labels():
    s, t = _logits(2, 4, 3, 3, seed=3), _logits(2, 4, 3, 3, seed=4)
    labels = torch.randint(0, 4, (2, 3, 3))
    labels[0, 0] = 255
    loss = _pixel_loss(_kd())
    torch.testing.assert_close(loss(s, t, labels[:, None]),
                               loss(s, t, labels))
    # Without labels, every pixel is a sample.
    flat = lambda x: x.permute(0, 2, 3, 1).reshape(-1, 4)  # noqa: E731
    torch.testing.assert_close(loss(s, t), MODELS.build(_kd())(flat(s),
                                                               flat(t)))


@pytest.mark.parametrize('wrapped', [
    dict(type='WTTMLoss', gamma=0.6, loss_weight=1.3),
    dict(type='TTMLoss', gamma=0.8, loss_weight=0.7),
    dict(type='LogitStandardization', loss=_kd(tau=2.0, weight=9.0)),
    dict(type='DKDLoss', tau=2.0, alpha=1.0, beta=0.5, loss_weight=2.0),
    dict(type='LogitStandardization',
         loss=dict(type='DKDLoss', tau=2.0, alpha=1.0, beta=0.5)),
])
def test_batch_mean_semantics(wrapped):
    """The wrapped loss's per-sample mean becomes the mean over valid
    pixels: it equals the average of the loss applied to each valid pixel
    alone (labels passed to DKD pixel by pixel)."""
    s, t = _logits(2, 5, 3, 2, seed=5), _logits(2, 5, 3, 2, seed=6)
    labels = torch.randint(0, 5, (2, 3, 2),
                           generator=torch.Generator().manual_seed(0))
    labels[1, :, 0] = 255
    labels[0, 2, 1] = 255
    pixel = _pixel_loss(wrapped)
    inner = MODELS.build(wrapped)
    needs_labels = wrapped['type'] == 'DKDLoss' or wrapped.get(
        'loss', {}).get('type') == 'DKDLoss'
    assert pixel.with_labels == needs_labels
    values = []
    for b, i, j in (labels != 255).nonzero().tolist():
        args = (s[b, :, i, j][None], t[b, :, i, j][None])
        if needs_labels:
            args += (labels[b, i, j][None], )
        values.append(inner(*args))
    expected = torch.stack(values).mean()
    torch.testing.assert_close(pixel(s, t, labels), expected)


def test_gradcheck_with_ignore_and_resize():
    s = _logits(2, 4, 3, 3, seed=7).requires_grad_(True)
    t = _logits(2, 4, 5, 6, seed=8)
    labels = torch.randint(0, 4, (2, 10, 12),
                           generator=torch.Generator().manual_seed(1))
    labels[:, :4] = 255
    loss = _pixel_loss(dict(type='WTTMLoss', gamma=0.7))
    assert torch.autograd.gradcheck(lambda x: loss(x, t, labels), (s, ))


def test_student_resized_to_teacher_resolution():
    """nearest: a 2x2 student map upsampled to 4x4 is each value repeated in
    a 2x2 block; bilinear: a spatially constant student stays constant."""
    t = _logits(2, 3, 4, 4, seed=9)
    labels = torch.randint(0, 3, (2, 4, 4))
    s_small = _logits(2, 3, 2, 2, seed=10)
    blocks = s_small.repeat_interleave(2, 2).repeat_interleave(2, 3)
    nearest = _pixel_loss(_kd(), resize_mode='nearest')
    torch.testing.assert_close(
        nearest(s_small, t, labels), nearest(blocks, t, labels))

    const = _logits(2, 3, 1, 1, seed=11)
    bilinear = _pixel_loss(_kd())
    torch.testing.assert_close(
        bilinear(const.expand(2, 3, 2, 2), t, labels),
        bilinear(const.expand(2, 3, 4, 4), t, labels))
    # The student is resized, not the teacher: the loss keeps the teacher's
    # 16 pixels (16 != 4 terms in the mean).
    s_big = blocks.clone().requires_grad_(True)
    bilinear(s_big, t, labels).backward()
    assert s_big.grad.shape == (2, 3, 4, 4)


def test_label_map_resized_nearest():
    """An 8x8 label map for 4x4 logits: pixel (i, j) takes the label at
    (2i, 2j) (nearest); a 255 there drops the pixel even if its neighbours
    are labelled."""
    s, t = _logits(1, 3, 4, 4, seed=12), _logits(1, 3, 4, 4, seed=13)
    full = torch.randint(0, 3, (1, 8, 8),
                         generator=torch.Generator().manual_seed(2))
    full[0, 0, 0] = 255  # -> logit pixel (0, 0) ignored
    full[0, 3, 3] = 255  # not sampled by nearest: pixel (1, 1) stays valid
    full[0, 4, 6] = 255  # -> pixel (2, 3) ignored
    loss = _pixel_loss(_kd())
    small = full[:, ::2, ::2]
    assert int((small == 255).sum()) == 2
    torch.testing.assert_close(loss(s, t, full), loss(s, t, small))


def test_all_pixels_ignored_gives_zero_with_graph():
    s = _logits(1, 3, 2, 2, seed=14).requires_grad_(True)
    t = _logits(1, 3, 2, 2, seed=15)
    labels = torch.full((1, 2, 2), 255)
    loss = _pixel_loss(dict(type='WTTMLoss', gamma=0.8))(s, t, labels)
    assert loss.item() == 0 and loss.requires_grad
    loss.backward()
    assert s.grad.abs().max() == 0


def test_bad_inputs_raise_clear_errors():
    loss = _pixel_loss(_kd())
    s, t = _logits(2, 3, 4, 4), _logits(2, 3, 4, 4, seed=1)
    with pytest.raises(ValueError,
                       match=r'PixelWiseLogitLoss.*\(2, 3, 4, 4\).*'
                       r'\(2, 5, 4, 4\)'):
        loss(s, _logits(2, 5, 4, 4))
    with pytest.raises(ValueError, match=r'PixelWiseLogitLoss.*\(6, 3\)'):
        loss(s.reshape(-1, 3)[:6], t.reshape(-1, 3)[:6])
    with pytest.raises(ValueError,
                       match=r'PixelWiseLogitLoss.*B=2.*\(3, 4, 4\)'):
        loss(s, t, torch.zeros(3, 4, 4, dtype=torch.long))
    with pytest.raises(TypeError, match='PixelWiseLogitLoss.*integer'):
        loss(s, t, torch.zeros(2, 4, 4))
    bad = torch.zeros(2, 4, 4, dtype=torch.long)
    bad[0, 0, 0] = 3
    with pytest.raises(ValueError,
                       match=r'PixelWiseLogitLoss.*\[0, 3\).*\[0, 3\]'):
        loss(s, t, bad)
    dkd = _pixel_loss(dict(type='DKDLoss'))
    with pytest.raises(ValueError, match='PixelWiseLogitLoss.*DKDLoss.*'
                       'gt_labels'):
        dkd(s, t)
    with pytest.raises(ValueError, match='resize_mode'):
        _pixel_loss(_kd(), resize_mode='bicubic')
    with pytest.raises(KeyError, match='NoSuchLoss'):
        _pixel_loss(dict(type='NoSuchLoss'))
    with pytest.raises(TypeError, match='config dict'):
        PixelWiseLogitLoss(loss='WTTMLoss')


# -------------------------------------------------------------- RoI distill
RETINA_CFG = 'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py'
ROI_CFG = osp.join(
    ROOT, 'zscore',
    'dkd-zscore_roi-logits_faster-rcnn-r101_faster-rcnn-r50_2xb2-2x_coco.py')


@pytest.fixture(scope='module')
def roi_algorithm():
    model, _ = build_algorithm(ROI_CFG)
    model.train()
    return model


def test_teacher_scores_exactly_the_student_rois(roi_algorithm):
    """The boxes fed to the teacher's RoI head are the student's sampled
    RoIs (bbox2roi of its sampling results), the teacher's RPN never runs,
    and the recorded teacher logits / labels are those of these RoIs."""
    from mmdet.structures.bbox import bbox2roi
    model = roi_algorithm
    head_s, head_t = model.student.roi_head, model.teacher.roi_head
    sampled, teacher_rois, teacher_rpn_calls = [], [], []
    bbox_loss = head_s.bbox_loss

    def spy_bbox_loss(x, sampling_results):
        sampled.append(sampling_results)
        return bbox_loss(x, sampling_results)

    hooks = [
        head_t.bbox_roi_extractor.register_forward_pre_hook(
            lambda m, a: teacher_rois.append(a[1].clone())),
        model.teacher.rpn_head.register_forward_pre_hook(
            lambda m, a: teacher_rpn_calls.append(1)),
    ]
    head_s.bbox_loss = spy_bbox_loss
    try:
        data = model.data_preprocessor(
            make_batch('det', (64, 64), 2, num_classes=80), True)
        losses = model(**data, mode='loss')
    finally:
        del head_s.bbox_loss
        for h in hooks:
            h.remove()
    assert len(sampled) == 1 and len(teacher_rois) == 1
    assert not teacher_rpn_calls
    expected = bbox2roi([res.priors for res in sampled[0]])
    assert expected.shape[0] > 0 and expected.shape[1] == 5
    assert torch.equal(teacher_rois[0], expected)

    distiller = model.distiller
    s_cls = distiller.get_record('roi_cls', from_student=True)
    t_cls = distiller.get_record('roi_cls', from_student=False)
    labels = distiller.get_record('roi_labels', from_student=True,
                                  data_idx=1)
    assert s_cls.shape == t_cls.shape == (expected.shape[0], 81)
    # Assigned labels: positives' gt labels, then background (80).
    exp_labels = torch.cat([
        torch.cat([res.pos_gt_labels,
                   res.pos_gt_labels.new_full((res.neg_priors.shape[0], ),
                                              80)]) for res in sampled[0]
    ])
    assert torch.equal(labels, exp_labels)
    # The recorded teacher logits are the teacher head on these RoIs.
    with torch.no_grad():
        feats = model.teacher.extract_feat(data['inputs'])
        ref = head_t._bbox_forward(feats, expected)['cls_score']
    torch.testing.assert_close(t_cls, ref)
    assert torch.isfinite(losses['distill.loss_dkd'])


def test_roi_distill_rejects_unsupported_setups():
    from mmengine.config import Config
    from mmengine.hub import get_config
    cfg = Config.fromfile(ROI_CFG).model
    cfg.teacher_ckpt = None
    with pytest.raises(ValueError, match='teacher_trainable'):
        MODELS.build(dict(cfg, teacher_trainable=True))
    # A one-stage (sigmoid) student has no RoI head.
    retina = get_config(RETINA_CFG).model
    retina.backbone.depth = 18
    retina.backbone.init_cfg = None
    retina.neck.in_channels = [64, 128, 256, 512]
    student = dict(retina, _scope_='mmdet')
    bad = dict(cfg, architecture=student,
               distiller=dict(type='CheckedDistiller',
                              allow_random_teacher=True))
    with pytest.raises(TypeError, match='RoITeacherDistill.*student.*'
                       'StandardRoIHead.*RetinaNet'):
        MODELS.build(bad)


# ------------------------------------------------------------------ configs
# name: (task, expected distill loss keys, slow). Seg configs step at 64x64
# (the data preprocessor's pad size is lowered to match), det at 64x64.
# 7-25 s each on 2 shared cores: the default run steps one config per
# mechanism (per-pixel WTTM, per-pixel DKD+Z with labels, RoI DKD+Z, both
# combined configs); the others run with -m slow.
SEG = '4xb2-80k_cityscapes.py'
DET = 'faster-rcnn-r101_faster-rcnn-r50_2xb2-2x_coco.py'
CONFIGS = {
    f'wttm/wttm_logits_pspnet-r101-d8_pspnet-r18-d8_{SEG}':
    ('seg', {'loss_wttm'}, False),
    f'wttm/ttm_logits_pspnet-r101-d8_pspnet-r18-d8_{SEG}':
    ('seg', {'loss_ttm'}, True),
    f'zscore/kd-zscore_logits_pspnet-r101-d8_pspnet-r18-d8_{SEG}':
    ('seg', {'loss_kd'}, True),
    f'zscore/dkd-zscore_logits_pspnet-r101-d8_pspnet-r18-d8_{SEG}':
    ('seg', {'loss_dkd'}, False),
    f'wttm/wttm_logits_deeplabv3-r101-d8_deeplabv3-r18-d8_{SEG}':
    ('seg', {'loss_wttm'}, True),
    f'wttm/ttm_logits_deeplabv3-r101-d8_deeplabv3-r18-d8_{SEG}':
    ('seg', {'loss_ttm'}, True),
    f'zscore/kd-zscore_logits_deeplabv3-r101-d8_deeplabv3-r18-d8_{SEG}':
    ('seg', {'loss_kd'}, True),
    f'zscore/dkd-zscore_logits_deeplabv3-r101-d8_deeplabv3-r18-d8_{SEG}':
    ('seg', {'loss_dkd'}, True),
    f'zscore/dkd_roi-logits_{DET}': ('det', {'loss_dkd'}, True),
    f'zscore/dkd-zscore_roi-logits_{DET}': ('det', {'loss_dkd'}, False),
    f'wttm/wttm_roi-logits_{DET}': ('det', {'loss_wttm'}, True),
    f'combined/cankd-dkd-zscore_fpn-roi_{DET}':
    ('det', {f'loss_cankd_fpn{i}'
             for i in range(4)} | {'loss_dkd'}, False),
    f'combined/cankd-wttm_backbone-logits_pspnet-r101-d8_pspnet-r18-d8_{SEG}':
    ('seg', {'loss_cankd', 'loss_wttm'}, False),
}


def test_config_list_complete():
    """Every config listed exists, and every dense-head logit config of the
    method folders is listed (configs/combined is shared with the ImageNet
    combined config, tested elsewhere)."""
    found = set()
    for pattern in ('*/*_roi-logits_*.py', 'wttm/*_logits_*_cityscapes.py',
                    'zscore/*_logits_*_cityscapes.py'):
        found |= {
            osp.relpath(p, ROOT)
            for p in glob.glob(osp.join(ROOT, pattern))
        }
    assert found <= set(CONFIGS)
    assert all(osp.isfile(osp.join(ROOT, name)) for name in CONFIGS)


@pytest.mark.parametrize('name', sorted(CONFIGS))
def test_config_loads(name):
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(ROOT, name))
    with open(osp.join(ROOT, name)) as f:
        assert 'UNTUNED' in f.read()
    distiller = cfg.model.distiller
    assert distiller.type == 'CheckedDistiller'
    assert cfg.custom_imports.imports == ['mmkd_ext']
    assert cfg.val_cfg.type == 'mmrazor.SingleTeacherDistillValLoop'
    assert cfg.model.teacher_ckpt.startswith('path/to/')
    assert set(distiller.distill_losses) == CONFIGS[name][1]
    assert set(distiller.loss_forward_mappings) == CONFIGS[name][1]
    if CONFIGS[name][0] == 'det':
        assert cfg.model.type == 'RoITeacherDistill'
    else:
        for key, loss in distiller.distill_losses.items():
            if 'cankd' not in key:
                assert loss.type == 'PixelWiseLogitLoss'
                assert loss.ignore_index == 255


@pytest.mark.parametrize('name', [
    pytest.param(name, marks=pytest.mark.slow) if CONFIGS[name][2] else name
    for name in sorted(CONFIGS)
])
def test_config_train_step(name):
    """Each config builds with its real architectures (random weights),
    runs one train_step on CPU and logs every distillation term under its
    own key (the combined configs: every term of the composition)."""
    task, keys, _ = CONFIGS[name]
    opts = ({'model.architecture.data_preprocessor.size': (64, 64)}
            if task == 'seg' else None)
    log_vars = run_train_step(osp.join(ROOT, name), task,
                              input_size=(64, 64), cfg_options=opts)
    logged = {k[len('distill.'):] for k in log_vars
              if k.startswith('distill.')}
    assert logged == keys, log_vars
    for key in keys:
        value = log_vars[f'distill.{key}']
        assert value == value and value >= 0, (key, value)
    assert any(v > 0 for k, v in log_vars.items() if k.startswith('distill'))


def test_distiller_names_the_loss_on_bad_shapes():
    """A recorder mapping that feeds the wrong map to the pixel loss fails
    with the loss key and the shapes, not a deep torch error."""
    name = f'wttm/wttm_logits_pspnet-r101-d8_pspnet-r18-d8_{SEG}'
    opts = {
        'model.architecture.data_preprocessor.size': (64, 64),
        'model.distiller.student_recorders.logits.source':
        'decode_head.bottleneck',
    }
    with pytest.raises(ValueError,
                       match=r'loss_wttm.*PixelWiseLogitLoss.*'
                       r'\(2, 128, 8, 8\).*\(2, 19, 8, 8\)'):
        run_train_step(osp.join(ROOT, name), 'seg', input_size=(64, 64),
                       cfg_options=opts)


def test_softmax_check_with_roi_labels_has_background_column():
    """DKD on RoI logits uses the background column like any class: a
    background label (80) selects column 80 of the 81."""
    dkd = MODELS.build(dict(type='DKDLoss', tau=1.0, beta=0.25))
    s, t = _logits(4, 81, seed=16), _logits(4, 81, seed=17)
    labels = torch.tensor([80, 3, 80, 0])
    value = dkd(s, t, labels)
    moved = t.clone()
    moved[:, 80] += 5.0  # changes the target/non-target split of RoIs 0, 2
    assert not torch.allclose(dkd(s, moved, labels), value)
    assert torch.isfinite(value)


def test_pixel_loss_gradient_matches_masked_reference():
    """Gradient w.r.t. the student equals that of the masked mean written
    with F.kl_div over all pixels and a 0/1 weight."""
    s = _logits(2, 3, 3, 3, seed=18).requires_grad_(True)
    t = _logits(2, 3, 3, 3, seed=19)
    labels = torch.randint(0, 3, (2, 3, 3),
                           generator=torch.Generator().manual_seed(3))
    labels[0, 1] = 255
    _pixel_loss(_kd(tau=2.0))(s, t, labels).backward()
    s_ref = s.detach().clone().requires_grad_(True)
    kl = F.kl_div(torch.log_softmax(s_ref / 2, 1), torch.softmax(t / 2, 1),
                  reduction='none').sum(1) * 4
    mask = (labels != 255).double()
    ((kl * mask).sum() / mask.sum()).backward()
    torch.testing.assert_close(s.grad, s_ref.grad)
