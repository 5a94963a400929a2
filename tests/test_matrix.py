# Copyright (c) mmkd_ext contributors. All rights reserved.
"""The methods x pipelines matrix (issue 12, feature losses part): CanKD on
DeepLabV3+ VOC / COCOStuff10k, TaT on Cityscapes and RetinaNet, the
ImageNet CanKD + WTTM config (each builds with its real architectures and
runs one train_step on CPU), and the index: every config is linked from the
README matrix and listed in a metafile, every metafile entry exists."""
import glob
import os.path as osp
import re

import pytest
import torch
import yaml
from mmengine.config import Config
from mmengine.logging import MessageHub
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope
from mmrazor.registry import MODELS
from torch.nn.modules.batchnorm import _BatchNorm

from mmkd_ext.analysis import build_algorithm, make_batch, run_train_step

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def _cfg(rel: str) -> str:
    return osp.join(ROOT, 'configs', rel)


def _deeplabv3plus_cankd():
    names = {}
    for ds in ('voc12aug', 'coco-stuff10k'):
        for student, b, cs in (('r18', 16, 128), ('mobilenet-v2', 12, 512)):
            tail = f'deeplabv3plus-{student}-d16_1xb{b}-100e_{ds}.py'
            names[f'cankd/cankd_decoder_deeplabv3plus-r101-d16_{tail}'] = (
                f'tat/tat_decoder_deeplabv3plus-r101-d16_{tail}', cs)
    return names


# config -> (TaT config of the same pair, student decoder channels)
CANKD_SEG = _deeplabv3plus_cankd()
TAT_CITYSCAPES = [
    'tat/tat_decoder_pspnet-r101-d8_pspnet-r18-d8_4xb2-80k_cityscapes.py',
    'tat/tat_decoder_deeplabv3-r101-d8_deeplabv3-r18-d8_4xb2-80k_'
    'cityscapes.py',
]
TAT_RETINANET = 'tat/tat_fpn_retinanet-r101_retinanet-r50_8xb2-2x_coco.py'
COMBINED_IN1K = ('combined/cankd-wttm_backbone-logits_resnet34_resnet18_'
                 '8xb32-100e_in1k.py')
OURS = [*CANKD_SEG, *TAT_CITYSCAPES, TAT_RETINANET, COMBINED_IN1K]


def _step_keep_model(rel, input_size, cfg_options):
    """run_train_step, keeping the model to inspect the recorded maps."""
    model, cfg = build_algorithm(_cfg(rel), cfg_options)
    model.train()
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    batch = make_batch('seg', input_size, 2,
                       model.architecture.decode_head.num_classes)
    log_vars = model.train_step(batch, optim_wrapper)
    return model, cfg, {k: float(v) for k, v in log_vars.items()}


def _build_loss(cfg):
    with DefaultScope.overwrite_default_scope('mmrazor'):
        return MODELS.build(cfg)


def _recorded(model, name='feat'):
    return (model.distiller.student_recorders.get_recorder(name)
            .data_buffer[0],
            model.distiller.teacher_recorders.get_recorder(name)
            .data_buffer[0])


