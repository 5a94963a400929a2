# Copyright (c) mmkd_ext contributors. All rights reserved.
"""COCO-C end to end on the demo set with the tiny demo detector: real
corruptions and the real COCO metric, the resume path, equality with an
offline-corrupted copy of the data, the segmentation (mIoU) variant, and
bad input stopping before any work."""
import glob
import json
import os
import os.path as osp
import runpy
import shutil
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from mmkd_ext.robustness import ImageCorruption, RobustnessBenchmark
from mmkd_ext.robustness import evaluation as bench_mod
from mmkd_ext.utils import export_student

from .conftest import ROOT
from .tool_helpers import make_distill_checkpoint, randomize_bn

TEACHER = osp.join(ROOT, 'configs', 'demo',
                   'retinanet_r18-w32_24e_demo-coco.py')
TOOL = osp.join(ROOT, 'tools', 'corruption_eval.py')
CORRUPTIONS = ['gaussian_noise', 'glass_blur']


@pytest.fixture(scope='module')
def distill_run(demo_root, tmp_path_factory):
    """The demo distillation config and a checkpoint of it (random weights)
    plus the student exported by tools/convert_student.py's function."""
    tmp = tmp_path_factory.mktemp('coco_c')
    run = make_distill_checkpoint(demo_root, str(tmp))
    student_ckpt = str(tmp / 'student.pth')
    exported = export_student(run['ckpt'], student_ckpt,
                              Config.fromfile(run['cfg']))
    return dict(
        run, student_cfg=exported['config'], student_ckpt=student_ckpt,
        tmp=tmp, demo_root=demo_root)


@pytest.fixture
def computed(monkeypatch):
    """The conditions a benchmark run evaluates (spy on the result
    writer)."""
    names = []
    write = RobustnessBenchmark._write

    def spy(self, cond, *args, **kwargs):
        names.append(cond.name)
        return write(self, cond, *args, **kwargs)

    monkeypatch.setattr(RobustnessBenchmark, '_write', spy)
    return names


def run_tool(*args):
    """``tools/corruption_eval.py ARGS`` in this process."""
    argv = sys.argv
    sys.argv = [TOOL, *map(str, args)]
    try:
        runpy.run_path(TOOL, run_name='__main__')
    finally:
        sys.argv = argv


def mtimes(folder):
    return {f: os.stat(osp.join(folder, f)).st_mtime_ns
            for f in sorted(os.listdir(folder))}


@pytest.fixture(scope='module')
def first_run(distill_run, tmp_path_factory):
    """corruption_eval.py on the distillation checkpoint: clean + 2 x 1."""
    work = str(tmp_path_factory.mktemp('coco_c_run'))
    run_tool(distill_run['cfg'], distill_run['ckpt'], '--work-dir', work,
             '--corruptions', *CORRUPTIONS, '--severities', 2)
    return work


def load(work, name):
    with open(osp.join(work, 'results', f'{name}.json')) as f:
        return json.load(f)


def test_outputs_and_summary(first_run):
    results = osp.join(first_run, 'results')
    assert sorted(os.listdir(results)) == [
        'clean.json', 'gaussian_noise_s2.json', 'glass_blur_s2.json'
    ]
    rec = {n: load(first_run, n)
           for n in ('clean', 'gaussian_noise_s2', 'glass_blur_s2')}
    for r in rec.values():
        assert r['metric'] == 'coco/bbox_mAP' and r['num_images'] == 4
        assert r['score'] == pytest.approx(
            100 * r['metrics']['coco/bbox_mAP'])
        assert {'coco/bbox_mAP_50', 'coco/bbox_mAP_75'} <= set(r['metrics'])
    # The corruption reached the model: the predictions, hence the
    # metrics, differ from the clean ones.
    for name in ('gaussian_noise_s2', 'glass_blur_s2'):
        assert rec[name]['metrics'] != rec['clean']['metrics'], name
    with open(osp.join(first_run, 'summary.json')) as f:
        summary = json.load(f)
    mpc = (rec['gaussian_noise_s2']['score'] +
           rec['glass_blur_s2']['score']) / 2
    assert summary['clean'] == pytest.approx(rec['clean']['score'])
    assert summary['mPC'] == pytest.approx(mpc)
    if rec['clean']['score'] > 0:
        assert summary['rPC'] == pytest.approx(
            100 * mpc / rec['clean']['score'])
    assert summary['complete'] is False
    assert summary['families'] == pytest.approx({
        'noise': rec['gaussian_noise_s2']['score'],
        'blur': rec['glass_blur_s2']['score']
    })
    assert summary['student_of_distillation'] is True
    with open(osp.join(first_run, 'summary.md')) as f:
        md = f.read()
    assert '| glass_blur | blur |' in md and 'mPC' in md
    png = cv2.imread(osp.join(first_run, 'AP_vs_severity.png'))
    assert png is not None and png.std() > 0


