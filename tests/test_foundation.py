# Copyright (c) mmkd_ext contributors. All rights reserved.
"""Foundation: imports, the distiller's checks, a RetinaNet distillation
built from mmdet's own configs, pre-flight errors and the student export."""
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config

import mmkd_ext
from mmkd_ext.analysis import build_algorithm, make_batch, run_train_step
from mmkd_ext.engine import preflight_check
from mmkd_ext.utils import extract_student_state_dict, student_config

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
RETINA_CFG = osp.join(ROOT, 'tests', 'data', 'configs',
                      'cwd_fpn_retinanet-r50_retinanet-r18_1x_coco.py')


def test_import_order_all_packages():
    code = ('import mmkd_ext, mmrazor, mmrazor.models, mmdet, mmdet.models, '
            'mmseg, mmseg.models, mmpretrain, mmpretrain.models, mmcv.ops; '
            'from mmrazor.registry import MODELS; '
            'assert MODELS.get("CheckedDistiller") is not None; '
            'print("ok")')
    out = subprocess.run([sys.executable, '-c', code],
                         capture_output=True,
                         text=True,
                         cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().endswith('ok')
    assert mmkd_ext.__version__


def test_retinanet_distill_from_mmdet_configs_train_step():
    """RetinaNet R50 -> R18 built from mmdet:: base configs, one step."""
    model, cfg = build_algorithm(RETINA_CFG)
    model.train()
    from mmengine.optim import build_optim_wrapper
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    # The teacher is frozen: no parameter requires grad, BN in eval mode.
    assert all(not p.requires_grad for p in model.teacher.parameters())
    bns = [
        m for m in model.teacher.modules()
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)
    ]
    assert bns and all(not m.training for m in bns)
    teacher_before = {
        k: v.clone()
        for k, v in model.teacher.state_dict().items()
    }
    student_before = {
        k: v.clone()
        for k, v in model.architecture.state_dict().items()
    }
    batch = make_batch('det', (64, 64), 2, 80)
    log_vars = model.train_step(batch, optim_wrapper)
    for i in range(4):
        assert f'distill.loss_fpn{i}' in log_vars
        assert torch.isfinite(log_vars[f'distill.loss_fpn{i}'])
    # Teacher weights and BN running statistics unchanged, student updated.
    for k, v in model.teacher.state_dict().items():
        assert torch.equal(v, teacher_before[k]), k
    changed = [
        k for k, v in model.architecture.state_dict().items()
        if v.dtype.is_floating_point and not torch.equal(v, student_before[k])
    ]
    assert any(k.startswith('backbone.') for k in changed)


def test_missing_recorder_module_is_named():
    with pytest.raises(KeyError) as err:
        build_algorithm(
            RETINA_CFG,
            dict(model=dict(distiller=dict(student_recorders=dict(
                fpn=dict(type='ModuleOutputs', source='nek'))))))
    msg = str(err.value)
    assert 'student_recorders.fpn' in msg and '"nek"' in msg
    assert 'neck' in msg  # the closest existing module is suggested


def test_loss_key_without_loss_substring_is_rejected():
    cfg = Config.fromfile(RETINA_CFG)
    losses = cfg.model.distiller.distill_losses
    mappings = cfg.model.distiller.loss_forward_mappings
    losses['fpn0'] = losses.pop('loss_fpn0')
    mappings['fpn0'] = mappings.pop('loss_fpn0')
    from mmengine.registry import init_default_scope
    from mmrazor.registry import MODELS
    init_default_scope('mmrazor')
    cfg.model.teacher_ckpt = None
    with pytest.raises(ValueError, match='fpn0'):
        MODELS.build(cfg.model)


def test_non_finite_loss_stops_before_backward():
    model, cfg = build_algorithm(RETINA_CFG)
    model.train()
    from mmengine.optim import build_optim_wrapper
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    # Poison the student's neck output: the distillation loss becomes NaN.
    model.architecture.neck.fpn_convs[0].conv.bias.data.fill_(float('nan'))
    before = {
        k: v.clone()
        for k, v in model.architecture.backbone.state_dict().items()
    }
    with pytest.raises(FloatingPointError, match='loss_fpn0'):
        model.train_step(make_batch('det', (64, 64), 2, 80), optim_wrapper)
    for k, v in model.architecture.backbone.state_dict().items():
        assert torch.equal(v, before[k]), k


def test_loss_shape_error_names_key_and_shapes():
    model, _ = build_algorithm(RETINA_CFG)
    model.train()

    def bad_forward(preds_S, preds_T):
        raise ValueError('toy mismatch')

    model.distiller.distill_losses['loss_fpn1'].forward = bad_forward
    data = model.data_preprocessor(make_batch('det', (64, 64), 2, 80), True)
    with pytest.raises(ValueError) as err:
        model.loss(data['inputs'], data['data_samples'])
    msg = str(err.value)
    assert 'loss_fpn1' in msg and 'toy mismatch' in msg
    # Stride-16 FPN level of a 64x64 input, and where it was recorded.
    assert 'preds_S=Tensor(2, 256, 4, 4)' in msg
    assert 'student.neck[1]' in msg and 'teacher.neck[1]' in msg


