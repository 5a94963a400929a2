# Copyright (c) mmkd_ext contributors. All rights reserved.
"""the effectiveness grid: grid, plan, report, and one tiny end-to-end grid
through ``tools/effectiveness_grid.py``."""
import json
import math
import os
import os.path as osp
import re
import subprocess
import sys

import pytest
from mmengine.config import Config

from mmkd_ext.effectiveness import (
    GRID,
    collect,
    families,
    grid_root,
    plan,
    summarize,
    welch_p,
)
from mmkd_ext.effectiveness.grid import STUDENT, TEACHER, data_options
from mmkd_ext.effectiveness.harness import Progress
from mmkd_ext.effectiveness.report import markdown, summary_table

from .conftest import ROOT


def _all_families():
    return [fam for task in GRID for fam in GRID[task]]


@pytest.mark.parametrize(
    'fam', _all_families(), ids=lambda f: f'{f.task}-{f.name}')
def test_grid_configs_build_from_real_ones(fam):
    """Every grid config exists, loads and has the real method config's
    algorithm and losses."""
    for method, _ in fam.methods:
        cfg = Config.fromfile(fam.config(method))
        assert cfg.model.type in ('SingleTeacherDistill', 'LetKDDistill',
                                  'MultiViewDistill', 'RoITeacherDistill',
                                  'LetKDFpnTeacherDistill',
                                  'FpnTeacherDistill'), method
        assert cfg.model.distiller.distill_losses, method
        assert 'cfg_path' not in cfg.model.teacher, method
    for method in (TEACHER, STUDENT):
        assert 'teacher' not in Config.fromfile(fam.config(method)).model


def _loss_weights(node, path=''):
    """Every ``loss_weight`` under ``node``, by its key path."""
    if isinstance(node, dict):
        found = {}
        for key, value in node.items():
            if key == 'loss_weight':
                found[path] = value
            else:
                found.update(_loss_weights(value, f'{path}.{key}'))
        return found
    return {}


def _real_config(grid_config: str) -> Config:
    """The real method config a grid config inherits (its first base)."""
    with open(grid_config) as f:
        first = re.search(r"_base_ = \[\s*'([^']+)'", f.read()).group(1)
    path, _ = Config._get_cfg_path(first, grid_config)
    return Config.fromfile(
        path if '::' in first else osp.join(osp.dirname(grid_config), path))


@pytest.mark.parametrize(
    'fam', _all_families(), ids=lambda f: f'{f.task}-{f.name}')
def test_grid_loss_weights_are_the_real_ones_or_held_out(fam):
    """A grid config with its real config's distillation losses keeps every
    loss weight (distillation and task head) unless it says the weight was
    chosen on the held-out split. (The baselines built from a sibling method's
    config, e.g. KD from KD+Z, change the loss types and state their values.)
    """
    compared = 0
    for method, _ in fam.methods:
        path = fam.config(method)
        grid, real = Config.fromfile(path), _real_config(path)
        losses = grid.model.distiller.distill_losses
        real_losses = real.model.get('distiller', {}).get('distill_losses')
        if real_losses is None or {
                k: v['type'] for k, v in losses.items()} != {
                    k: v['type'] for k, v in real_losses.items()}:
            continue
        compared += 1
        weights = _loss_weights(losses.to_dict())
        real_weights = _loss_weights(real_losses.to_dict())
        for head in ('head', 'decode_head', 'roi_head'):
            weights.update(_loss_weights(
                grid.model.architecture.get(head, {}), head))
            real_weights.update(_loss_weights(
                real.model.architecture.get(head, {}), head))
        changed = {
            k: (real_weights[k], v) for k, v in weights.items()
            if k in real_weights and v != real_weights[k]
        }
        with open(path) as f:
            held_out = 'held-out split' in f.read()
        assert not changed or held_out, (
            f'{method}: loss weights {changed} (real, grid) changed '
            'without a held-out choice')
    assert compared >= len(fam.methods) // 2


def test_data_options_switch_to_holdout(tmp_path):
    opts = data_options('cls', str(tmp_path), holdout=True)
    assert opts['train_dataloader.dataset.ann_file'] == 'meta/train_fit.txt'
    assert opts['test_dataloader.dataset.ann_file'] == (
        'meta/train_holdout.txt')
    assert opts['test_dataloader.dataset.split'] == 'train'
    opts = data_options('det', str(tmp_path))
    assert opts['test_evaluator.ann_file'].endswith(
        'annotations/instances_val.json')


