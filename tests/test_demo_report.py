# Copyright (c) mmkd_ext contributors. All rights reserved.
"""tools/demo.py's figure (metrics and per-epoch losses from the runs'
mmengine logs), its --only-data mode and its work-dir layout."""
import importlib.util
import json
import math
import os
import os.path as osp
import sys

import numpy as np
import pytest
from PIL import Image

from mmkd_ext.visualization import (
    STUDENT_ALONE_RUN,
    TASK_LOSS,
    epoch_losses,
    load_train_scalars,
    plot_runs,
    student_alone_checkpoint,
)

from .conftest import ROOT


def train_line(epoch, it, **losses):
    """One training line as mmengine's LoggerHook writes it."""
    return dict(lr=0.01, data_time=0.01, loss=sum(losses.values()),
                time=0.3, epoch=epoch, iter=it, step=it, **losses)


def plain_lines(scale=1.0):
    return [
        train_line(e, 2 * e - 1 + i, loss_cls=scale * (2.0 - e / 2 - i / 4),
                   loss_bbox=scale * 0.5) for e in (1, 2) for i in (0, 1)
    ]


def distill_lines():
    return [
        train_line(e, 2 * e - 1 + i, **{
            'student.loss_cls': 2.0 - e / 2,
            'student.loss_bbox': 0.5,
            'distill.loss_fpn0': 0.25 * i + 1 / e,
            'distill.loss_fpn1': 0.125,
        }) for e in (1, 2) for i in (0, 1)
    ]


def write_log(work_dir, lines, timestamp='20260101_000000', extra=()):
    """``work_dir/{timestamp}/vis_data/scalars.json`` with ``lines``."""
    vis = osp.join(work_dir, timestamp, 'vis_data')
    os.makedirs(vis, exist_ok=True)
    with open(osp.join(vis, 'scalars.json'), 'w') as f:
        for line in [*lines, *extra]:
            f.write(json.dumps(line) + '\n')


def test_epoch_losses():
    # Plain run: the task loss is loss_cls + loss_bbox (not 'loss' twice).
    # All values are dyadic: the means are exact.
    assert epoch_losses(plain_lines()) == {
        TASK_LOSS: {1: (1.5 + 1.25) / 2 + 0.5, 2: (1.0 + 0.75) / 2 + 0.5}
    }
    # Distillation run: student.* is the task, distill.* the terms; a
    # trained teacher's own losses are neither.
    lines = distill_lines()
    for line in lines:
        line['teacher.loss_cls'] = 100.0
    assert epoch_losses(lines) == {
        TASK_LOSS: {1: 2.0, 2: 1.5},
        'loss_fpn0': {1: 1.125, 2: 0.625},
        'loss_fpn1': {1: 0.125, 2: 0.125},
    }


def test_load_train_scalars(tmp_path):
    work = str(tmp_path / 'run')
    write_log(work, plain_lines(scale=2.0), '20260101_000000')
    # The latest training run wins; a later test-only run (tools/test.py
    # in the same work dir) and the val lines are skipped.
    val = {'coco/bbox_mAP': 0.5, 'step': 2}
    write_log(work, plain_lines(), '20260102_000000', extra=[val])
    write_log(work, [{'coco/bbox_mAP': 0.5, 'step': 0}], '20260103_000000')
    assert load_train_scalars(work) == plain_lines()
    with pytest.raises(FileNotFoundError, match='no training log in .*nope'):
        load_train_scalars(str(tmp_path / 'nope'))
    with open(osp.join(work, '20260102_000000', 'vis_data', 'scalars.json'),
              'a') as f:
        f.write('{"loss": \n')
    with pytest.raises(ValueError, match=r'scalars.json:6 is not a JSON'):
        load_train_scalars(work)
    # Two runs' lines in one file (Runners of one process sharing a
    # visualizer name): refused, not averaged together.
    write_log(work, plain_lines() + plain_lines(), '20260104_000000')
    with pytest.raises(ValueError, match=r'scalars.json:5: iter 1 after 4'):
        load_train_scalars(work)


def check_png(path, min_size=(800, 300)):
    """A readable, non-blank PNG of at least ``min_size`` (w, h) pixels."""
    with Image.open(path) as img:
        assert img.format == 'PNG'
        arr = np.asarray(img.convert('RGB'))
    assert arr.shape[1] >= min_size[0] and arr.shape[0] >= min_size[1]
    assert arr.std() > 10  # not a blank canvas
    return arr


def test_plot_runs(tmp_path):
    runs = []
    for name, lines in (('teacher', plain_lines(0.5)),
                        ('student', plain_lines()),
                        ('student+cankd', distill_lines()),
                        ('student+cwd', distill_lines())):
        write_log(str(tmp_path / name), lines)
        runs.append(dict(name=name, work_dir=str(tmp_path / name),
                         metrics={'bbox mAP': 0.125, 'mAP@50': 0.25}))
    runs[0]['metrics']['mAP@50'] = math.nan  # shows as n/a
    out = plot_runs(runs, str(tmp_path / 'out' / 'results.png'), 'demo')
    assert out == str(tmp_path / 'out' / 'results.png')
    check_png(out)
    with pytest.raises(FileNotFoundError, match='no training log'):
        plot_runs([dict(name='x', work_dir=str(tmp_path / 'none'),
                        metrics={})], str(tmp_path / 'x.png'))