def test_table_and_plot_show_two_decimals(tmp_path, monkeypatch):
    """mPC 1.05 reads 1.05 in the markdown table and in the plot's legend
    (the table showed 1.0). 0.125 is exact in binary: the tie rounds to
    even, 0.12, as Python formats it."""
    from matplotlib.figure import Figure

    from mmkd_ext.robustness.report import (
        compute_summary,
        markdown_table,
        plot_summary,
    )
    summary = compute_summary([
        dict(corruption='clean', severity=0, score=2.5),
        dict(corruption='gaussian_noise', severity=1, score=1.05),
        dict(corruption='speckle_noise', severity=1, score=0.125),
    ])
    assert summary['mPC'] == 1.05  # the held-out speckle_noise is not in
    md = markdown_table(summary)
    assert '| gaussian_noise | noise | 1.05 | 1.05 |' in md
    assert '| speckle_noise | holdout | 0.12 | 0.12 |' in md
    assert '| 2.50 | 1.05 | 42.00 |' in md
    legends = []
    savefig = Figure.savefig

    def spy(fig, *args, **kwargs):
        legends.extend(t.get_text() for ax in fig.axes if ax.get_legend()
                       for t in ax.get_legend().get_texts())
        return savefig(fig, *args, **kwargs)

    monkeypatch.setattr(Figure, 'savefig', spy)
    plot_summary(summary, str(tmp_path / 'plot.png'))
    assert 'mPC 1.05' in legends


def test_resume_recomputes_only_missing(distill_run, first_run, tmp_path,
                                        computed, capsys):
    work = str(tmp_path / 'copy')
    shutil.copytree(first_run, work)
    results = osp.join(work, 'results')
    before = mtimes(results)
    old = load(work, 'glass_blur_s2')
    # A second run recomputes nothing.
    bench = RobustnessBenchmark(
        distill_run['cfg'], distill_run['ckpt'], work,
        corruptions=CORRUPTIONS, severities=[2])
    bench.run()
    assert computed == []
    assert mtimes(results) == before
    # Delete one result: only that one is recomputed, identically (the
    # corruptions are seeded per image).
    os.remove(osp.join(results, 'glass_blur_s2.json'))
    RobustnessBenchmark(
        distill_run['cfg'], distill_run['ckpt'], work,
        corruptions=CORRUPTIONS, severities=[2]).run()
    assert computed == ['glass_blur_s2']
    after = mtimes(results)
    for name in ('clean.json', 'gaussian_noise_s2.json'):
        assert after[name] == before[name]
    new = load(work, 'glass_blur_s2')
    assert new['metrics'] == old['metrics']
    assert 'ETA' in capsys.readouterr().out
    # Results of another setting are not mixed in: a clear error before
    # any work.
    with pytest.raises(ValueError, match='fingerprint'):
        RobustnessBenchmark(
            distill_run['cfg'], distill_run['ckpt'], work,
            corruptions=CORRUPTIONS, severities=[2], seed=1).run()
    assert computed == ['glass_blur_s2']


def test_equals_offline_corruption_and_plain_model(distill_run, first_run,
                                                   tmp_path, computed):
    """A COCO-C number is the COCO AP of the corrupted images: the standard
    test loop of the exported student on a copy of the val set corrupted
    offline gives the same metrics; the exported student and a plain config
    give the same results as the distillation checkpoint."""
    root = distill_run['demo_root']
    with open(osp.join(root, 'annotations', 'instances_val.json')) as f:
        images = json.load(f)['images']
    out_dir = tmp_path / 'val_gn'
    out_dir.mkdir()
    corrupt = ImageCorruption('gaussian_noise', 2, seed=0)
    for im in images:
        path = osp.join(root, 'val', im['file_name'])
        img = cv2.imread(path, cv2.IMREAD_COLOR)
        out = corrupt(dict(img=img, img_path=path, img_id=im['id']))['img']
        cv2.imwrite(str(out_dir / im['file_name']), out)  # PNG: lossless
    cfg = Config.fromfile(distill_run['student_cfg'])
    cfg.test_dataloader.dataset.data_prefix = dict(img=str(out_dir) + '/')
    cfg.load_from = distill_run['student_ckpt']
    cfg.work_dir = str(tmp_path / 'offline')
    metrics = Runner.from_cfg(cfg).test()
    expected = load(first_run, 'gaussian_noise_s2')['metrics']
    assert {k: float(v) for k, v in metrics.items()} == expected

    work = str(tmp_path / 'plain')
    summary = RobustnessBenchmark(
        distill_run['student_cfg'], distill_run['student_ckpt'], work,
        corruptions=['gaussian_noise'], severities=[2]).run()
    assert computed == ['clean', 'gaussian_noise_s2']
    assert summary['student_of_distillation'] is False
    for name in computed:
        assert load(work, name)['metrics'] == load(first_run,
                                                   name)['metrics']