# ----------------------------------------------------------------------------
# CanKD on DeepLabV3+ (VOC12 aug, COCOStuff10k)
# ----------------------------------------------------------------------------
@pytest.mark.parametrize('rel', sorted(CANKD_SEG))
def test_cankd_deeplabv3plus_settings(rel):
    """Same teacher, student, data and schedule as TaT's config of the pair;
    only the distiller (CanKD, mu 5, on the pre-ReLU decoder BN) differs."""
    tat_rel, cs = CANKD_SEG[rel]
    cfg, tat = Config.fromfile(_cfg(rel)), Config.fromfile(_cfg(tat_rel))
    for key in ('train_dataloader', 'val_dataloader', 'optim_wrapper',
                'param_scheduler', 'train_cfg', 'default_hooks'):
        assert cfg[key] == tat[key], key
    for key in ('architecture', 'teacher', 'teacher_ckpt'):
        assert cfg.model[key] == tat.model[key], key
    assert cfg.model.teacher_norm_eval is True
    dist = cfg.model.distiller
    assert dist.type == 'CheckedDistiller'
    assert list(dist.distill_losses) == ['loss_cankd']
    loss = dist.distill_losses.loss_cankd
    assert (loss.type, loss.in_channels, loss.loss_weight) == \
        ('CanKDLoss', 512, 5.0)
    feat = 'decode_head.sep_bottleneck.1.pointwise_conv.bn'
    assert dist.student_recorders.feat.source == feat
    assert dist.teacher_recorders.feat.source == feat
    s_map = dist.loss_forward_mappings.loss_cankd.s_feature
    if cs == 512:
        assert 'connectors' not in dist and 'connector' not in s_map
    else:
        conn = dist.connectors[s_map.connector]
        assert (conn.in_channel, conn.out_channel) == (cs, 512)
    assert cfg.model.architecture.decode_head.act_cfg.inplace is False


@pytest.mark.parametrize('rel', sorted(CANKD_SEG))
def test_cankd_deeplabv3plus_train_step(rel):
    _, cs = CANKD_SEG[rel]
    # 32 x 32 crops (the data preprocessor pads to its size): 8 x 8 map.
    model, _, log_vars = _step_keep_model(
        rel, (32, 32),
        {'model.architecture.data_preprocessor.size': (32, 32)})
    assert log_vars['distill.loss_cankd'] > 0
    assert all(v == v and abs(v) != float('inf') for v in log_vars.values())
    s_feat, t_feat = _recorded(model)
    assert s_feat.shape == (2, cs, 8, 8) and t_feat.shape == (2, 512, 8, 8)
    assert s_feat.min() < 0 and t_feat.min() < 0  # before the ReLU
    # teacher_norm_eval=True: the teacher's BNs use their running statistics.
    bns = [m for m in model.teacher.modules() if isinstance(m, _BatchNorm)]
    assert bns and not any(m.training for m in bns)