def test_plan_order_and_letkd_targets(tmp_path):
    runs = plan(str(tmp_path), ['cls'], ['kd', 'letkd-1'], seeds=2)
    names = [(r.method, r.kind, r.seed) for r in runs]
    assert names[0] == (TEACHER, 'train', 0)
    assert names[1] == ('letkd-1', 'letkd', 0)
    assert names[2:] == [(m, 'train', s) for s in range(2)
                         for m in (STUDENT, 'kd', 'letkd-1')]
    letkd = [r for r in runs if r.method == 'letkd-1']
    target = letkd[0].options['letkd_file']
    assert all(
        r.options['model.distiller.distill_losses.loss_letkd_penult.'
                  'target_file'] == target for r in letkd)
    teacher = runs[0].work_dir
    assert all(r.options['model.teacher_ckpt'].startswith(teacher)
               for r in runs if r.method not in (TEACHER, STUDENT))
    assert 'model.teacher_ckpt' not in runs[2].options  # student alone
    # A method runs only after its teacher (and its letKD targets).
    assert runs[2].needs == [] and runs[3].needs == [runs[0]]
    assert runs[4].needs == [runs[0], runs[1]]


def test_variants_and_holdout_runs_live_apart(tmp_path):
    """A method run with config options is a variant in its own folder
    (its results never taken for the method's); held-out runs, teacher
    included, live under WORK_DIR/holdout; the data is shared."""
    work = str(tmp_path)
    weight = 'model.distiller.distill_losses.loss_kd.loss_weight'
    grid = plan(work, ['cls'], ['kd'], seeds=1)
    variant = plan(work, ['cls'], ['kd'], seeds=1,
                   method_options={weight: 2, 'model.teacher_ckpt': 'x y'})
    held = plan(work, ['cls'], ['kd'], seeds=1, holdout=True)
    assert [r.work_dir for r in variant[:2]] == [
        r.work_dir for r in grid[:2]]  # teacher, student alone: shared
    assert grid[2].work_dir == osp.join(work, 'cls', 'resnet', 'kd', 'seed0')
    assert variant[2].label == 'kd[loss_kd.loss_weight=2,teacher_ckpt=x_y]'
    assert variant[2].work_dir == osp.join(work, 'cls', 'resnet',
                                           variant[2].label, 'seed0')
    assert variant[2].options[weight] == 2
    assert variant[2].name == 'cls/resnet/' + variant[2].label + ' (seed 0)'
    assert [r.work_dir for r in held] == [
        r.work_dir.replace(work, osp.join(work, 'holdout'), 1) for r in grid]
    assert grid_root(work, holdout=True) == osp.join(work, 'holdout')
    assert held[2].options['train_dataloader.dataset.ann_file'] == (
        'meta/train_fit.txt')
    assert held[2].options['train_dataloader.dataset.data_root'] == (
        grid[2].options['train_dataloader.dataset.data_root'])


def test_collect_reads_every_finished_run_in_grid_order(tmp_path):
    """The outputs describe the whole folder, whichever invocation ran each
    run: teacher, student alone, then each method followed by its variants,
    seeds in numeric order; unfinished runs are left out."""
    base = tmp_path / 'cls' / 'resnet'
    done = [('teacher', None), ('student', 10), ('student', 2),
            ('kd[loss_kd.loss_weight=2]', 0), ('kd', 0), ('wttm', 1),
            ('dkd', 0)]
    for name, seed in done:
        folder = base / name if seed is None else base / name / f'seed{seed}'
        folder.mkdir(parents=True)
        (folder / 'metrics.json').write_text(json.dumps([name, seed]))
    (base / 'ctkd' / 'seed0').mkdir(parents=True)  # unfinished
    assert collect(str(tmp_path)) == [
        ['teacher', None], ['student', 2], ['student', 10], ['kd', 0],
        ['kd[loss_kd.loss_weight=2]', 0], ['dkd', 0], ['wttm', 1]]
    assert collect(str(tmp_path / 'holdout')) == []