# -- bad input: a clear error before any work -----------------------------


@pytest.fixture(scope='module')
def teacher_ckpt(distill_run):
    """A plain checkpoint of the width-32 teacher (not the student)."""
    from mmdet.registry import MODELS
    init_default_scope('mmdet')
    model = MODELS.build(Config.fromfile(TEACHER).model)
    path = str(distill_run['tmp'] / 'teacher.pth')
    torch.save(dict(state_dict=model.state_dict()), path)
    return path


@pytest.fixture
def no_work(monkeypatch):
    """Fail the test if any test loop starts."""

    def boom(*args, **kwargs):
        raise AssertionError('a test loop was started')

    monkeypatch.setattr(bench_mod, 'TestLoop', boom)


def test_unknown_corruption(distill_run, tmp_path, no_work):
    with pytest.raises(ValueError, match=r"unknown corruption.*'fgo'"):
        run_tool(distill_run['cfg'], distill_run['ckpt'], '--work-dir',
                 tmp_path, '--corruptions', 'fog', 'fgo')
    with pytest.raises(ValueError, match='severities'):
        run_tool(distill_run['cfg'], distill_run['ckpt'], '--work-dir',
                 tmp_path, '--severities', 0)
    assert not os.listdir(tmp_path)


@pytest.mark.parametrize('option, key, missing', [
    ('test_dataloader.dataset.ann_file', 'test_dataloader.dataset.ann_file',
     'annotations/nope.json'),
    ('test_dataloader.dataset.data_prefix.img',
     'test_dataloader.dataset.data_prefix.img', 'no_such_dir/'),
    ('test_evaluator.ann_file', 'test_evaluator.ann_file',
     '/no/such/instances_val.json'),
])
def test_missing_data(distill_run, tmp_path, no_work, option, key, missing):
    with pytest.raises(FileNotFoundError) as err:
        run_tool(distill_run['cfg'], distill_run['ckpt'], '--work-dir',
                 tmp_path, '--cfg-options', f'{option}={missing}')
    assert key in str(err.value) and missing in str(err.value)
    assert not os.listdir(tmp_path)


def test_checkpoint_does_not_match(distill_run, teacher_ckpt, tmp_path,
                                   no_work):
    # The teacher's weights (width 32) with the student's config (width 16).
    with pytest.raises(ValueError, match='does not match') as err:
        RobustnessBenchmark(distill_run['cfg'], teacher_ckpt,
                            str(tmp_path)).run()
    msg = str(err.value)
    assert 'backbone.conv1.weight: checkpoint (32, 3, 7, 7), model (16, ' \
        '3, 7, 7)' in msg
    assert not osp.exists(tmp_path / 'results')
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        RobustnessBenchmark(distill_run['cfg'], str(tmp_path / 'nope.pth'),
                            str(tmp_path))


def test_cli_error_message(distill_run, tmp_path):
    out = subprocess.run([
        sys.executable, TOOL, distill_run['cfg'], distill_run['ckpt'],
        '--work-dir', str(tmp_path), '--corruptions', 'snowstorm'
    ], capture_output=True, text=True, timeout=300)
    assert out.returncode != 0
    assert "unknown corruption name(s) ['snowstorm']" in out.stderr
    assert 'glass_blur' in out.stderr  # the valid names are listed


def test_unknown_metric_key(distill_run, tmp_path):
    with pytest.raises(KeyError, match="'coco/segm_mAP'.*coco/bbox_mAP"):
        RobustnessBenchmark(
            distill_run['cfg'], distill_run['ckpt'], str(tmp_path),
            corruptions=['fog'], severities=[1], metric='coco/segm_mAP',
            progress=False).run()
    assert not osp.exists(tmp_path / 'results')


REPO_CONFIGS = sorted(
    p for p in glob.glob(osp.join(ROOT, 'configs', '*', '*.py'))
    if osp.basename(osp.dirname(p)) != 'demo')


def expected_task(path: str) -> str:
    if path.endswith('_in1k.py'):
        return 'cls'
    if path.endswith('_coco.py'):
        return 'det'
    return 'seg'  # cityscapes, voc12aug, coco-stuff10k


