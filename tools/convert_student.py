# Copyright (c) mmkd_ext contributors. All rights reserved.
"""Write the student of a distillation checkpoint as a plain checkpoint.

    python tools/convert_student.py CONFIG CHECKPOINT OUT.pth
        [--cfg-options k=v ...]

writes OUT.pth (student weights only, loadable by the stock mmdet / mmseg /
mmpretrain scripts) and OUT.py (the student config, with the
``--cfg-options`` applied, e.g. absolute data paths), e.g.::

    python tools/test.py OUT.py OUT.pth

CHECKPOINT is checked first: a truncated or corrupted file is named
(``mmkd_ext.utils.check_checkpoint_file``).
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmengine.config import Config, DictAction  # noqa: E402

import mmkd_ext  # noqa: E402,F401
from mmkd_ext.utils import check_checkpoint_file, export_student  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(
        description='Export the student of a distillation checkpoint')
    parser.add_argument('config', help='the distillation config')
    parser.add_argument('checkpoint', help='a checkpoint of that run')
    parser.add_argument('out', help='output student checkpoint (.pth)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config (and so of the exported '
        'student config), key=value (xxx=[a,b] for lists)')
    args = parser.parse_args()
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    check_checkpoint_file(args.checkpoint, 'CHECKPOINT')
    out = export_student(args.checkpoint, args.out, cfg)
    print(f'student checkpoint: {out["checkpoint"]}\n'
          f'student config:     {out["config"]}')


if __name__ == '__main__':
    main()
