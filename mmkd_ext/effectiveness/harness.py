# Copyright (c) mmkd_ext contributors. All rights reserved.
"""Plan and run the effectiveness grid's grid, resumably.

For every family of the chosen tasks (:mod:`mmkd_ext.effectiveness.grid`): the
set is generated once, the teacher trained once (seed
:data:`~mmkd_ext.effectiveness.grid.TEACHER_SEED`), letKD's targets computed
from it, then the student alone and every method for each seed, all with
the same data, schedule and seeded student initialisation. Each run is a
subprocess (:mod:`mmkd_ext.effectiveness.worker`) in its own work dir
``WORK_DIR/<task>/<family>/<method>/seed<k>``; a run whose ``metrics.json``
exists is skipped, any other starts again from an empty folder; up to
``jobs`` runs at a time. Progress and an ETA (from the mean time of the runs
finished so far per family) are printed after each run.

Held-out runs (choosing a loss weight) live apart, in
``WORK_DIR/holdout/<task>/...``: the grid's teacher, which saw the held-out
images, is never taken for a held-out run, nor the other way round. Method
runs with config options live in ``<method>[<options>]`` next to
``<method>``: each set of options is a run of its own, sharing the teacher
and the student alone.
"""
import glob
import json
import os
import os.path as osp
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence

from mmengine.config import Config

from .grid import (
    ROOT,
    STUDENT,
    TASKS,
    TEACHER,
    TEACHER_SEED,
    Family,
    data_options,
    families,
    make_data,
)
from .worker import METRICS_FILE

TEACHER_WEIGHTS = 'teacher.pth'
HOLDOUT_DIR = 'holdout'
# config keys' prefixes left out of a variant's name
_LABEL_PREFIXES = ('model.distiller.distill_losses.', 'model.architecture.',
                   'model.distiller.', 'model.')


def options_label(options: Dict) -> str:
    """The name of a method run's variant: its config options as
    ``key=value`` pairs joined by ``,`` (keys without the usual
    ``model.distiller.distill_losses.`` / ``model.architecture.`` prefixes),
    with any character outside ``[A-Za-z0-9._=,+-]`` replaced by ``_``."""
    pairs = []
    for key, value in sorted(options.items()):
        for prefix in _LABEL_PREFIXES:
            if key.startswith(prefix):
                key = key[len(prefix):]
                break
        pairs.append(f'{key}={value}')
    return re.sub(r'[^A-Za-z0-9._=,+-]', '_', ','.join(pairs))


def variant_name(method: str, variant: str = '') -> str:
    """The name (and folder) of a method's variant: ``method[variant]``,
    or the method alone."""
    return f'{method}[{variant}]' if variant else method


def grid_root(work_dir: str, holdout: bool = False) -> str:
    """Where the runs (and the outputs) of the grid, or of its held-out
    part, live under ``work_dir``."""
    return osp.join(work_dir, HOLDOUT_DIR) if holdout else work_dir


@dataclass(eq=False)
class Run:
    """One training (or letKD preparation) of the grid (compared by
    identity: the scheduler looks runs up in its lists every poll)."""
    family: Family
    method: str
    seed: int
    work_dir: str
    kind: str = 'train'  # or 'letkd'
    options: Dict = field(default_factory=dict)
    needs: List['Run'] = field(default_factory=list)
    variant: str = ''  # options_label of the method's config options

    @property
    def label(self) -> str:
        """The method, with its variant in brackets (the name in the
        outputs)."""
        return variant_name(self.method, self.variant)

    @property
    def name(self) -> str:
        what = 'letKD targets' if self.kind == 'letkd' else f'seed {self.seed}'
        return (f'{self.family.task}/{self.family.name}/{self.label} '
                f'({what})')

    @property
    def done_file(self) -> str:
        if self.kind == 'letkd':
            return self.options['letkd_file']
        return osp.join(self.work_dir, METRICS_FILE)

    def is_done(self) -> bool:
        return osp.isfile(self.done_file)


