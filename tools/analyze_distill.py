# Copyright (c) mmkd_ext contributors. All rights reserved.
"""Inspect one training step of a distillation config.

Builds the algorithm, runs one step on a batch of the config's training data
(or a small fake batch when the data is not there) and prints, per
distillation loss, its value and the norm of its gradient on the student next
to the task loss's, the recorded shapes on both sides, and the teacher's
state; a WARNING marks a term 100x larger or smaller than the task loss::

    python tools/analyze_distill.py CONFIG [--cfg-options k=v ...]
        [--teacher-ckpt PTH] [--fake-data] [--input-size H W]
        [--ratio-limit 100] [--strict]

Exit code 1 with ``--strict`` when a warning fires.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmengine.config import DictAction  # noqa: E402

import mmkd_ext  # noqa: E402,F401
from mmkd_ext.analysis import analyze_distill, format_report  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='distillation config file')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, key=value (xxx=[a,b] for lists)')
    parser.add_argument(
        '--teacher-ckpt', help='teacher checkpoint (model.teacher_ckpt)')
    parser.add_argument(
        '--fake-data',
        action='store_true',
        help='step on a fake batch even when the config\'s data exists')
    parser.add_argument(
        '--input-size', nargs=2, type=int, metavar=('H', 'W'),
        help='image size of a fake batch')
    parser.add_argument('--batch-size', type=int, default=2)
    parser.add_argument(
        '--ratio-limit', type=float, default=100.0,
        help='warn when a term is this many times larger or smaller than '
        'the task loss (value or gradient norm)')
    parser.add_argument(
        '--strict', action='store_true',
        help='exit with code 1 when a warning fires')
    args = parser.parse_args()
    options = dict(args.cfg_options or {})
    if args.teacher_ckpt:
        options['model.teacher_ckpt'] = args.teacher_ckpt
    report = analyze_distill(
        args.config,
        options,
        batch_size=args.batch_size,
        input_size=args.input_size,
        use_data=not args.fake_data,
        ratio_limit=args.ratio_limit)
    print(format_report(report))
    return 1 if args.strict and report.warnings else 0


if __name__ == '__main__':
    sys.exit(main())