@pytest.mark.parametrize('cfg_path', REPO_CONFIGS, ids=osp.basename)
def test_every_repo_config_is_accepted(cfg_path, monkeypatch):
    """Each method config reaches the data check (there is no data here)
    with its student as the model, the right task and a pipeline the
    corruption can be inserted in."""
    seen = []

    class Reached(Exception):
        pass

    def data_check(cfg, loaders):
        seen.append(cfg)
        raise Reached

    monkeypatch.setattr(bench_mod, 'preflight_check', data_check)
    with pytest.raises(Reached):
        RobustnessBenchmark(cfg_path, 'unused.pth', 'unused')
    cfg = seen[0]
    assert 'architecture' not in cfg.model and 'teacher' not in cfg.model
    assert bench_mod.infer_task(cfg) == expected_task(cfg_path)
    pipeline = cfg.test_dataloader.dataset.pipeline
    out = bench_mod.insert_corruption(pipeline, dict(type='ImageCorruption'))
    assert 'LoadImageFrom' in out[out.index(
        dict(type='ImageCorruption')) - 1]['type']


# -- segmentation: Cityscapes-C style, mIoU -------------------------------


def write_seg_set(demo_root: str, out: str) -> None:
    """Label maps of the demo val images (0 = background, 1-3 shapes)."""
    from pycocotools.coco import COCO
    coco = COCO(osp.join(demo_root, 'annotations', 'instances_val.json'))
    os.makedirs(osp.join(out, 'img'), exist_ok=True)
    os.makedirs(osp.join(out, 'ann'), exist_ok=True)
    for img in coco.loadImgs(coco.getImgIds()):
        label = np.zeros((img['height'], img['width']), np.uint8)
        for ann in coco.loadAnns(coco.getAnnIds(imgIds=img['id'])):
            label[coco.annToMask(ann) > 0] = ann['category_id']
        shutil.copy(osp.join(demo_root, 'val', img['file_name']),
                    osp.join(out, 'img', img['file_name']))
        cv2.imwrite(osp.join(out, 'ann', img['file_name']), label)


def seg_config(data_root: str) -> Config:
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations'),
        dict(type='PackSegInputs')
    ]
    loader = dict(
        batch_size=2, num_workers=0,
        sampler=dict(type='DefaultSampler', shuffle=False),
        dataset=dict(
            type='BaseSegDataset', data_root=data_root,
            metainfo=dict(classes=('background', 'disc', 'square',
                                   'triangle')),
            data_prefix=dict(img_path='img', seg_map_path='ann'),
            img_suffix='.png', seg_map_suffix='.png', pipeline=pipeline))
    model = dict(
        type='EncoderDecoder',
        data_preprocessor=dict(
            type='SegDataPreProcessor', mean=[123.675, 116.28, 103.53],
            std=[58.395, 57.12, 57.375], bgr_to_rgb=True, size_divisor=32),
        backbone=dict(type='ResNetV1c', depth=18, stem_channels=16,
                      base_channels=16, out_indices=(3, )),
        decode_head=dict(
            type='FCNHead', in_channels=128, in_index=0, channels=32,
            num_convs=1, num_classes=4, concat_input=False,
            loss_decode=dict(type='CrossEntropyLoss')),
        test_cfg=dict(mode='whole'))
    return Config(dict(
        default_scope='mmseg', model=model, test_dataloader=loader,
        test_evaluator=dict(type='IoUMetric', iou_metrics=['mIoU']),
        test_cfg=dict(type='TestLoop'),
        custom_imports=dict(imports=['mmkd_ext'],
                            allow_failed_imports=False)))


def test_segmentation_variant(demo_root, tmp_path, computed):
    from mmseg.registry import MODELS
    write_seg_set(demo_root, str(tmp_path / 'seg'))
    cfg = seg_config(str(tmp_path / 'seg'))
    cfg_path = str(tmp_path / 'seg.py')
    cfg.dump(cfg_path)
    init_default_scope('mmseg')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    randomize_bn(model, 1)
    # Class scores that vary with the image (not one class everywhere).
    torch.nn.init.normal_(model.decode_head.conv_seg.weight, std=1.0)
    torch.nn.init.zeros_(model.decode_head.conv_seg.bias)
    ckpt = str(tmp_path / 'seg.pth')
    torch.save(dict(state_dict=model.state_dict()), ckpt)
    summary = RobustnessBenchmark(
        cfg_path, ckpt, str(tmp_path / 'work'), corruptions=['fog'],
        severities=[4], progress=False).run()
    assert computed == ['clean', 'fog_s4']
    assert summary['task'] == 'seg' and summary['unit'] == 'mIoU'
    clean = load(str(tmp_path / 'work'), 'clean')
    fog = load(str(tmp_path / 'work'), 'fog_s4')
    assert clean['metric'] == 'mIoU' and 0 <= clean['score'] <= 100
    assert fog['metrics'] != clean['metrics']
    assert summary['mPC'] == pytest.approx(fog['score'])
    assert osp.isfile(tmp_path / 'work' / 'mIoU_vs_severity.png')