def _letkd_options(cfg_path: str, target_file: str) -> Dict:
    """Options moving a letKD config's targets file to ``target_file``:
    ``letkd_file`` and every distill loss that reads it."""
    cfg = Config.fromfile(cfg_path)
    opts = dict(letkd_file=target_file)
    losses = cfg.model.distiller.get('distill_losses', {})
    for name, loss in losses.items():
        if loss.get('target_file') == cfg.letkd_file:
            opts[f'model.distiller.distill_losses.{name}.target_file'] = (
                target_file)
    return opts


def plan(work_dir: str,
         tasks: Sequence[str],
         methods: Optional[Sequence[str]] = None,
         seeds: int = 3,
         holdout: bool = False,
         epochs: Optional[int] = None,
         method_options: Optional[Dict] = None) -> List[Run]:
    """Every run of the grid, in order (teacher and letKD targets first).

    Args:
        work_dir (str): Root of all runs (and of the generated sets, in
            ``WORK_DIR/data/<task>``).
        tasks (Sequence[str]): Tasks of :data:`~.grid.TASKS`.
        methods (Sequence[str], optional): Methods to run (default all);
            the teacher and the student alone run in every family that has
            one of them.
        seeds (int): Seeds 0 .. seeds-1 of the students.
        holdout (bool): Train on ``train_fit``, test on ``train_holdout``,
            with all runs under ``WORK_DIR/holdout`` (:func:`grid_root`).
        epochs (int, optional): Override every run's ``max_epochs`` (for
            quick checks; the grid's configs set the real schedules).
        method_options (dict, optional): Config options of the method runs
            (e.g. a loss weight being tuned on the held-out split); the
            method runs become the variant :func:`options_label` of them,
            in ``<method>[<variant>]/seed<k>``.
    """
    runs = []
    if methods is not None:
        known = {m for fam in families(tasks) for m, _ in fam.methods}
        unknown = sorted(set(methods) - known)
        if unknown:
            raise ValueError(f'--methods: {unknown} not in the grid of '
                             f'{", ".join(tasks)}: {sorted(known)}')
    for fam in families(tasks):
        known = dict(fam.methods)
        chosen = list(known) if methods is None else [
            m for m in methods if m in known
        ]
        if methods is not None and not chosen:
            continue
        base = osp.join(grid_root(work_dir, holdout), fam.task, fam.name)
        common = data_options(fam.task, osp.join(work_dir, 'data', fam.task),
                              holdout)
        if epochs:
            common.update({
                'train_cfg.max_epochs': epochs,
                'train_cfg.val_interval': epochs
            })
        teacher_dir = osp.join(base, TEACHER)
        teacher_ckpt = osp.join(teacher_dir, TEACHER_WEIGHTS)
        teacher = Run(fam, TEACHER, TEACHER_SEED, teacher_dir,
                      options=dict(common))
        runs.append(teacher)
        distill = dict(common, **{'model.teacher_ckpt': teacher_ckpt})
        distill.update(method_options or {})
        variant = options_label(method_options) if method_options else ''
        method_opts, method_needs = {}, {}
        for method in chosen:
            opts = dict(distill)
            method_needs[method] = [teacher]
            cfg_path = fam.config(method)
            if 'letkd_file' in Config.fromfile(cfg_path):
                target = osp.join(base, 'letkd', f'{method}.pth')
                opts.update(_letkd_options(cfg_path, target))
                prepare = Run(fam, method, TEACHER_SEED,
                              osp.join(base, 'letkd', method), 'letkd',
                              opts, [teacher])
                runs.append(prepare)
                method_needs[method].append(prepare)
            method_opts[method] = opts
        for seed in range(seeds):
            runs.append(
                Run(fam, STUDENT, seed,
                    osp.join(base, STUDENT, f'seed{seed}'),
                    options=dict(common)))
            for method in chosen:
                runs.append(
                    Run(fam, method, seed,
                        osp.join(base, variant_name(method, variant),
                                 f'seed{seed}'),
                        options=method_opts[method],
                        needs=method_needs[method],
                        variant=variant))
    return runs


def _spec(run: Run, deterministic: bool) -> Dict:
    fam = run.family
    spec = dict(
        kind=run.kind,
        task=fam.task,
        family=fam.name,
        method=run.label,
        seed=run.seed,
        config=fam.config(run.method),
        metric=fam.metric,
        options=run.options,
        work_dir=osp.abspath(run.work_dir),
        deterministic=deterministic)
    if run.method == TEACHER:
        spec['save_weights'] = osp.join(spec['work_dir'], TEACHER_WEIGHTS)
    return spec


