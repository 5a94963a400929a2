# Copyright (c) mmkd_ext contributors. All rights reserved.
"""Heat maps of the distilled features (and attention maps) as PNG grids.

    python tools/vis_features.py CONFIG CHECKPOINT IMG [IMG ...]
        [--out-dir DIR] [--student-ckpt STUDENT.pth | --no-student]
        [--teacher-ckpt TEACHER.pth] [--reduce abs_mean|mean|l2|max]
        [--scale panel|row] [--query Y X] [--device cpu]
        [--cfg-options k=v ...]

CONFIG is a distillation config and CHECKPOINT a checkpoint of that run
(it holds the distilled student and the teacher). Each image gives
DIR/<image name>_features.png: a row per distilled layer (each
``distill_losses`` entry, e.g. the FPN levels), columns: the image, the
student trained without distillation (``--student-ckpt``, optional), the
distilled student, the teacher and, for losses with an attention map (TaT,
CanKD), the attention over the teacher positions, averaged over all query
positions or of the query at normalised (Y, X) given by ``--query``. The
colour bars give the scale: each panel min-max normalised on its own
(``--scale panel``), or the feature maps of a row on one scale
(``--scale row``).

For a checkpoint of ``tools/demo.py`` (``DIR/student+METHOD/epoch_N.pth``)
the student column comes without ``--student-ckpt``: the demo's student
trained alone (``DIR/student/epoch_N.pth``) is used when it exists
(``--no-student`` leaves the column out).
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmengine.config import Config, DictAction  # noqa: E402

import mmkd_ext  # noqa: E402,F401  (compat patches before mmrazor)
from mmkd_ext.visualization import (  # noqa: E402
    REDUCTIONS,
    SCALES,
    FeatureVis,
    student_alone_checkpoint,
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Feature heat maps of a distillation run')
    parser.add_argument('config', help='distillation config')
    parser.add_argument('checkpoint', help='checkpoint of the run')
    parser.add_argument('images', nargs='+', help='image files')
    parser.add_argument(
        '--out-dir', default='work_dirs/vis_features', help='output folder')
    student = parser.add_mutually_exclusive_group()
    student.add_argument(
        '--student-ckpt',
        help='the student trained without distillation (optional column; '
        "default: the demo's student-alone checkpoint beside CHECKPOINT, "
        'if any)')
    student.add_argument(
        '--no-student',
        action='store_true',
        help="no student column, not even the demo's student")
    parser.add_argument(
        '--teacher-ckpt',
        help='teacher weights replacing those of CHECKPOINT')
    parser.add_argument(
        '--reduce',
        choices=REDUCTIONS,
        default='abs_mean',
        help='channel reduction of the heat maps')
    parser.add_argument(
        '--scale',
        choices=SCALES,
        default='panel',
        help='colour scale: each panel its own, or one per row')
    parser.add_argument(
        '--query',
        nargs=2,
        type=float,
        metavar=('Y', 'X'),
        help='normalised query position of the attention maps (default: '
        'mean over all queries)')
    parser.add_argument('--device', default='cpu', help='cpu or cuda')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, key=value')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    student_ckpt = args.student_ckpt
    if student_ckpt is None and not args.no_student:
        student_ckpt = student_alone_checkpoint(args.checkpoint)
        if student_ckpt is not None:
            print(f'student column: the demo student trained without '
                  f'distillation, {student_ckpt} (--student-ckpt overrides)')
    vis = FeatureVis(
        cfg,
        args.checkpoint,
        student_checkpoint=student_ckpt,
        teacher_checkpoint=args.teacher_ckpt,
        device=args.device,
        reduce=args.reduce,
        query=tuple(args.query) if args.query else None,
        scale=args.scale)
    for path in vis.run(args.images, args.out_dir):
        print(path)


if __name__ == '__main__':
    main()
