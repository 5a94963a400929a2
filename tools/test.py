# Copyright (c) mmkd_ext contributors. All rights reserved.
"""Evaluate a model; for a distillation config, the student alone.

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out FILE]
        [--strict] [--cfg-options k=v ...] [--launcher pytorch]

With a distillation config and a checkpoint of that run, the test loop runs
the algorithm's ``predict`` mode, which is the student's: the teacher is not
evaluated and its checkpoint is not needed (its weights are in CHECKPOINT).
With a student config and checkpoint written by
``tools/convert_student.py`` it evaluates the exported student exactly as the
stock mmdet / mmseg / mmpretrain test scripts do.

CHECKPOINT is checked before anything is built (a truncated or corrupted
file is named, see ``mmkd_ext.utils.check_checkpoint_file``). The last line
printed is a summary of the metrics; when the evaluator returned none (the
model predicted nothing at all, e.g. every score under the score threshold)
it is a warning, and with ``--strict`` the exit status is 1.
"""
import argparse
import logging
import os
import os.path as osp
import sys
from typing import Dict

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.logging import print_log  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

import mmkd_ext  # noqa: E402,F401
from mmkd_ext.engine import preflight_check, setup_distributed  # noqa: E402
from mmkd_ext.models.distillers import allow_random_teacher  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save logs and results')
    parser.add_argument(
        '--out', help='dump the raw predictions to this pickle file')
    parser.add_argument(
        '--strict',
        action='store_true',
        help='exit with status 1 when the evaluator returns no metrics '
        '(the model produced no predictions)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, key=value')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def summarize(metrics: Dict) -> bool:
    """Print the summary line of ``metrics``; False when there are none."""
    if not metrics:
        print_log(
            'test summary: WARNING: no metrics: the evaluator got no '
            'predictions at all (e.g. every score under the model\'s '
            'test_cfg score threshold, or weights that do not fit the '
            'config); see the log above.',
            logger='current',
            level=logging.WARNING)
        return False
    values = ', '.join(
        f'{k}: {v:.4f}' if isinstance(v, float) else f'{k}: {v}'
        for k, v in metrics.items())
    print_log(f'test summary: {values}', logger='current')
    return True


def main() -> None:
    args = parse_args()
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if 'teacher_ckpt' in cfg.model:
        # The run's checkpoint holds the teacher too.
        cfg.model.teacher_ckpt = None
        allow_random_teacher(cfg.model)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    cfg.load_from = args.checkpoint
    cfg.resume = False
    preflight_check(
        cfg, loaders=('test_dataloader', ), load_from_key='CHECKPOINT')
    setup_distributed(cfg, args.launcher)
    runner = Runner.from_cfg(cfg)
    if args.out:
        from mmengine.evaluator import DumpResults
        runner.test_evaluator.metrics.append(
            DumpResults(out_file_path=args.out))
    if not summarize(runner.test()) and args.strict:
        sys.exit(1)


if __name__ == '__main__':
    main()