def test_preflight_errors_name_key_and_path(tmp_path):
    cfg = Config.fromfile(RETINA_CFG)
    cfg.model.teacher_ckpt = str(tmp_path / 'missing.pth')
    with pytest.raises(FileNotFoundError, match='model.teacher_ckpt'):
        preflight_check(cfg)
    cfg.model.teacher_ckpt = None
    cfg.train_dataloader.dataset.data_root = str(tmp_path / 'nodata')
    with pytest.raises(FileNotFoundError) as err:
        preflight_check(cfg)
    assert 'train_dataloader.dataset.data_root' in str(err.value)
    assert 'nodata' in str(err.value)
    (tmp_path / 'coco').mkdir()
    cfg.train_dataloader.dataset.data_root = str(tmp_path / 'coco')
    with pytest.raises(FileNotFoundError,
                       match='train_dataloader.dataset.ann_file'):
        preflight_check(cfg, loaders=('train_dataloader', ))


def test_student_export_keys_and_config():
    model, cfg = build_algorithm(RETINA_CFG)
    state = {'state_dict': model.state_dict()}
    student = extract_student_state_dict(state)
    assert set(student) == set(model.architecture.state_dict())
    assert not any(k.startswith(('teacher.', 'distiller.')) for k in student)
    scfg = student_config(cfg)
    assert scfg.model.type == 'RetinaNet'
    assert scfg.default_scope == 'mmdet'
    assert scfg.val_cfg.type == 'ValLoop'
    with pytest.raises(KeyError, match='not a distillation checkpoint'):
        extract_student_state_dict({'state_dict': {'backbone.w': 1}})


def test_full_smoke_helper_runs():
    log_vars = run_train_step(RETINA_CFG, 'det', (64, 64), 2)
    assert 'loss' in log_vars and log_vars['loss'] == log_vars['loss']


# -- no silent random teacher ---------------------------------------------

DEMO_DISTILL = osp.join(
    ROOT, 'configs', 'demo',
    'cwd_fpn_retinanet-r18-w32_retinanet-r18-w16_24e_demo-coco.py')


def _build_demo(**model_options):
    from mmengine.registry import init_default_scope
    from mmrazor.registry import MODELS
    cfg = Config.fromfile(DEMO_DISTILL)
    cfg.merge_from_dict({f'model.{k}': v for k, v in model_options.items()})
    init_default_scope('mmrazor')
    return MODELS.build(cfg.model)


def test_random_teacher_is_refused_at_build():
    with pytest.raises(ValueError) as err:
        _build_demo()
    msg = str(err.value)
    assert 'model.teacher_ckpt is not set' in msg
    assert 'model.distiller.allow_random_teacher=True' in msg


def test_teacher_with_weights_or_explicit_opt_in_builds(tmp_path):
    from mmdet.registry import MODELS as DET_MODELS
    from mmengine.registry import init_default_scope
    init_default_scope('mmdet')
    teacher = DET_MODELS.build(Config.fromfile(DEMO_DISTILL).model.teacher)
    ckpt = str(tmp_path / 'teacher.pth')
    torch.save(dict(state_dict=teacher.state_dict()), ckpt)
    model = _build_demo(teacher_ckpt=ckpt)
    for k, v in teacher.state_dict().items():
        assert torch.equal(model.teacher.state_dict()[k], v), k
    # Weights loaded later by init_weights, from the teacher's init_cfg.
    _build_demo(**{
        'teacher.init_cfg': dict(type='Pretrained', checkpoint=ckpt)
    })
    # Trained along with the student: random weights are its start.
    _build_demo(teacher_trainable=True)
    _build_demo(**{'distiller.allow_random_teacher': True})


def test_allow_random_teacher_only_for_checked_distillers():
    from mmkd_ext.models.distillers import allow_random_teacher
    model_cfg = Config.fromfile(DEMO_DISTILL).model
    allow_random_teacher(model_cfg)
    assert model_cfg.distiller.allow_random_teacher is True
    plain = dict(distiller=dict(type='ConfigurableDistiller'))
    allow_random_teacher(plain)
    assert 'allow_random_teacher' not in plain['distiller']


def test_runner_refuses_random_teacher(demo_root, tmp_path):
    """The path of mmrazor's and mim's train scripts: Runner.from_cfg."""
    from mmengine.runner import Runner

    from .conftest import demo_cfg
    cfg = demo_cfg(DEMO_DISTILL, demo_root, str(tmp_path))
    with pytest.raises(ValueError, match='model.teacher_ckpt is not set'):
        Runner.from_cfg(cfg)


# -- checkpoint files are checked before anything is built ---------------