def _fmt_time(seconds: float) -> str:
    minutes, sec = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f'{hours}h{minutes:02d}m' if hours else f'{minutes}m{sec:02d}s'


class Progress:
    """Counts the runs and estimates the time left: a pending run is
    expected to last the mean of the finished runs of its family and kind
    (teacher / letKD / student runs), else the mean of all finished runs;
    ``jobs`` runs at a time share that time."""

    def __init__(self, runs: List[Run], jobs: int = 1) -> None:
        self.pending = [r for r in runs if not r.is_done()]
        self.jobs = jobs
        self.total = len(runs)
        self.done = self.total - len(self.pending)
        self.times: Dict[tuple, List[float]] = {}
        self.start = time.time()

    @staticmethod
    def _key(run: Run) -> tuple:
        kind = run.kind if run.kind == 'letkd' else (
            TEACHER if run.method == TEACHER else 'student')
        return (run.family.task, run.family.name, kind)

    def finished(self, run: Run, seconds: float) -> None:
        self.pending.remove(run)
        self.done += 1
        self.times.setdefault(self._key(run), []).append(seconds)

    def eta(self) -> Optional[float]:
        every = [t for ts in self.times.values() for t in ts]
        if not every:
            return None
        overall = sum(every) / len(every)
        left = 0.0
        for run in self.pending:
            ts = self.times.get(self._key(run))
            left += sum(ts) / len(ts) if ts else overall
        return left / self.jobs

    def line(self, run: Run, seconds: float, result: str) -> str:
        eta = self.eta()
        return (f'[{self.done}/{self.total}] {run.name}: {result} '
                f'({_fmt_time(seconds)}) | elapsed '
                f'{_fmt_time(time.time() - self.start)}, ETA '
                f'{_fmt_time(eta) if eta is not None else "?"}')