def _result(method, seed, value, family='resnet'):
    return dict(task='cls', family=family, method=method, seed=seed,
                metric='accuracy/top1', value=value, train_s=1.0)


def test_summary_welch_verdicts():
    results = [_result(STUDENT, s, v) for s, v in enumerate((50, 51, 49))]
    results += [_result('good', s, v) for s, v in enumerate((60, 61, 59))]
    results += [_result('noise', s, v) for s, v in enumerate((52, 48, 50))]
    rows = {r['method']: r for r in summarize(results)}
    assert rows['good']['gain'] == pytest.approx(10)
    assert rows['good']['verdict'] == 'helps'
    assert rows['noise']['verdict'] == 'within spread'
    assert rows[STUDENT]['std'] == pytest.approx(1.0)
    assert 'verdict' not in rows[STUDENT]
    table = markdown(list(rows.values()))
    assert 'Welch p < 0.05' in table
    assert '| good | 3 | 60.00 +- 1.00 |' in table
    results += [_result('bad', s, v) for s, v in enumerate((30, 31, 29))]
    summary = summary_table(summarize(results)).splitlines()
    assert summary[2] == ('| cls / resnet (accuracy/top1) | - / 50.00 +- '
                          '1.00 | **good +10.00**, noise +0.00, '
                          '*bad -20.00* |')
    one_seed = summarize(results[:3] + [_result('once', 0, 70)])
    assert one_seed[-1]['verdict'] == 'untested (< 2 seeds)'
    assert math.isnan(welch_p([1.0], [1.0, 2.0]))
    assert welch_p([1.0, 1.0], [1.0, 1.0]) == 1.0


def test_progress_eta(tmp_path):
    runs = plan(str(tmp_path), ['cls'], ['kd'], seeds=2)
    progress = Progress(runs)
    assert progress.eta() is None
    progress.finished(runs[0], 100.0)  # the teacher
    # No student run finished yet: the overall mean stands in.
    assert progress.eta() == pytest.approx(4 * 100.0)
    progress.finished(runs[1], 10.0)
    assert progress.eta() == pytest.approx(3 * 10.0)


def _tool(work_dir, task, method):
    return subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools', 'effectiveness_grid.py'),
         '--task', task, '--methods', method, '--seeds', '2', '--epochs', '1',
         '--num-train', '12', '--num-val', '6', '--work-dir', work_dir],
        capture_output=True, text=True, cwd=ROOT, timeout=1200)


# One method per task (the det one in the RetinaNet family); the resume is
# checked on the cheapest task only.
@pytest.mark.parametrize('task,family,method,top,resume',
                         [('cls', 'resnet', 'kd', 100, True),
                          ('seg', 'pspnet', 'cwd', 100, False),
                          ('det', 'retinanet', 'cwd', 1, False)])