def _damaged_copies(src: str, out_dir) -> dict:
    """A truncated copy (first half) and a corrupted one (bytes flipped in
    the middle) of the checkpoint ``src``."""
    with open(src, 'rb') as f:
        data = f.read()
    mid = len(data) // 2
    truncated = out_dir / 'truncated.pth'
    truncated.write_bytes(data[:mid])
    corrupted = out_dir / 'corrupted.pth'
    corrupted.write_bytes(data[:mid] +
                          bytes(b ^ 0xFF for b in data[mid:mid + 64]) +
                          data[mid + 64:])
    return dict(truncated=str(truncated), corrupted=str(corrupted))


@pytest.fixture
def checkpoints(tmp_path):
    state = dict(state_dict={'w': torch.arange(4096.)}, meta={})
    good = str(tmp_path / 'good.pth')
    torch.save(state, good)
    legacy = str(tmp_path / 'legacy.pth')
    torch.save(state, legacy, _use_new_zipfile_serialization=False)
    legacy_dir = tmp_path / 'legacy'
    legacy_dir.mkdir()
    return dict(good=good, legacy=legacy,
                legacy_truncated=_damaged_copies(legacy,
                                                 legacy_dir)['truncated'],
                **_damaged_copies(good, tmp_path))


def test_check_checkpoint_file(checkpoints, tmp_path):
    from mmkd_ext.utils import check_checkpoint_file
    check_checkpoint_file(checkpoints['good'], 'load_from')
    check_checkpoint_file(checkpoints['legacy'], 'load_from')
    for name in ('truncated', 'corrupted', 'legacy_truncated'):
        with pytest.raises(ValueError) as err:
            check_checkpoint_file(checkpoints[name], 'model.teacher_ckpt')
        msg = str(err.value)
        assert msg.startswith('model.teacher_ckpt: checkpoint')
        assert checkpoints[name] in msg and 'truncated' in msg
    with pytest.raises(FileNotFoundError, match='load_from: .*nope.pth'):
        check_checkpoint_file(str(tmp_path / 'nope.pth'), 'load_from')
    check_checkpoint_file('https://example.org/x.pth', 'load_from')


def test_preflight_checks_checkpoints(checkpoints, tmp_path):
    cfg = Config.fromfile(RETINA_CFG)
    cfg.model.teacher_ckpt = checkpoints['truncated']
    with pytest.raises(ValueError, match='^model.teacher_ckpt: .*truncated'):
        preflight_check(cfg, loaders=())
    cfg.model.teacher_ckpt = checkpoints['good']
    cfg.load_from = checkpoints['corrupted']
    with pytest.raises(ValueError, match='^load_from: .*corrupted.pth'):
        preflight_check(cfg, loaders=())
    with pytest.raises(ValueError, match='^--resume: .*corrupted.pth'):
        preflight_check(cfg, loaders=(), load_from_key='--resume')
    # --resume without a path: the latest checkpoint of the work dir.
    cfg.load_from = None
    cfg.resume = True
    cfg.work_dir = str(tmp_path)
    preflight_check(cfg, loaders=())  # nothing to resume yet
    (tmp_path / 'last_checkpoint').write_text(checkpoints['truncated'])
    with pytest.raises(ValueError, match='^resume .*truncated.pth'):
        preflight_check(cfg, loaders=())


def test_frozen_teacher_runs_dropout_in_eval_mode():
    """CheckedDistiller item 5: a frozen teacher's dropout is in eval mode
    whenever it runs, also after the algorithm's ``train()`` (each epoch),
    so its outputs are deterministic; mmrazor's teacher_norm_eval alone
    leaves dropout active. A teacher trained along keeps it."""
    cfg = Config.fromfile(
        osp.join(ROOT, 'configs', 'effectiveness', 'seg',
                 'ttm_pspnet-r50-w16_pspnet-r18-w16_demo-seg.py'))
    x = torch.randn(2, 3, 32, 32)
    outputs = {}
    for distiller in ('CheckedDistiller', 'ConfigurableDistiller'):
        model, _ = build_algorithm(
            cfg.copy(), {'model.distiller.type': distiller})
        model.train()
        dropouts = [m for m in model.teacher.modules()
                    if isinstance(m, torch.nn.Dropout2d)]
        assert dropouts and all(m.training for m in dropouts)
        with torch.no_grad():
            runs = [model.teacher(x, mode='tensor') for _ in range(2)]
        outputs[distiller] = torch.equal(runs[0], runs[1])
        # The decode head ran (its auxiliary head does not in 'tensor' mode).
        assert model.teacher.decode_head.dropout.training == (
            distiller == 'ConfigurableDistiller')
    assert outputs == {'CheckedDistiller': True,
                       'ConfigurableDistiller': False}
    model, _ = build_algorithm(cfg.copy(), {'model.teacher_trainable': True})
    model.train()
    model.teacher(x, mode='tensor')
    assert model.teacher.decode_head.dropout.training