def _worker_env(jobs: int) -> Dict[str, str]:
    """The workers' environment: this package importable and, with several
    jobs, the CPU threads shared out (unless the user set them)."""
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(
        p for p in (ROOT, env.get('PYTHONPATH')) if p)
    if jobs > 1:
        threads = str(max(1, (os.cpu_count() or 1) // jobs))
        for key in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS'):
            env.setdefault(key, threads)
    return env


def run_grid(runs: List[Run],
             work_dir: str,
             deterministic: bool = True,
             num_train: Optional[int] = None,
             num_val: Optional[int] = None,
             jobs: int = 1,
             log: Callable[[str], None] = print) -> List[Run]:
    """Run every unfinished run of ``runs`` (generating the data first).

    Up to ``jobs`` runs at a time, in the plan's order, each as soon as the
    runs it needs (teacher, letKD targets) are finished; with several jobs
    each worker gets ``cpu_count // jobs`` threads (``OMP_NUM_THREADS`` /
    ``MKL_NUM_THREADS``, unless set in the environment).

    Returns:
        list[Run]: The runs that failed or were skipped because a run they
        need failed (their logs are in their work dirs); the others are
        finished.
    """
    if jobs < 1:
        raise ValueError(f'jobs must be >= 1, got {jobs}')
    for task in sorted({r.family.task for r in runs}):
        root = osp.join(work_dir, 'data', task)
        marker = osp.join(root, '.complete')
        if not osp.isfile(marker):
            shutil.rmtree(root, ignore_errors=True)
            log(f'generating the {task} set in {root}')
            make_data(task, root, num_train, num_val)
            open(marker, 'w').close()
    progress = Progress(runs, jobs)
    if progress.done:
        log(f'{progress.done} of {progress.total} runs already finished: '
            'skipped')
    env = _worker_env(jobs)
    waiting = list(progress.pending)
    active: Dict[subprocess.Popen, tuple] = {}
    failed: List[Run] = []
    while waiting or active:
        for run in list(waiting):
            lost = [r.name for r in run.needs if r in failed]
            if lost:
                failed.append(run)
                waiting.remove(run)
                progress.pending.remove(run)
                log(f'{run.name}: skipped, needs {", ".join(lost)}')
        for run in [r for r in waiting
                    if all(n.is_done() for n in r.needs)][:jobs - len(active)]:
            waiting.remove(run)
            active[_start(run, deterministic, env)] = (run, time.time())
        if not active:  # what is left needs runs that are not in `runs`
            for run in waiting:
                failed.append(run)
                progress.pending.remove(run)
                log(f'{run.name}: skipped, needs unfinished runs')
            break
        time.sleep(0.2)
        for proc in [p for p in active if p.poll() is not None]:
            run, start = active.pop(proc)
            seconds = time.time() - start
            if proc.returncode != 0 or not run.is_done():
                failed.append(run)
                progress.pending.remove(run)
                log(f'{run.name}: FAILED (exit code {proc.returncode}), see '
                    f'{osp.join(run.work_dir, "run.log")}')
                continue
            if run.kind == 'letkd':
                result = 'targets written'
            else:
                with open(run.done_file) as f:
                    result = (f'{run.family.metric} '
                              f'{json.load(f)["value"]:.4g}')
            progress.finished(run, seconds)
            log(progress.line(run, seconds, result))
    return failed


def _start(run: Run, deterministic: bool,
           env: Dict[str, str]) -> subprocess.Popen:
    """Start the worker of ``run`` in an empty work dir."""
    shutil.rmtree(run.work_dir, ignore_errors=True)
    os.makedirs(run.work_dir)
    spec_file = osp.join(run.work_dir, 'run.json')
    with open(spec_file, 'w') as f:
        json.dump(_spec(run, deterministic), f, indent=1)
    with open(osp.join(run.work_dir, 'run.log'), 'w') as out:
        # the child keeps its own copy of the log's file descriptor
        return subprocess.Popen(
            [sys.executable, '-m', 'mmkd_ext.effectiveness.worker',
             spec_file],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            env=env)


def doctor_runs(runs: List[Run],
                batch_size: int = 8,
                log: Callable[[str], None] = print) -> List[Run]:
    """The doctor's report (:func:`mmkd_ext.analysis.analyze_distill`) of
    each method of ``runs``, with the grid's options: its trained teacher,
    letKD targets and data (one step of a freshly initialised student, seed
    0, on a batch of the grid's training set).

    Returns:
        list[Run]: The methods not analysed because the grid has not yet
        trained their teacher (or computed their targets).
    """
    from mmkd_ext.analysis import analyze_distill, format_report
    missing = []
    for run in runs:
        if (run.kind != 'train' or run.seed != 0
                or run.method in (STUDENT, TEACHER)):
            continue
        absent = [r.name for r in run.needs if not r.is_done()]
        if absent:
            missing.append(run)
            log(f'{run.name}: not analysed, needs {", ".join(absent)} '
                '(run the grid first)')
            continue
        report = analyze_distill(
            run.family.config(run.method), run.options, batch_size=batch_size)
        log(f'==== {run.family.task}/{run.family.name}/{run.method}\n'
            f'{format_report(report)}\n')
    return missing


def collect(root: str) -> List[Dict]:
    """The metrics of every finished training run under ``root`` (a grid's
    work dir, or its held-out part: :func:`grid_root`), whichever
    invocation ran it, in the grid's order: per family the teacher, the
    student alone, then each method followed by its variants; seeds
    ascending."""
    out = []
    for fam in families(TASKS):
        base = osp.join(root, fam.task, fam.name)
        if not osp.isdir(base):
            continue
        names = os.listdir(base)
        for method in [TEACHER, STUDENT] + [m for m, _ in fam.methods]:
            variants = sorted(n for n in names
                              if n.startswith(f'{method}[') and
                              n.endswith(']'))
            for name in [method] + variants:
                files = [osp.join(base, name, METRICS_FILE)] + sorted(
                    glob.glob(osp.join(glob.escape(osp.join(base, name)),
                                       'seed*', METRICS_FILE)),
                    key=lambda f: int(osp.basename(osp.dirname(f))[4:]))
                for file in filter(osp.isfile, files):
                    with open(file) as f:
                        out.append(json.load(f))
    return out
