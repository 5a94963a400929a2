# Copyright (c) mmkd_ext contributors. All rights reserved.
"""Robustness evaluation on corrupted images: COCO-C, Cityscapes-C and
ImageNet-C-style classification.

Michaelis et al. 2019 ("Benchmarking Robustness in Object Detection"): the
test images are corrupted on the fly by the 15 benchmark corruptions at
severities 1-5; the tool reports the metric per (corruption, severity), the
clean metric, mPC (the mean over corruptions and severities) and rPC =
mPC / clean::

    python tools/corruption_eval.py CONFIG CHECKPOINT [--work-dir DIR]
        [--corruptions benchmark | all | noise blur ... | NAME ...]
        [--severities 1 2 3 4 5] [--task auto|det|seg|cls] [--metric KEY]
        [--seed 0] [--to-rgb] [--cfg-options k=v ...] [--launcher pytorch]

CONFIG is a distillation config (its student is evaluated; CHECKPOINT is a
checkpoint of that run or the student exported by
``tools/convert_student.py``) or a plain mmdet / mmseg config. ``--task seg``
(inferred from an mmseg config) evaluates a segmentor with mIoU: Cityscapes-C
with a Cityscapes config; ``--task cls`` (an mmpretrain config) reports top-1
accuracy under the same corruptions (ImageNet-C style, without mCE's AlexNet
normalisation). Multi-GPU: ``tools/dist_corruption_eval.sh CONFIG
CHECKPOINT GPUS [ARGS]``.

Results are written per (corruption, severity) to DIR/results/ as they
finish; re-running the same command skips them. The final table is
DIR/summary.md and DIR/summary.json, the plot DIR/AP_vs_severity.png
(mIoU_vs_severity.png, top1_vs_severity.png).
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmengine.config import DictAction  # noqa: E402

import mmkd_ext  # noqa: E402,F401  (compat patches before mmrazor)
from mmkd_ext.robustness import (  # noqa: E402
    CORRUPTION_GROUPS,
    RobustnessBenchmark,
    markdown_table,
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='COCO-C / Cityscapes-C / ImageNet-C robustness evaluation')
    parser.add_argument('config', help='distillation or model config')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--work-dir',
        help='results folder (default: work_dirs/robustness/<config name>)')
    parser.add_argument(
        '--corruptions',
        nargs='+',
        default=['benchmark'],
        help='corruption names or groups '
        f'({", ".join(CORRUPTION_GROUPS)}); default: the 15 benchmark '
        'corruptions')
    parser.add_argument(
        '--severities',
        nargs='+',
        type=int,
        default=[1, 2, 3, 4, 5],
        help='severities in 1..5 (the clean set is always evaluated)')
    parser.add_argument(
        '--task',
        choices=['auto', 'det', 'seg', 'cls'],
        default='auto',
        help='det: COCO AP (coco/bbox_mAP); seg: mIoU (Cityscapes-C); cls: '
        'top-1 accuracy (ImageNet-C style); auto: from the config')
    parser.add_argument(
        '--metric', help='metric key to report (default by task)')
    parser.add_argument(
        '--seed', type=int, default=0, help='base seed of the corruptions')
    parser.add_argument(
        '--to-rgb',
        action='store_true',
        help='corrupt images in RGB order (default: as loaded, BGR)')
    parser.add_argument(
        '--no-progress', action='store_true', help='no progress bar')
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


def main() -> None:
    args = parse_args()
    work_dir = args.work_dir or osp.join(
        'work_dirs', 'robustness',
        osp.splitext(osp.basename(args.config))[0])
    bench = RobustnessBenchmark(
        args.config,
        args.checkpoint,
        work_dir,
        corruptions=args.corruptions,
        severities=args.severities,
        task=args.task,
        metric=args.metric,
        seed=args.seed,
        to_rgb=args.to_rgb,
        cfg_options=args.cfg_options,
        launcher=args.launcher,
        progress=not args.no_progress)
    summary = bench.run()
    if summary is not None:
        print('\n' + markdown_table(summary))
        for kind, path in summary['files'].items():
            print(f'{kind}: {path}')


if __name__ == '__main__':
    main()
