# Copyright (c) mmkd_ext contributors. All rights reserved.
"""Seeded effectiveness grid of every distillation method on the embedded sets.

For each task (det, seg, cls) the teacher is trained once (fixed seed), then
the student alone and every method with the same seeds, data, schedule and
student initialisation (configs in configs/effectiveness/). Writes
WORK_DIR/results.json, results.md (mean +- std over seeds, gain over the
student alone, Welch's t-test) and <task>.png. Finished runs are skipped on
a rerun::

    python tools/effectiveness_grid.py [--task det seg cls] [--methods ...]
        [--seeds 3] [--work-dir work_dirs/effectiveness]

Loss weights are chosen with ``--holdout`` (train on 4/5 of the training
images, test on the other 1/5; never on the reported split; runs and outputs
in WORK_DIR/holdout/), e.g. ``--holdout --methods cankd --cfg-options
model.distiller.distill_losses.loss_cankd.loss_weight=2``: a method run with
``--cfg-options`` is a variant of its own, ``cankd[loss_cankd.loss_weight=2]``,
next to the method's other variants, all sharing one teacher and student
alone. The outputs cover every finished run in the folder, whichever
invocation ran it.

``--doctor`` trains nothing: it prints the report of
``tools/analyze_distill.py`` for each chosen method with the grid's trained
teacher, targets and data (the first look at a method that does not help).
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmengine.config import DictAction  # noqa: E402

from mmkd_ext.effectiveness import (  # noqa: E402
    TASKS,
    collect,
    doctor_runs,
    grid_root,
    plan,
    run_grid,
    write_outputs,
)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--task', nargs='+', choices=TASKS, default=TASKS)
    parser.add_argument(
        '--methods', nargs='+', help='methods to run (default: all); the '
        'teacher and the student alone always run')
    parser.add_argument('--seeds', type=int, default=3)
    parser.add_argument(
        '--jobs', type=int, default=1,
        help='runs at a time, each with cpu_count // jobs threads (the '
        'thread count changes the order of floating-point sums, so a run '
        'can differ slightly from the same run with another --jobs)')
    parser.add_argument('--work-dir', default='work_dirs/effectiveness')
    parser.add_argument(
        '--holdout', action='store_true',
        help='train on train_fit, test on train_holdout (to choose loss '
        'weights)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='config options of the method runs (not teacher / student), '
        'which run as the variant <method>[<options>]')
    parser.add_argument(
        '--epochs', type=int,
        help='override every run\'s max_epochs (quick checks only)')
    parser.add_argument(
        '--num-train', type=int, help='override the sets\' training size')
    parser.add_argument(
        '--num-val', type=int, help='override the sets\' test size')
    parser.add_argument(
        '--no-deterministic', action='store_true',
        help='randomness.deterministic=False')
    parser.add_argument(
        '--report-only', action='store_true',
        help='only write the outputs of the finished runs')
    parser.add_argument(
        '--doctor', action='store_true',
        help='train nothing: print the doctor report (analyze_distill.py) '
        'of each method with the grid\'s trained teacher and data')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    runs = plan(args.work_dir, args.task, args.methods, args.seeds,
                args.holdout, args.epochs, args.cfg_options)
    if args.doctor:
        return 1 if doctor_runs(runs) else 0
    failed = []
    if not args.report_only:
        failed = run_grid(runs, args.work_dir, not args.no_deterministic,
                          args.num_train, args.num_val, args.jobs)
    root = grid_root(args.work_dir, args.holdout)
    results = collect(root)
    if results:
        paths = write_outputs(results, root)
        print('\n'.join(f'wrote {p}' for p in paths.values()))
    for run in failed:
        print(f'FAILED: {run.name} ({run.work_dir}/run.log)')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
