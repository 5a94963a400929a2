# Copyright (c) mmkd_ext contributors. All rights reserved.
"""tools/test.py on a distillation checkpoint equals the exported student;
tools/vis_features.py draws the distilled features and attention maps."""
import glob
import json
import os.path as osp
import pickle
import runpy
import shutil
import sys

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmkd_ext.visualization import (
    STUDENT_ALONE_RUN,
    FeatureVis,
    attention_heatmap,
    feature_heatmap,
    select_query,
)
from mmkd_ext.visualization.feature_maps import FEATURE_COLUMNS, normalize

from .conftest import ROOT
from .numerics import assert_close_normwise, unit_roundoff
from .tool_helpers import make_distill_checkpoint, randomize_bn


def run_tool(name, *args):
    """``tools/<name> ARGS`` in this process."""
    path = osp.join(ROOT, 'tools', name)
    argv = sys.argv
    sys.argv = [path, *map(str, args)]
    try:
        runpy.run_path(path, run_name='__main__')
    finally:
        sys.argv = argv


def test_metrics(work_dir):
    """The metrics that tools/test.py logged in ``work_dir``."""
    for path in glob.glob(osp.join(work_dir, '*', '*.json')):
        with open(path) as f:
            for line in f:
                rec = json.loads(line)
                if 'coco/bbox_mAP' in rec:
                    return rec
    raise AssertionError(f'no metrics logged in {work_dir}')


test_metrics.__test__ = False  # a helper, not a test


def test_test_tool_distill_checkpoint_equals_exported(demo_root, tmp_path):
    run = make_distill_checkpoint(demo_root, str(tmp_path))
    out = str(tmp_path / 'student.pth')
    run_tool('convert_student.py', run['cfg'], run['ckpt'], out)
    assert osp.isfile(out) and osp.isfile(tmp_path / 'student.py')
    run_tool('test.py', run['cfg'], run['ckpt'], '--work-dir',
             tmp_path / 'a', '--out', tmp_path / 'a.pkl')
    run_tool('test.py', tmp_path / 'student.py', out, '--work-dir',
             tmp_path / 'b', '--out', tmp_path / 'b.pkl')
    ma, mb = (test_metrics(str(tmp_path / d)) for d in 'ab')
    keys = [k for k in ma if k.startswith('coco/')]
    assert 'coco/bbox_mAP' in keys
    assert {k: ma[k] for k in keys} == {k: mb[k] for k in keys}
    # Not only the same mAP: the same boxes, scores and labels.
    with open(tmp_path / 'a.pkl', 'rb') as f:
        preds_a = pickle.load(f)
    with open(tmp_path / 'b.pkl', 'rb') as f:
        preds_b = pickle.load(f)
    assert len(preds_a) == len(preds_b) == 4
    for pa, pb in zip(preds_a, preds_b):
        ia, ib = pa['pred_instances'], pb['pred_instances']
        assert len(ia['scores']) > 0
        for key in ('bboxes', 'scores', 'labels'):
            assert torch.equal(ia[key], ib[key]), key


def _latest_log(work_dir) -> str:
    logs = glob.glob(osp.join(work_dir, '*', '*.log'))
    assert len(logs) == 1, logs
    with open(logs[0]) as f:
        return f.read()


def test_test_tool_summary_and_strict_on_empty_results(demo_root, tmp_path):
    def no_boxes(cfg):
        # Sigmoid scores never exceed 1: every box is filtered out.
        cfg.model.architecture.test_cfg.score_thr = 1.1

    run = make_distill_checkpoint(demo_root, str(tmp_path), 'empty',
                                  no_boxes)
    run_tool('test.py', run['cfg'], run['ckpt'], '--work-dir', tmp_path / 'a')
    assert 'test summary: WARNING: no metrics' in _latest_log(tmp_path / 'a')
    with pytest.raises(SystemExit) as exit_info:
        run_tool('test.py', run['cfg'], run['ckpt'], '--work-dir',
                 tmp_path / 'b', '--strict')
    assert exit_info.value.code == 1
    # With predictions: the metrics in the summary line, exit status 0.
    run = make_distill_checkpoint(demo_root, str(tmp_path), 'boxes')
    run_tool('test.py', run['cfg'], run['ckpt'], '--work-dir', tmp_path / 'c',
             '--strict')
    assert 'test summary: coco/bbox_mAP: ' in _latest_log(tmp_path / 'c')


