# Copyright (c) mmkd_ext contributors. All rights reserved.
"""End-to-end demo: a real distillation on the embedded demo set.

1. Generates the deterministic COCO-format demo set (real photos with
   composited objects, see :mod:`mmkd_ext.datasets.demo_coco_generator`).
2. Trains a small RetinaNet teacher (ResNet-18 layout, width 32).
3. Trains the student (width 16) alone, as the baseline.
4. Distils the teacher into the same student through mmrazor with a method
   of this package (CanKD on the FPN outputs by default).
5. Evaluates the three with the COCO metric (pycocotools through mmdet's
   CocoMetric), prints a table and writes it (``results.md``,
   ``results.json``) with a figure of the metrics and the per-epoch
   training losses, task loss and distillation terms (``results.png``).

    python tools/demo.py [--work-dir work_dirs/demo] [--epochs 24]
    python tools/demo.py --only-data [--data-root data/demo]

On 2 idle CPU cores each of the three trainings takes 1.5-3.5 minutes.
"""
import argparse
import json
import os.path as osp
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmengine.config import Config  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

import mmkd_ext  # noqa: E402,F401
from mmkd_ext.datasets import make_demo_coco  # noqa: E402
from mmkd_ext.visualization import plot_runs  # noqa: E402

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CFG_DIR = osp.join(ROOT, 'configs', 'demo')
TEACHER_CFG = osp.join(CFG_DIR, 'retinanet_r18-w32_24e_demo-coco.py')
STUDENT_CFG = osp.join(CFG_DIR, 'retinanet_r18-w16_24e_demo-coco.py')
DISTILL_CFGS = {
    'cankd':
    osp.join(CFG_DIR,
             'cankd_fpn_retinanet-r18-w32_retinanet-r18-w16_24e_demo-coco.py'),
    'cwd':
    osp.join(CFG_DIR,
             'cwd_fpn_retinanet-r18-w32_retinanet-r18-w16_24e_demo-coco.py'),
}


def set_data(cfg: Config, data_root: str, epochs: int, work_dir: str) -> None:
    """Point every dataloader and evaluator at ``data_root``."""
    data_root = osp.abspath(data_root) + '/'
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[key].dataset.data_root = data_root
    for key in ('val_evaluator', 'test_evaluator'):
        cfg[key].ann_file = data_root + 'annotations/instances_val.json'
    cfg.train_cfg.max_epochs = epochs
    cfg.train_cfg.val_interval = epochs
    for sched in cfg.param_scheduler:
        if sched.type == 'CosineAnnealingLR':
            sched.T_max = sched.end = epochs
    cfg.work_dir = work_dir


def run(name: str, cfg_path: str, args: argparse.Namespace,
        **overrides) -> dict:
    """Train ``cfg_path`` then evaluate it on the val split."""
    cfg = Config.fromfile(cfg_path)
    work_dir = osp.join(args.work_dir, name)
    set_data(cfg, args.data_root, args.epochs, work_dir)
    cfg.merge_from_dict(overrides)
    cfg.experiment_name = name
    # mmdet's runtime names its visualizer 'visualizer', and mmengine keeps
    # one instance per name: each run of this process would log its scalars
    # (read back for results.png) into the first run's vis_data.
    cfg.visualizer.name = f'{name}_visualizer_{time.time_ns()}'
    runner = Runner.from_cfg(cfg)
    start = time.time()
    runner.train()
    train_time = time.time() - start
    metrics = runner.test()
    model = runner.model
    student = getattr(model, 'architecture', model)
    params = sum(p.numel() for p in student.parameters())
    return dict(
        name=name,
        params=params,
        train_min=train_time / 60,
        mAP=metrics.get('coco/bbox_mAP', float('nan')),
        mAP50=metrics.get('coco/bbox_mAP_50', float('nan')),
        work_dir=work_dir,
        ckpt=osp.join(work_dir, f'epoch_{args.epochs}.pth'))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--data-root', default='data/demo')
    parser.add_argument('--epochs', type=int, default=24)
    parser.add_argument('--num-train', type=int, default=160)
    parser.add_argument('--num-val', type=int, default=60)
    parser.add_argument(
        '--method', choices=sorted(DISTILL_CFGS), default='cankd')
    parser.add_argument(
        '--only-data',
        action='store_true',
        help='generate the demo set in --data-root, train nothing')
    args = parser.parse_args()

    ann = osp.join(args.data_root, 'annotations', 'instances_val.json')
    if not osp.isfile(ann):
        print(f'generating the demo set in {args.data_root}')
        make_demo_coco(args.data_root, args.num_train, args.num_val)
    elif args.only_data:
        print(f'the demo set is already in {args.data_root}')
    if args.only_data:
        return

    rows = [run('teacher', TEACHER_CFG, args)]
    rows.append(run('student', STUDENT_CFG, args))
    rows.append(
        run(f'student+{args.method}', DISTILL_CFGS[args.method], args,
            model=dict(teacher_ckpt=rows[0]['ckpt'])))

    lines = [
        '| model | params (M) | bbox mAP | mAP@50 | train (min) |',
        '|---|---|---|---|---|'
    ]
    for r in rows:
        lines.append(f"| {r['name']} | {r['params'] / 1e6:.2f} | "
                     f"{r['mAP']:.3f} | {r['mAP50']:.3f} | "
                     f"{r['train_min']:.1f} |")
    table = '\n'.join(lines)
    print('\n' + table)
    with open(osp.join(args.work_dir, 'results.json'), 'w') as f:
        json.dump(rows, f, indent=1)
    with open(osp.join(args.work_dir, 'results.md'), 'w') as f:
        f.write(table + '\n')
    png = plot_runs(
        [
            dict(
                name=r['name'],
                work_dir=r['work_dir'],
                metrics={
                    'bbox mAP': r['mAP'],
                    'mAP@50': r['mAP50']
                }) for r in rows
        ],
        osp.join(args.work_dir, 'results.png'),
        title=f'demo: {args.epochs} epochs on {args.data_root}')
    print(f'figure: {png}')


if __name__ == '__main__':
    main()
