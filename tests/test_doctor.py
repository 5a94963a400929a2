# Copyright (c) mmkd_ext contributors. All rights reserved.
"""tools/analyze_distill.py and :mod:`mmkd_ext.analysis.doctor`."""
import os.path as osp
import runpy
import sys
from unittest import mock

import pytest

from mmkd_ext.analysis import analyze_distill, format_report

from .conftest import ROOT

# CanKD on layer4 of the classification grid's tiny ResNets: a feature loss
# whose size at initialisation is that of the CE (see the ratios printed).
CFG = osp.join(ROOT, 'configs', 'effectiveness', 'cls',
               'cankd_resnet34-w16_resnet18-w16_demo-cls.py')
WEIGHT = 'model.distiller.distill_losses.loss_cankd.loss_weight'
TOOL = osp.join(ROOT, 'tools', 'analyze_distill.py')


@pytest.fixture(scope='module')
def report():
    return analyze_distill(CFG, input_size=(32, 32))


def test_correct_config_no_warning(report):
    assert report.task == 'cls'
    assert report.warnings == [], format_report(report)
    (term, ) = report.terms
    assert term.name == 'loss_cankd'
    assert term.value > 0 and term.grad_norm > 0
    assert report.task_grad_norm > 0
    # Both sides recorded from layer4: (2, 128, 4, 4) on 32 x 32 inputs.
    assert any('student recorder "feat" (backbone.layer4) '
               'Tensor(2, 128, 4, 4)' in line for line in term.inputs)
    assert any('teacher recorder "feat"' in line for line in term.inputs)
    text = format_report(report)
    assert 'RANDOM' in text and 'random weights' in text
    assert 'norm layers in train mode during the forward: 0/' in text
    assert 'unchanged by the optimizer step: yes' in text
    assert 'no warnings' in text


def test_scaled_weight_warns(report):
    """The same config with its loss weight x 1000: both the value and the
    gradient ratios leave [1/100, 100] (they scale linearly with it)."""
    base = report.terms[0]
    scaled = analyze_distill(
        CFG, {WEIGHT: 5.0 * 1000}, input_size=(32, 32))
    term = scaled.terms[0]
    assert term.value == pytest.approx(base.value * 1000, rel=1e-4)
    assert [w.split(':')[0] for w in scaled.warnings] == ['loss_cankd'] * 2
    assert 'gradient norm' in scaled.warnings[0]


def test_teacher_in_train_mode_warns():
    bad = analyze_distill(
        CFG, {'model.teacher_norm_eval': False}, input_size=(32, 32))
    assert any('train mode' in w for w in bad.warnings)
    assert any('changed by one training step' in w for w in bad.warnings)


def _tool(capsys, *args):
    """Run tools/analyze_distill.py in this process: (exit code, stdout)."""
    argv = [TOOL, CFG, '--input-size', '32', '32', *args]
    with mock.patch.object(sys, 'argv', argv):
        with pytest.raises(SystemExit) as exit_:
            runpy.run_path(TOOL, run_name='__main__')
    return exit_.value.code, capsys.readouterr().out


def test_tool_strict_exit_code(capsys):
    code, out = _tool(capsys, '--strict')
    assert code == 0, out
    assert 'loss_cankd' in out and 'no warnings' in out
    code, out = _tool(capsys, '--strict', '--cfg-options', f'{WEIGHT}=5000')
    assert code == 1, out
    assert 'WARNING: loss_cankd' in out


def test_pretrained_init_dropped_not_nulled():
    """A Pretrained init_cfg is removed (the module's default
    initialisation applies: CanKD-dagger's student head keeps RetinaNet's
    classifier prior), never downloaded."""
    from mmkd_ext.analysis.doctor import _strip_pretrained
    cfg = dict(
        backbone=dict(pretrained='torchvision://resnet50'),
        bbox_head=dict(
            type='RetinaHead',
            init_cfg=dict(type='Pretrained', checkpoint='t.pth')),
        neck=dict(init_cfg=dict(type='Xavier')),
        layers=[dict(init_cfg=dict(type='Pretrained', checkpoint='x'))])
    _strip_pretrained(cfg)
    assert cfg == dict(
        backbone=dict(pretrained=None),
        bbox_head=dict(type='RetinaHead'),
        neck=dict(init_cfg=dict(type='Xavier')),
        layers=[dict()])


def test_teacher_dropout_in_train_mode_warns():
    """mmrazor puts only the teacher's norm layers in eval mode: with its
    ConfigurableDistiller the PSPNet teacher's decode / auxiliary head
    dropout stays active, so the pixel logits distilled are randomised; the
    doctor says so. Our CheckedDistiller (the config's) runs the frozen
    teacher's dropout in eval mode: no warning."""
    cfg = osp.join(ROOT, 'configs', 'effectiveness', 'seg',
                   'ttm_pspnet-r50-w16_pspnet-r18-w16_demo-seg.py')
    report = analyze_distill(
        cfg,
        cfg_options={'model.distiller.type': 'ConfigurableDistiller'},
        input_size=(32, 32))
    assert report.task == 'seg'
    # The grid's top-level data_preprocessor, as the Runner merges it.
    assert report.batch.endswith('SegDataPreProcessor pads to (128, 128)')
    assert any('2 dropout layers are in train mode' in w
               for w in report.warnings), report.warnings
    report = analyze_distill(cfg, input_size=(32, 32))
    assert not any('dropout' in w for w in report.warnings), report.warnings
    assert any('dropout in train mode: 0' in line
               for line in report.teacher_state), report.teacher_state


def test_epoch_dependent_loss_runs_outside_a_runner():
    """CTKD reads the epoch from the MessageHub, which only a Runner fills:
    the doctor announces its step as the first of the first epoch."""
    from mmengine.logging import MessageHub
    hub = MessageHub.get_instance('doctor-ctkd-test')
    assert hub.get_info('epoch') is None
    cfg = osp.join(ROOT, 'configs', 'effectiveness', 'cls',
                   'ctkd_resnet34-w16_resnet18-w16_demo-cls.py')
    with mock.patch.object(MessageHub, 'get_current_instance',
                           return_value=hub):
        report = analyze_distill(cfg, input_size=(32, 32), use_data=False)
    assert [t.name for t in report.terms] == ['loss_ctkd']
    assert hub.get_info('epoch') == 0