# ----------------------------------------------------------------------------
# TaT on Cityscapes (PSPNet, DeepLabV3)
# ----------------------------------------------------------------------------
@pytest.mark.parametrize('rel', TAT_CITYSCAPES)
def test_tat_cityscapes_settings(rel):
    cfg = Config.fromfile(_cfg(rel))
    head = 'PSPHead' if 'pspnet' in rel else 'ASPPHead'
    for net, ch, depth in ((cfg.model.architecture, 128, 18),
                           (cfg.model.teacher, 512, 101)):
        assert net.decode_head.type == head
        assert net.decode_head.channels == ch
        assert net.backbone.depth == depth
        assert net.decode_head.act_cfg.inplace is False
    dist = cfg.model.distiller
    for rec in (dist.student_recorders, dist.teacher_recorders):
        assert rec.feat.source == 'decode_head.bottleneck.bn'
    loss = dist.distill_losses.loss_tat
    assert loss.type == 'TaTSegLoss' and loss.per_sample_norm
    # 8x8 patches, d = P * 512 / g = 2048, 4x4 pooling on the 64 x 128 map.
    crop = cfg.crop_size
    assert tuple(loss.feat_size) == (crop[0] // 8, crop[1] // 8)
    (h, w), (n, m), (ah, aw) = (loss.feat_size, loss.patch_counts,
                                loss.anchor_counts)
    assert (h // n, w // m) == (8, 8) and (h // ah, w // aw) == (4, 4)
    assert n * m * 512 // loss.groups == 2048
    assert (loss.alpha, loss.beta, loss.gamma) == (1.6, 1.0, 0.4)
    assert cfg.optim_wrapper.optimizer.lr == 0.01
    assert cfg.train_cfg.max_iters == 80000


@pytest.mark.parametrize('rel', TAT_CITYSCAPES)
def test_tat_cityscapes_train_step(rel):
    """64 x 128 crops -> 8 x 16 map (stride 8): smaller counts."""
    prefix = 'model.distiller.distill_losses.loss_tat.'
    model, _, log_vars = _step_keep_model(
        rel, (64, 128), {
            'model.architecture.data_preprocessor.size': (64, 128),
            prefix + 'patch_counts': (2, 4),
            prefix + 'anchor_counts': (4, 8),
            prefix + 'feat_size': (8, 16)
        })
    assert log_vars['distill.loss_tat'] > 0
    assert 'student.aux.loss_ce' in log_vars
    s_feat, t_feat = _recorded(model)
    assert s_feat.shape == (2, 128, 8, 16)
    assert t_feat.shape == (2, 512, 8, 16)
    assert s_feat.min() < 0 and t_feat.min() < 0  # before the ReLU


@pytest.mark.parametrize('rel', TAT_CITYSCAPES)
def test_tat_cityscapes_loss_at_full_size(rel):
    """The configured loss runs on the 64 x 128 maps of a 512 x 1024 crop."""
    loss = _build_loss(
        Config.fromfile(_cfg(rel)).model.distiller.distill_losses.loss_tat)
    gen = torch.Generator().manual_seed(0)
    value = loss(torch.randn(2, 128, 64, 128, generator=gen),
                 torch.randn(2, 512, 64, 128, generator=gen))
    assert torch.isfinite(value) and value > 0


# ----------------------------------------------------------------------------
# TaT on RetinaNet FPN levels
# ----------------------------------------------------------------------------
def test_tat_retinanet_settings():
    cfg = Config.fromfile(_cfg(TAT_RETINANET))
    dist = cfg.model.distiller
    assert cfg.model.type == 'FpnTeacherDistill'
    losses = dist.distill_losses
    assert sorted(losses) == [f'loss_tat_p{i}' for i in range(3, 8)]
    for i in range(3, 8):
        key = f'loss_tat_p{i}'
        expected = 'TaTSegLoss' if i < 5 else 'TaTLoss'
        assert losses[key].type == expected
        for side in ('s_feature', 't_feature'):
            assert dist.loss_forward_mappings[key][side].data_idx == i - 3
    # Distinct log names for the P3 / P4 terms.
    assert losses.loss_tat_p3.log_prefix != losses.loss_tat_p4.log_prefix


@pytest.mark.parametrize('p3_size', [(100, 168), (168, 100), (16, 16),
                                     (32, 160)])
def test_tat_retinanet_losses_at_real_sizes(p3_size):
    """The P3..P7 losses run on the map sizes of 1333 x 800 (landscape,
    portrait) and on the smallest maps the README promises (P3 16)."""
    losses = Config.fromfile(_cfg(TAT_RETINANET)).model.distiller\
        .distill_losses
    gen = torch.Generator().manual_seed(0)
    h, w = p3_size
    for i in range(3, 8):
        loss = _build_loss(losses[f'loss_tat_p{i}'])
        size = (h, w)
        for _ in range(i - 3):  # FPN strides: ceil halving
            size = (-(-size[0] // 2), -(-size[1] // 2))
        if size[0] * size[1] < 2:
            continue  # per-sample BN needs 2 positions (long side >= 128)
        s = torch.randn(1, 256, *size, generator=gen)
        t = torch.randn(1, 256, *size, generator=gen)
        assert torch.isfinite(loss(s, t))


def test_tat_retinanet_p3_too_small_raises():
    losses = Config.fromfile(_cfg(TAT_RETINANET)).model.distiller\
        .distill_losses
    loss = _build_loss(losses.loss_tat_p3)
    with pytest.raises(ValueError, match='exceed the feature map size'):
        loss(torch.randn(1, 256, 8, 40), torch.randn(1, 256, 8, 40))


def test_tat_retinanet_builds():
    """Real architectures; CheckedDistiller checks the recorder paths."""
    model, _ = build_algorithm(_cfg(TAT_RETINANET))
    losses = model.distiller.distill_losses
    assert [type(losses[f'loss_tat_p{i}']).__name__ for i in range(3, 8)] \
        == ['TaTSegLoss'] * 2 + ['TaTLoss'] * 3
    assert model.architecture.backbone.depth == 50
    assert model.teacher.backbone.depth == 101


@pytest.mark.slow  # ~12 s alone, 35 s on a loaded 2-core machine
def test_tat_retinanet_train_step():
    """128 x 256 images: P3 16 x 32 ... P7 1 x 2, the real counts fit."""
    hub = MessageHub.get_current_instance()
    log_vars = run_train_step(_cfg(TAT_RETINANET), 'det',
                              input_size=(128, 256))
    for i in range(3, 8):
        assert log_vars[f'distill.loss_tat_p{i}'] > 0
    assert log_vars['student.loss_cls'] > 0
    for lv in (3, 4):
        for term in ('patch', 'anchor'):
            key = f'train/distill.tat_p{lv}_{term}_loss'
            assert hub.get_scalar(key).current() > 0


# ----------------------------------------------------------------------------
# ImageNet CanKD + WTTM
# ----------------------------------------------------------------------------
def test_combined_in1k_settings():
    cfg = Config.fromfile(_cfg(COMBINED_IN1K))
    losses = cfg.model.distiller.distill_losses
    assert losses.loss_cankd.type == 'CanKDLoss'
    assert losses.loss_cankd.loss_weight == 5.0
    assert losses.loss_wttm.type == 'WTTMLoss'
    assert (losses.loss_wttm.gamma, losses.loss_wttm.loss_weight) == \
        (0.8, 1.6)
    assert cfg.model.distiller.student_recorders.feat.source == \
        'backbone.layer4'


def test_combined_in1k_logs_both_terms():
    log_vars = run_train_step(_cfg(COMBINED_IN1K), 'cls',
                              input_size=(64, 64))
    assert log_vars['distill.loss_cankd'] > 0
    assert log_vars['distill.loss_wttm'] > 0
    # The total is CE + both terms: both are back-propagated.
    assert log_vars['loss'] == pytest.approx(
        log_vars['student.loss'] + log_vars['distill.loss_cankd'] +
        log_vars['distill.loss_wttm'], rel=1e-5)


# ----------------------------------------------------------------------------
# The index: README matrix, metafiles, model-index.yml
# ----------------------------------------------------------------------------
def _all_configs():
    return sorted(
        osp.relpath(p, ROOT)
        for p in glob.glob(osp.join(ROOT, 'configs', '**', '*.py'),
                           recursive=True)
        if '_base_' not in osp.relpath(p, ROOT).split(osp.sep))


def _index_configs():
    """The method configs users pick from (README matrix, metafiles): all
    but the effectiveness grid's grid (configs/effectiveness/README.md)."""
    return [
        c for c in _all_configs()
        if not c.startswith(osp.join('configs', 'effectiveness') + osp.sep)
    ]


def _matrix_section():
    text = open(osp.join(ROOT, 'README.md')).read()
    start = text.index('## Methods x pipelines')
    end = text.index('\n## ', start + 1)
    return text[start:end]


def _metafiles():
    return sorted(glob.glob(osp.join(ROOT, 'configs', '*', 'metafile.yml')))


def _metafile_configs():
    listed = {}
    for path in _metafiles():
        with open(path) as f:
            meta = yaml.safe_load(f)
        for model in meta.get('Models') or []:
            listed[model['Config']] = (path, model)
    return listed


def test_every_config_is_in_the_readme_matrix():
    section = _matrix_section()
    links = set(re.findall(r'\]\((configs/[^)\s]+\.py)\)', section))
    missing = [c for c in _index_configs() if c not in links]
    assert not missing, f'configs not linked from the README matrix: ' \
        f'{missing}'
    stale = [c for c in links if not osp.isfile(osp.join(ROOT, c))]
    assert not stale, f'README matrix links to missing configs: {stale}'


def test_every_config_is_in_a_metafile():
    listed = _metafile_configs()
    missing = [c for c in _index_configs() if c not in listed]
    assert not missing, f'configs missing from every metafile.yml: {missing}'
    stale = [f'{osp.relpath(path, ROOT)}: {c}'
             for c, (path, _) in listed.items()
             if not osp.isfile(osp.join(ROOT, c))]
    assert not stale, f'metafile entries whose Config does not exist: {stale}'


def test_each_config_folder_has_its_metafile():
    for folder in sorted({osp.dirname(c) for c in _index_configs()}):
        meta = osp.join(ROOT, folder, 'metafile.yml')
        assert osp.isfile(meta), f'{folder} has no metafile.yml'
        with open(meta) as f:
            entries = [m['Config'] for m in yaml.safe_load(f)['Models']]
        assert all(osp.dirname(e) == folder for e in entries), meta


def test_model_index_imports_every_metafile():
    with open(osp.join(ROOT, 'model-index.yml')) as f:
        imports = yaml.safe_load(f)['Import']
    expected = [osp.relpath(p, ROOT) for p in _metafiles()]
    assert sorted(imports) == expected


def test_our_extensions_carry_no_paper_numbers():
    """The metafile entries of this issue's configs have no metrics."""
    listed = _metafile_configs()
    for rel in OURS:
        _, model = listed[f'configs/{rel}']
        assert 'untuned' in model['Metadata']['Extension']
        assert all(r['Metrics'] == {} for r in model['Results']), rel


def _paths_of_key(obj, key, path='cfg'):
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k == key:
                yield f'{path}.{k}'
            yield from _paths_of_key(v, key, f'{path}.{k}')
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            yield from _paths_of_key(v, key, f'{path}[{i}]')


@pytest.mark.parametrize('rel', _all_configs())
def test_no_merge_directive_left_in_a_built_config(rel):
    """``_delete_=True`` acts only where a base defines the key; left over
    in the built config it reaches the built object as an unexpected
    keyword (e.g. ``SingleTeacherDistillValLoop(_delete_=True)`` fails when
    training first validates)."""
    cfg = Config.fromfile(osp.join(ROOT, rel)).to_dict()
    left = list(_paths_of_key(cfg, '_delete_'))
    assert not left, f'{rel}: unresolved _delete_ at {left}'


@pytest.mark.parametrize('rel', _all_configs())
def test_runner_data_preprocessor_builds(rel):
    """mmengine's Runner puts a config's top-level ``data_preprocessor``
    into ``model`` when ``model`` has no such key (``setdefault``); the
    algorithm then builds it in its own scope (mmrazor), where e.g. an
    unscoped ``SegDataPreProcessor`` does not exist. The one-step tests
    build ``model`` directly and never see this; here it is built as the
    Runner would."""
    cfg = Config.fromfile(osp.join(ROOT, rel))
    model = cfg.model
    top = cfg.get('data_preprocessor')
    if top is None or 'data_preprocessor' in model:
        return
    with DefaultScope.overwrite_default_scope(model.get('_scope_')):
        MODELS.build(top.to_dict())


@pytest.mark.parametrize('rel', _all_configs())
def test_distillation_configs_refuse_a_random_teacher(rel):
    """Every distillation config's distiller checks the teacher's weights
    at build (a CheckedDistiller): none trains silently from a random
    teacher when model.teacher_ckpt is unset."""
    from mmkd_ext.models.distillers import CheckedDistiller
    model = Config.fromfile(osp.join(ROOT, rel)).model
    if 'distiller' not in model:
        return
    assert issubclass(MODELS.get(model.distiller.type), CheckedDistiller)