def test_tool_end_to_end(task, family, method, top, resume, tmp_path):
    """Teacher, student alone and one method, 2 seeds, 1 epoch on 12
    images: JSON, summary, table and chart written. ``resume``: a rerun
    skips every finished run; a half-finished run (no metrics file) runs
    again, with the same result (same seed, deterministic)."""
    work = str(tmp_path / 'bench')
    out = _tool(work, task, method)
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-4000:]
    assert '[5/5]' in log and 'ETA' in log
    with open(osp.join(work, 'results.json')) as f:
        results = json.load(f)
    runs = {(r['family'], r['method'], r['seed']): r
            for r in results['runs']}
    assert set(runs) == {(family, TEACHER, 0), (family, STUDENT, 0),
                         (family, STUDENT, 1), (family, method, 0),
                         (family, method, 1)}
    assert all(0 <= r['value'] <= top for r in runs.values())
    with open(osp.join(work, 'results.md')) as f:
        table = f.read()
    assert f'| {method} | 2 |' in table and 'Welch' in table
    assert f'| {task} / {family} (' in table  # the summary line
    with open(osp.join(work, f'{task}.png'), 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'
    if not resume:
        return
    rerun = _tool(work, task, method)
    assert rerun.returncode == 0
    assert '5 of 5 runs already finished' in rerun.stdout
    student = osp.join(work, task, family, STUDENT, 'seed0')
    os.remove(osp.join(student, 'metrics.json'))
    rerun = _tool(work, task, method)
    assert '4 of 5 runs already finished' in rerun.stdout
    with open(osp.join(student, 'metrics.json')) as f:
        assert json.load(f)['value'] == runs[(family, STUDENT, 0)]['value']


def test_run_grid_jobs_wait_for_needs(tmp_path, monkeypatch):
    """``jobs=2``: two workers at a time, each with half the CPU threads,
    none before the runs it needs are finished; a failed letKD preparation
    skips its method's runs and nothing else."""
    from mmkd_ext.effectiveness import harness
    work = str(tmp_path)
    data = tmp_path / 'data' / 'cls'
    data.mkdir(parents=True)
    (data / '.complete').touch()
    runs = plan(work, ['cls'], ['kd', 'letkd-1'], seeds=2)
    procs, peak = [], []

    def fake_start(run, deterministic, env):
        assert all(n.is_done() for n in run.needs), run.name
        assert env['OMP_NUM_THREADS'] == str(max(1, os.cpu_count() // 2))
        os.makedirs(run.work_dir, exist_ok=True)
        if run.kind == 'letkd':  # fails without writing the targets file
            code = 'import sys, time; time.sleep(0.3); sys.exit(3)'
        else:  # writes its metrics file last, as the worker does
            code = ('import json, time; time.sleep(0.3); '
                    f'json.dump(dict(value=0.5), open({run.done_file!r}, '
                    "'w'))")
        proc = subprocess.Popen([sys.executable, '-c', code])
        procs.append(proc)
        peak.append(sum(p.poll() is None for p in procs))
        return proc

    monkeypatch.delenv('OMP_NUM_THREADS', raising=False)
    monkeypatch.setattr(harness, '_start', fake_start)
    lines = []
    failed = harness.run_grid(runs, work, jobs=2, log=lines.append)
    assert max(peak) == 2 and len(procs) == len(runs) - 2
    assert sorted((r.method, r.kind, r.seed) for r in failed) == [
        ('letkd-1', 'letkd', 0), ('letkd-1', 'train', 0),
        ('letkd-1', 'train', 1)]
    assert sum('skipped, needs cls/resnet/letkd-1 (letKD targets)' in line
               for line in lines) == 2
    assert all(r.is_done() for r in runs if r not in failed)
    with pytest.raises(ValueError, match='jobs must be >= 1'):
        harness.run_grid(runs, work, jobs=0)


def test_families_rejects_unknown_task_and_method(tmp_path):
    with pytest.raises(ValueError, match='unknown task'):
        families(['detection'])
    with pytest.raises(ValueError, match=r"\['cankd2'\] not in the grid"):
        plan(str(tmp_path), ['cls'], ['kd', 'cankd2'])


def test_worker_config_moves_every_teacher_ckpt_use(tmp_path):
    """CanKD-dagger initialises the student's FPN and head from the teacher
    checkpoint: the benchmark's teacher replaces it there too."""
    from mmkd_ext.effectiveness.worker import load_config
    fam = GRID['det'][0]
    spec = dict(config=fam.config('cankd-dagger'), seed=1,
                work_dir=str(tmp_path),
                options={'model.teacher_ckpt': '/bench/teacher.pth'})
    cfg = load_config(spec)
    arch = cfg.model.architecture
    assert cfg.model.teacher_ckpt == '/bench/teacher.pth'
    assert arch.neck.init_cfg.checkpoint == '/bench/teacher.pth'
    assert arch.bbox_head.init_cfg.checkpoint == '/bench/teacher.pth'
    assert cfg.randomness == dict(seed=1, deterministic=True)
    assert cfg.val_cfg is None and cfg.default_hooks.checkpoint is None


def _random_teacher(teacher_run, cfg_path):
    """Random teacher weights where the grid's teacher run writes them."""
    import torch
    from mmengine.registry import init_default_scope
    from mmrazor.registry import MODELS

    from mmkd_ext.effectiveness.harness import TEACHER_WEIGHTS
    init_default_scope('mmrazor')
    teacher = MODELS.build(Config.fromfile(cfg_path).model.teacher)
    os.makedirs(teacher_run.work_dir)
    torch.save(dict(state_dict=teacher.state_dict()),
               osp.join(teacher_run.work_dir, TEACHER_WEIGHTS))
    with open(teacher_run.done_file, 'w') as f:
        json.dump({}, f)


@pytest.mark.parametrize('method', ['letkd-1', 'letkd-2'])
def test_worker_prepares_letkd_targets(method, tmp_path):
    """The worker's letKD step as the grid runs it (the harness's spec and
    options, the preparer's import, the targets file every loss of the
    method reads), on the cls family, a random teacher and 27 crops (432
    teacher vectors of 4 x 4 maps for the config's 256 templates)."""
    from mmrazor.registry import MODELS

    from mmkd_ext.effectiveness.grid import make_data
    from mmkd_ext.effectiveness.harness import _spec
    from mmkd_ext.effectiveness.worker import load_config, prepare_letkd
    from mmkd_ext.models.losses import LetKDLoss
    work = str(tmp_path)
    make_data('cls', osp.join(work, 'data', 'cls'), num_train=27, num_val=6)
    teacher_run, prepare, *students = plan(work, ['cls'], [method], seeds=1)
    assert prepare.kind == 'letkd' and prepare.needs == [teacher_run]
    cfg_path = prepare.family.config(method)
    _random_teacher(teacher_run, cfg_path)
    prepare_letkd(_spec(prepare, deterministic=True))
    assert prepare.is_done()
    losses = {
        k.split('.')[-2]: v
        for k, v in students[-1].options.items() if k.endswith('.target_file')
    }
    assert losses and set(losses.values()) == {prepare.done_file}
    # every loss of the method's runs builds from the file (their configs
    # give no description that could contradict it)
    cfg = load_config(_spec(students[-1], deterministic=True))
    for name, loss in cfg.model.distiller.distill_losses.items():
        if name in losses:
            loss = MODELS.build(dict(loss, _scope_='mmrazor'))
            assert isinstance(loss, LetKDLoss), name


def test_doctor_runs_with_the_grid_teacher_and_data(tmp_path):
    """``--doctor``: a method whose teacher is not trained yet is named and
    skipped; with the teacher's weights the report is made on the grid's
    data and teacher."""
    from mmkd_ext.effectiveness import doctor_runs
    from mmkd_ext.effectiveness.grid import make_data
    work = str(tmp_path)
    make_data('cls', osp.join(work, 'data', 'cls'), num_train=12, num_val=6)
    runs = plan(work, ['cls'], ['kd'], seeds=1)
    lines = []
    assert [r.method for r in doctor_runs(runs, log=lines.append)] == ['kd']
    assert 'not analysed, needs cls/resnet/teacher' in lines[0]
    _random_teacher(runs[0], runs[0].family.config('kd'))
    lines.clear()
    assert doctor_runs(runs, batch_size=4, log=lines.append) == []
    report = lines[0]
    assert report.startswith('==== cls/resnet/kd')
    assert ('teacher: checkpoint ' + osp.join(work, 'cls', 'resnet', 'teacher')
            in report)
    assert 'batch: ' in report and 'loss_kd' in report


def _runner_data_preprocessor(cfg):
    """The data preprocessor mmengine's Runner gives the model: its own, or
    the config's top-level one (``model.setdefault``)."""
    return cfg.model.get('data_preprocessor') or cfg.get('data_preprocessor')


@pytest.mark.parametrize(
    'fam', _all_families(), ids=lambda f: f'{f.task}-{f.name}')
def test_grid_inputs_are_the_grid_size(fam):
    """Every run of a family preprocesses the grid's inputs, not the real
    configs' (the Runner would give a distillation of the Cityscapes configs
    their 512 x 1024 SegDataPreProcessor)."""
    for method in (TEACHER, STUDENT) + tuple(m for m, _ in fam.methods):
        cfg = Config.fromfile(fam.config(method))
        pre = _runner_data_preprocessor(cfg)
        if fam.task == 'seg':
            assert tuple(pre.size) == (128, 128), method
        elif fam.task == 'cls':
            assert pre.num_classes == 9, method


def test_metric_value_of_empty_detections():
    from mmkd_ext.effectiveness.worker import metric_value
    assert metric_value({}, 'coco/bbox_mAP') == 0.0
    assert metric_value({'mIoU': 12.5}, 'mIoU') == 12.5
    with pytest.raises(KeyError, match="no 'mIoU'"):
        metric_value({'aAcc': 1.0}, 'mIoU')
