# Copyright (c) mmkd_ext contributors. All rights reserved.
"""Compute letKD's offline teacher statistics for a letKD config.

Runs the config's teacher over the training set (test-time transform) and
writes ``letkd_file`` of the config: K-means centers (penultimate targets),
LDA, sub-class centers, prototypes and score table (intermediate targets),
the teacher checkpoint's SHA-256, the layer names, channels and K values.
Training refuses a file that does not match its config. ::

    python tools/letkd_prepare.py CONFIG [--work-dir DIR] [--max-vectors N]
    torchrun --nproc_per_node=8 tools/letkd_prepare.py CONFIG \\
        --launcher pytorch

The fits use a seeded uniform subsample of ``--max-vectors`` pixel vectors
per target; the score tables count every pixel (second pass). Finished
chunks are cached in the work dir: rerun the same command to resume. All
processes run the teacher; rank 0 fits and writes. See
:mod:`mmkd_ext.letkd.prepare`.
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import torch.distributed as dist  # noqa: E402
from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.dist import init_dist  # noqa: E402

import mmkd_ext  # noqa: E402,F401  (compat patches before mmrazor)
from mmkd_ext.engine import setup_distributed  # noqa: E402
from mmkd_ext.letkd.prepare import LetKDPreparer  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Compute the letKD teacher targets file of a config')
    parser.add_argument('config', help='letKD distillation config')
    parser.add_argument(
        '--work-dir',
        help='folder of the per-chunk caches (default: '
        'work_dirs/letkd_prepare/<config name>)')
    parser.add_argument(
        '--max-vectors',
        type=int,
        default=2_000_000,
        help='pixel vectors per target used for K-means / LDA '
        '(default: 2000000)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--chunk-size', type=int, default=5000, help='images per cache file')
    parser.add_argument('--batch-size', type=int, help='images per forward')
    parser.add_argument('--num-workers', type=int)
    parser.add_argument('--kmeans-batch-size', type=int, default=4096)
    parser.add_argument(
        '--kmeans-max-iter',
        type=int,
        default=20,
        help='MiniBatchKMeans passes over the subsample (default: 20)')
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
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def main(argv=None) -> str:
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    setup_distributed(cfg, args.launcher)
    if args.launcher != 'none' and not (dist.is_available()
                                        and dist.is_initialized()):
        init_dist(args.launcher, **cfg.get('env_cfg', {}).get(
            'dist_cfg', {}))
    work_dir = args.work_dir or osp.join(
        'work_dirs', 'letkd_prepare',
        osp.splitext(osp.basename(args.config))[0])
    preparer = LetKDPreparer(
        cfg,
        work_dir,
        max_vectors=args.max_vectors,
        seed=args.seed,
        chunk_size=args.chunk_size,
        batch_size=args.batch_size,
        num_workers=args.num_workers,
        kmeans_batch_size=args.kmeans_batch_size,
        kmeans_max_iter=args.kmeans_max_iter)
    return preparer.run()


if __name__ == '__main__':
    main()