def test_classification_variant(demo_root, tmp_path, computed):
    """--task cls (an mmpretrain config): top-1 accuracy per condition."""
    from mmpretrain.registry import MODELS
    from pycocotools.coco import COCO
    coco = COCO(osp.join(demo_root, 'annotations', 'instances_val.json'))
    for img in coco.loadImgs(coco.getImgIds()):
        label = coco.loadAnns(coco.getAnnIds(imgIds=img['id']))[0][
            'category_id']
        folder = tmp_path / 'cls' / f'c{label}'
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(osp.join(demo_root, 'val', img['file_name']), folder)
    for label in (1, 2, 3):  # every class folder exists
        (tmp_path / 'cls' / f'c{label}').mkdir(exist_ok=True)
    cfg = Config(dict(
        default_scope='mmpretrain',
        model=dict(
            type='ImageClassifier',
            data_preprocessor=dict(
                num_classes=3, mean=[123.675, 116.28, 103.53],
                std=[58.395, 57.12, 57.375], to_rgb=True),
            backbone=dict(type='ResNet', depth=18, stem_channels=16,
                          base_channels=16),
            neck=dict(type='GlobalAveragePooling'),
            head=dict(type='LinearClsHead', num_classes=3,
                      in_channels=128)),
        test_dataloader=dict(
            batch_size=2, num_workers=0,
            sampler=dict(type='DefaultSampler', shuffle=False),
            dataset=dict(
                type='CustomDataset', data_root=str(tmp_path / 'cls'),
                pipeline=[dict(type='LoadImageFromFile'),
                          dict(type='PackInputs')])),
        test_evaluator=dict(type='Accuracy', topk=(1, )),
        test_cfg=dict()))
    cfg_path = str(tmp_path / 'cls.py')
    cfg.dump(cfg_path)
    init_default_scope('mmpretrain')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    randomize_bn(model, 2)
    torch.nn.init.normal_(model.head.fc.weight, std=1.0)
    ckpt = str(tmp_path / 'cls.pth')
    torch.save(dict(state_dict=model.state_dict()), ckpt)
    summary = RobustnessBenchmark(
        cfg_path, ckpt, str(tmp_path / 'work'), corruptions=['contrast'],
        severities=[5], progress=False).run()
    assert computed == ['clean', 'contrast_s5']
    assert summary['task'] == 'cls' and summary['unit'] == 'top1'
    clean = load(str(tmp_path / 'work'), 'clean')
    assert clean['metric'] == 'accuracy/top1'
    assert clean['score'] in (0.0, 25.0, 50.0, 75.0, 100.0)  # 4 images
    assert osp.isfile(tmp_path / 'work' / 'top1_vs_severity.png')


# -- slow: distributed run, the full grid -----------------------------------


@pytest.mark.slow
def test_two_process_run_equals_single(distill_run, first_run, tmp_path):
    env = dict(os.environ, PYTHON=sys.executable, PORT='29631',
               OMP_NUM_THREADS='1')
    work = tmp_path / 'dist'
    out = subprocess.run([
        'bash', osp.join(ROOT, 'tools', 'dist_corruption_eval.sh'),
        distill_run['cfg'], distill_run['ckpt'], '2', '--work-dir',
        str(work), '--corruptions', *CORRUPTIONS, '--severities', '2'
    ], env=env, capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, (out.stdout + out.stderr)[-3000:]
    for name in ('clean', 'gaussian_noise_s2', 'glass_blur_s2'):
        assert load(str(work), name)['metrics'] == load(first_run,
                                                        name)['metrics']
    with open(work / 'summary.json') as f:
        assert json.load(f)['world_size'] == 2


@pytest.mark.slow
def test_full_benchmark_grid(distill_run, tmp_path):
    summary = RobustnessBenchmark(distill_run['cfg'], distill_run['ckpt'],
                                  str(tmp_path), progress=False).run()
    assert summary['complete'] is True
    assert len(os.listdir(tmp_path / 'results')) == 1 + 15 * 5
    assert len(summary['corruptions']) == 15