def load_demo_module():
    spec = importlib.util.spec_from_file_location(
        'mmkd_demo_tool', osp.join(ROOT, 'tools', 'demo.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_demo_writes_figure(tmp_path, monkeypatch):
    """demo.py's main with its trainings replaced by logged fake runs: the
    table, results.json and results.png; the distilled run's checkpoint
    finds the student-alone one (the layout vis_features relies on)."""
    demo = load_demo_module()
    names = []

    def fake_run(name, cfg_path, args, **overrides):
        work_dir = osp.join(args.work_dir, name)
        names.append(name)
        write_log(work_dir, distill_lines() if '+' in name else plain_lines())
        ckpt = osp.join(work_dir, f'epoch_{args.epochs}.pth')
        open(ckpt, 'w').close()
        return dict(name=name, params=1000, train_min=0.5, mAP=0.25,
                    mAP50=0.5, work_dir=work_dir, ckpt=ckpt)

    monkeypatch.setattr(demo, 'run', fake_run)
    data = tmp_path / 'data'
    (data / 'annotations').mkdir(parents=True)
    (data / 'annotations' / 'instances_val.json').write_text('{}')
    work = tmp_path / 'work'
    monkeypatch.setattr(sys, 'argv', [
        'demo.py', '--work-dir', str(work), '--data-root', str(data),
        '--epochs', '2', '--method', 'cwd'
    ])
    demo.main()
    assert names == ['teacher', STUDENT_ALONE_RUN, 'student+cwd']
    check_png(work / 'results.png')
    with open(work / 'results.json') as f:
        rows = json.load(f)
    assert [r['name'] for r in rows] == names
    assert student_alone_checkpoint(rows[2]['ckpt']) == rows[1]['ckpt']


def test_demo_only_data(tmp_path, monkeypatch, capsys):
    """--only-data writes the demo set and trains nothing."""
    import mmengine.runner

    def no_training(*args, **kwargs):
        raise AssertionError('--only-data built a Runner')

    monkeypatch.setattr(mmengine.runner.Runner, 'from_cfg', no_training)
    demo = load_demo_module()
    data, work = tmp_path / 'data', tmp_path / 'work'
    argv = [
        'demo.py', '--only-data', '--data-root', str(data), '--work-dir',
        str(work), '--num-train', '3', '--num-val', '2'
    ]
    monkeypatch.setattr(sys, 'argv', argv)
    demo.main()
    for split, n in (('train', 3), ('val', 2)):
        with open(data / 'annotations' / f'instances_{split}.json') as f:
            assert len(json.load(f)['images']) == n
        assert len(os.listdir(data / split)) == n
    assert not work.exists()
    assert f'generating the demo set in {data}' in capsys.readouterr().out
    demo.main()  # the set exists: said so, kept as it is
    assert f'already in {data}' in capsys.readouterr().out


def test_student_alone_checkpoint(tmp_path):
    distilled = tmp_path / 'demo' / 'student+cankd'
    alone = tmp_path / 'demo' / STUDENT_ALONE_RUN
    distilled.mkdir(parents=True)
    ckpt = distilled / 'epoch_24.pth'
    ckpt.write_bytes(b'')
    assert student_alone_checkpoint(str(ckpt)) is None  # no student run
    alone.mkdir()
    assert student_alone_checkpoint(str(ckpt)) is None  # nothing saved
    # mmengine's last_checkpoint pointer, written where the run was.
    (alone / 'epoch_16.pth').write_bytes(b'')
    (alone / 'last_checkpoint').write_text('/elsewhere/student/epoch_16.pth')
    assert student_alone_checkpoint(str(ckpt)) == str(alone / 'epoch_16.pth')
    # The same epoch first.
    (alone / 'epoch_24.pth').write_bytes(b'')
    assert student_alone_checkpoint(str(ckpt)) == str(alone / 'epoch_24.pth')
    # The student-alone run's own checkpoint has no "other" student.
    assert student_alone_checkpoint(str(alone / 'epoch_24.pth')) is None


@pytest.mark.slow
def test_demo_end_to_end(tmp_path):
    """tools/demo.py for real, one epoch of one iteration per model: each
    run logs into its own work dir (mmdet's fixed visualizer name made the
    three runs of the process log into the teacher's), the figure is
    written from those logs."""
    import subprocess
    work, data = tmp_path / 'work', tmp_path / 'data'
    out = subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools', 'demo.py'), '--work-dir',
         str(work), '--data-root', str(data), '--epochs', '1',
         '--num-train', '8', '--num-val', '4', '--method', 'cwd'],
        capture_output=True, text=True, cwd=ROOT, timeout=900)
    assert out.returncode == 0, (out.stdout + out.stderr)[-4000:]
    check_png(work / 'results.png')
    teacher, distilled = (epoch_losses(load_train_scalars(str(work / n)))
                          for n in ('teacher', 'student+cwd'))
    assert list(teacher) == [TASK_LOSS] and list(teacher[TASK_LOSS]) == [1]
    assert sorted(distilled) == sorted(
        [TASK_LOSS] + [f'loss_fpn{i}' for i in range(4)])