def test_tools_name_a_truncated_checkpoint(demo_root, tmp_path):
    run = make_distill_checkpoint(demo_root, str(tmp_path))
    with open(run['ckpt'], 'rb') as f:
        data = f.read()
    bad = tmp_path / 'bad.pth'
    bad.write_bytes(data[:len(data) // 2])
    for tool in ('test.py', 'convert_student.py'):
        extra = [tmp_path / 'out.pth'] if tool == 'convert_student.py' else [
            '--work-dir', tmp_path / 'wd'
        ]
        with pytest.raises(ValueError) as err:
            run_tool(tool, run['cfg'], bad, *extra)
        assert str(err.value).startswith(f'CHECKPOINT: checkpoint "{bad}"')
    # Nothing was built or written.
    assert not osp.exists(tmp_path / 'wd')
    assert not osp.exists(tmp_path / 'out.pth')


def test_convert_student_cfg_options(demo_root, tmp_path):
    run = make_distill_checkpoint(demo_root, str(tmp_path))
    out = str(tmp_path / 'student.pth')
    root = '/data/coco/'
    run_tool('convert_student.py', run['cfg'], run['ckpt'], out,
             '--cfg-options', f'test_dataloader.dataset.data_root={root}',
             'test_evaluator.ann_file=/data/coco/val.json')
    student = Config.fromfile(tmp_path / 'student.py')
    assert student.test_dataloader.dataset.data_root == root
    assert student.test_evaluator.ann_file == '/data/coco/val.json'
    assert student.model.type == 'RetinaNet'


# -- vis_features -------------------------------------------------------


def attention_losses(cfg: Config) -> None:
    """CanKD on P3, TaT on P4, CWD (no attention map) on P5."""
    d = cfg.model.distiller
    rec = [
        dict(s=dict(from_student=True, recorder='fpn', data_idx=i),
             t=dict(from_student=False, recorder='fpn', data_idx=i))
        for i in range(3)
    ]
    d.distill_losses = dict(
        loss_cankd=dict(type='CanKDLoss', in_channels=64),
        loss_tat=dict(type='TaTLoss', student_channels=64,
                      teacher_channels=64),
        loss_cwd=dict(type='ChannelWiseDivergence', tau=1, loss_weight=3))
    d.loss_forward_mappings = dict(
        loss_cankd=dict(s_feature=rec[0]['s'], t_feature=rec[0]['t']),
        loss_tat=dict(s_feature=rec[1]['s'], t_feature=rec[1]['t']),
        loss_cwd=dict(preds_S=rec[2]['s'], preds_T=rec[2]['t']))


@pytest.fixture(scope='module')
def vis_run(demo_root, tmp_path_factory):
    from mmdet.registry import MODELS
    tmp = tmp_path_factory.mktemp('vis')
    run = make_distill_checkpoint(demo_root, str(tmp), 'attn',
                                  attention_losses)
    # The student "trained alone": the same architecture, other weights.
    cfg = Config.fromfile(run['cfg'])
    init_default_scope('mmdet')
    torch.manual_seed(1)
    student = MODELS.build(cfg.model.architecture)
    randomize_bn(student, 1)
    student_ckpt = str(tmp / 'student_alone.pth')
    torch.save(dict(state_dict=student.state_dict()), student_ckpt)
    images = [osp.join(demo_root, 'val', f'00000{i}.png') for i in (0, 1)]
    return dict(run, student_ckpt=student_ckpt, images=images, tmp=tmp)


def test_vis_tool_writes_different_pngs(vis_run, tmp_path):
    out = tmp_path / 'png'
    run_tool('vis_features.py', vis_run['cfg'], vis_run['ckpt'],
             *vis_run['images'], '--out-dir', out, '--student-ckpt',
             vis_run['student_ckpt'])
    files = sorted(glob.glob(str(out / '*.png')))
    assert [osp.basename(f) for f in files] == [
        '000000_features.png', '000001_features.png'
    ]
    a, b = (cv2.imread(f) for f in files)
    assert a is not None and a.shape == b.shape and a.std() > 0
    assert np.abs(a.astype(int) - b.astype(int)).mean() > 1


def test_vis_maps(vis_run):
    vis = FeatureVis(vis_run['cfg'], vis_run['ckpt'],
                     student_checkpoint=vis_run['student_ckpt'])
    maps = vis.compute(vis_run['images'][0])
    assert maps['image'].shape == (128, 128, 3)
    rows = {r['title'].split(':')[0]: r for r in maps['rows']}
    assert sorted(rows) == ['loss_cankd', 'loss_cwd', 'loss_tat']
    assert rows['loss_cankd']['title'] == 'loss_cankd: fpn[0]'
    # FPN P3, P4, P5 of a 128x128 image.
    for name, size in (('loss_cankd', 16), ('loss_tat', 8), ('loss_cwd', 4)):
        for col in ('student', 'distilled', 'teacher'):
            heat = rows[name][col]
            assert heat.shape == (size, size), (name, col)
            assert heat.min() == 0 and heat.max() == 1
    # CanKD pools the teacher side by 2; TaT attends over all positions.
    assert rows['loss_cankd']['attention'].shape == (8, 8)
    assert rows['loss_tat']['attention'].shape == (8, 8)
    assert rows['loss_cwd']['attention'] is None
    # Other weights, other maps; the same input, the same maps.
    p3 = rows['loss_cankd']
    assert not np.allclose(p3['student'], p3['distilled'])
    assert not np.allclose(p3['distilled'], p3['teacher'])
    again = {r['title']: r for r in vis.compute(vis_run['images'][0])['rows']}
    np.testing.assert_array_equal(again['loss_tat: fpn[1]']['attention'],
                                  rows['loss_tat']['attention'])
    other = {r['title']: r for r in vis.compute(vis_run['images'][1])['rows']}
    assert not np.allclose(other['loss_cankd: fpn[0]']['distilled'],
                           p3['distilled'])


def colour_bars(fig):
    return [ax for ax in fig.axes if ax.get_label() == '<colorbar>']


def test_vis_colour_bars(vis_run):
    """One colour bar for per-panel scales; with ``scale='row'`` the three
    feature maps of a layer share one scale, shown by a bar per row."""
    import matplotlib.pyplot as plt
    img = vis_run['images'][0]
    panel = FeatureVis(vis_run['cfg'], vis_run['ckpt'],
                       student_checkpoint=vis_run['student_ckpt'])
    p_maps = panel.compute(img)
    fig = panel.figure(p_maps)
    bars = colour_bars(fig)
    assert len(bars) == 1
    assert bars[0].get_ylabel() == 'min-max normalised per panel'
    assert bars[0].get_ylim() == (0, 1)
    assert 'each panel on its own scale' in fig.get_suptitle()
    plt.close(fig)

    per_row = FeatureVis(vis_run['cfg'], vis_run['ckpt'],
                         student_checkpoint=vis_run['student_ckpt'],
                         scale='row')
    r_maps = per_row.compute(img)
    u = unit_roundoff(torch.float64)
    for r_row, p_row in zip(r_maps['rows'], p_maps['rows']):
        assert p_row['range'] is None
        lo, hi = r_row['range']
        maps = [r_row[k] for k in FEATURE_COLUMNS]
        assert min(m.min() for m in maps) == 0
        assert max(m.max() for m in maps) == 1
        for key in FEATURE_COLUMNS:
            # The same map on the row's scale: normalised alone, it is the
            # panel map, up to the roundings of the two normalisations
            # (a few u of the raw values, relative to the panel's span).
            span = (r_row[key].max() - r_row[key].min()) * (hi - lo)
            np.testing.assert_allclose(
                normalize(r_row[key]), p_row[key], rtol=0,
                atol=8 * u * max(abs(lo), abs(hi)) / span)
        # Attention keeps its own scale.
        if p_row['attention'] is not None:
            np.testing.assert_array_equal(r_row['attention'],
                                          p_row['attention'])
    # Not every map reaches 0 and 1 on a shared scale.
    assert any(r[k].max() < 1 for r in r_maps['rows']
               for k in FEATURE_COLUMNS)
    fig = per_row.figure(r_maps)
    bars = colour_bars(fig)
    assert len(bars) == len(r_maps['rows'])
    for bar, row in zip(bars, r_maps['rows']):
        assert bar.get_ylabel() == 'abs_mean, one scale per row'
        assert bar.get_ylim() == pytest.approx(row['range'])
    assert 'one scale per row' in fig.get_suptitle()
    plt.close(fig)
    with pytest.raises(ValueError, match='scale must be one of'):
        FeatureVis(vis_run['cfg'], vis_run['ckpt'], scale='column')


def test_vis_tool_takes_the_demo_student(vis_run, tmp_path, capsys):
    """In tools/demo.py's work-dir layout the student-alone column comes
    without --student-ckpt, with a line saying so; --student-ckpt wins,
    --no-student leaves the column out."""
    demo = tmp_path / 'demo'
    distilled = demo / 'student+cwd' / 'epoch_24.pth'
    alone = demo / STUDENT_ALONE_RUN / 'epoch_24.pth'
    for src, dst in ((vis_run['ckpt'], distilled),
                     (vis_run['student_ckpt'], alone)):
        dst.parent.mkdir(parents=True)
        shutil.copy(src, dst)
    img = vis_run['images'][0]
    pngs = {}
    for name, ckpt, extra in (
            ('auto', distilled, []),
            ('outside', vis_run['ckpt'], []),
            ('given', distilled, ['--student-ckpt', vis_run['ckpt']]),
            ('none', distilled, ['--no-student'])):
        capsys.readouterr()
        run_tool('vis_features.py', vis_run['cfg'], ckpt, img, '--out-dir',
                 tmp_path / name, *extra)
        said = 'the demo student trained without distillation' in \
            capsys.readouterr().out
        assert said == (name == 'auto'), name
        pngs[name] = cv2.imread(str(tmp_path / name / '000000_features.png'))
    # A student column more than without; the given "student" (here the
    # distilled one) gives other maps than the demo's student alone.
    assert pngs['auto'].shape[1] > pngs['outside'].shape[1]
    assert pngs['none'].shape == pngs['outside'].shape
    assert pngs['auto'].shape == pngs['given'].shape
    assert np.abs(pngs['auto'].astype(int) - pngs['given']).mean() > 0.1


def test_attention_maps_are_the_forward_maps():
    """Each loss's ``attention_map`` is the map its forward uses (float64):
    applied to the loss's values it gives the features the forward computes
    without forming the map, and the heat map selects its query rows."""
    from mmkd_ext.models.losses import CanKDLoss, TaTLoss, TaTSegLoss
    from mmkd_ext.models.losses.tat import tat_reconfigure
    torch.manual_seed(0)
    s = torch.randn(2, 8, 6, 4, dtype=torch.float64)
    t = torch.randn(2, 8, 6, 4, dtype=torch.float64)
    # Sums of <= 24 products, then a few more operations.
    n_terms = 32

    for affinity in ('dot_product', 'embedded_gaussian', 'gaussian'):
        cankd = CanKDLoss(8, affinity=affinity, pool_size=2).double().eval()
        amap = cankd.attention_map(s, t)
        assert amap.shape == (2, 1, 6, 4, 3, 2)
        f = amap.reshape(2, 24, 6)  # (B, N, M)
        g = torch.nn.functional.max_pool2d(cankd.g(t), 2).flatten(2)
        assert_close_normwise((f @ g.transpose(1, 2)).transpose(1, 2),
                              cankd.attend(s, t).flatten(2),
                              n_terms=n_terms)

    tat = TaTLoss(8, 8, groups=2).double().eval()
    amap = tat.attention_map(s, t)
    assert amap.shape == (2, 2, 6, 4, 6, 4)
    loss, attn = tat(s, t, return_map=True)  # (B, G, N, N)
    torch.testing.assert_close(amap.reshape(2, 2, 24, 24), attn)
    q, k, v, _ = tat.embedding(s, t)
    out, _ = tat_reconfigure(q, k, v, 2, chunk_size=5)  # the chunked path
    vh = v.reshape(2, 2, 4, 24).transpose(-1, -2)
    assert_close_normwise(
        (amap.reshape(2, 2, 24, 24) @ vh).transpose(-1, -2).reshape(v.shape),
        out, n_terms=n_terms)
    # The heat map: heads averaged; the query at normalised (0.5, 0.75) is
    # position (3, 3): row 15.
    heat = attention_heatmap(amap, None)
    assert heat.shape == (2, 6, 4)
    torch.testing.assert_close(heat.sum(dim=(1, 2)),
                               torch.ones(2, dtype=torch.float64))
    torch.testing.assert_close(
        attention_heatmap(amap, (0.5, 0.75)).flatten(1), attn.mean(1)[:, 15])

    seg = TaTSegLoss(8, 8, patch_counts=2, groups=2, anchor_counts=(3, 2),
                     log_terms=False).double().eval()
    amap = seg.attention_map(s, t)
    assert amap.shape == (2, 1, 3, 2, 3, 2)
    q, k, v, _ = seg.embedding(s, t)
    q, k, v = (torch.nn.functional.avg_pool2d(x, 2, 2) for x in (q, k, v))
    out, _ = tat_reconfigure(q, k, v, 1, chunk_size=4)
    vh = v.reshape(2, 1, 8, 6).transpose(-1, -2)
    assert_close_normwise(
        (amap.reshape(2, 1, 6, 6) @ vh).transpose(-1, -2).reshape(v.shape),
        out, n_terms=n_terms)


def test_select_query_and_heatmap():
    attn = torch.arange(24.).reshape(1, 6, 4)  # 2x3 queries, 2x2 keys
    torch.testing.assert_close(
        select_query(attn, (2, 3), None, (2, 2)),
        attn.mean(1).reshape(1, 2, 2))
    torch.testing.assert_close(
        select_query(attn, (2, 3), (1.0, 0.0), (2, 2)),
        attn[:, 3].reshape(1, 2, 2))
    with pytest.raises(ValueError, match='does not fit'):
        select_query(attn, (3, 3), None, (2, 2))
    feat = torch.zeros(2, 3, 3)
    feat[0, 1, 2] = -4.0
    feat[1, 0, 0] = 2.0
    heat = feature_heatmap(feat)
    assert heat[1, 2] == 1 and heat[0, 0] == 0.5 and heat.min() == 0
    assert feature_heatmap(feat, 'max')[0, 0] == 1
    with pytest.raises(ValueError, match='reduce'):
        feature_heatmap(feat, 'median')
    with pytest.raises(ValueError, match=r'\(C, H, W\) feature, got \(3, 3\)'):
        feature_heatmap(feat[0])


def test_vis_bad_input(vis_run, demo_root, tmp_path):
    student_cfg = osp.join(ROOT, 'configs', 'demo',
                           'retinanet_r18-w16_24e_demo-coco.py')
    with pytest.raises(ValueError, match='distillation config'):
        FeatureVis(student_cfg, vis_run['student_ckpt'])
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        FeatureVis(vis_run['cfg'], str(tmp_path / 'nope.pth'))
    # The teacher's weights (width 32) as the student (width 16).
    state = torch.load(vis_run['ckpt'], weights_only=False)['state_dict']
    teacher = {k[len('teacher.'):]: v
               for k, v in state.items() if k.startswith('teacher.')}
    torch.save(dict(state_dict=teacher), tmp_path / 'teacher.pth')
    with pytest.raises(ValueError, match='does not match') as err:
        FeatureVis(vis_run['cfg'], vis_run['ckpt'],
                   student_checkpoint=str(tmp_path / 'teacher.pth'))
    assert 'backbone.conv1.weight: checkpoint (32, 3, 7, 7)' in str(
        err.value)
    vis = FeatureVis(vis_run['cfg'], vis_run['ckpt'])
    with pytest.raises(FileNotFoundError, match='missing.png'):
        vis.run([str(tmp_path / 'missing.png')], str(tmp_path))
    with pytest.raises(ValueError, match='query'):
        FeatureVis(vis_run['cfg'], vis_run['ckpt'], query=(1.5, 0.0))
    # Logits (B, K) instead of feature maps: nothing to draw.
    logits = torch.zeros(1, 10)
    vis._record = lambda *args, **kwargs: {
        layer.loss_name: (logits, ) * 4
        for layer in vis.layers
    }
    with pytest.raises(ValueError, match=r'no distilled layer.*\(1, 10\)'):
        vis.compute(vis_run['images'][0])
