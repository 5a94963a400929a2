# Copyright (c) mmkd_ext contributors. All rights reserved.
"""Write the student of a distillation checkpoint as a plain checkpoint.

    python tools/convert_student.py CONFIG CHECKPOINT OUT.pth

writes OUT.pth (student weights only, loadable by the stock mmdet / mmseg /
mmpretrain scripts) and OUT.py (the student config), e.g.::

    python -m mmdet.tools... or  python tools/test.py OUT.py OUT.pth
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmengine.config import Config  # noqa: E402

import mmkd_ext  # noqa: E402,F401
from mmkd_ext.utils import export_student  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(
        description='Export the student of a distillation checkpoint')
    parser.add_argument('config', help='the distillation config')
    parser.add_argument('checkpoint', help='a checkpoint of that run')
    parser.add_argument('out', help='output student checkpoint (.pth)')
    args = parser.parse_args()
    out = export_student(args.checkpoint, args.out, Config.fromfile(
        args.config))
    print(f'student checkpoint: {out["checkpoint"]}\n'
          f'student config:     {out["config"]}')


if __name__ == '__main__':
    main()
