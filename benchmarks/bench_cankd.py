# Copyright (c) mmkd_ext contributors. All rights reserved.
"""CanKD: our loss against the authors' full-matrix formulation.

Part 1 (per affinity): forward + backward of one CanKD loss at RetinaNet's P3
for a 1333x800 input (B=2, C=256, 100x168 -> N=16800 queries, M=4200 pooled
teacher positions), ours against the same loss computed as the authors'
code does (the (B, N, M) affinity matrix, then ``f @ g``), with the same
weights and inputs. Printed: the loss difference, the largest difference of
the student gradient (relative to its largest entry), the time ratio and
the ratio of extra peak memory.

Peak memory is measured per variant in a fresh subprocess (Linux): after
the inputs, the module and a small warm-up (kernel initialisation) exist,
the resident set size is read (``VmRSS``) and its high-water mark is reset
(``/proc/self/clear_refs`` = 5); after one forward + backward, the new
high-water mark (``VmHWM``) minus that RSS is the extra peak. The subprocess
runs with ``MALLOC_MMAP_THRESHOLD_=65536``, so every tensor of 64 KiB or
more is its own mmap, returned to the system when the tensor is freed: the
RSS then follows the live tensor memory (plus a small, fixed allocator and
library overhead) instead of being masked by freed heap memory that glibc
keeps. torch.profiler's memory events were not used: they attribute
allocations and frees to the enclosing op, which hides the peak inside an op
and its backward.

Times are measured in the main process, the variants run in turns
(``--repeat`` rounds after a warm-up round), so a changing load on a shared
machine affects both alike; the speed-up is the median over rounds of the
per-round ratio.

Part 2 (skipped with ``--no-step``): one whole RetinaNet R-101 -> R-50
distillation ``train_step`` (four CanKD losses on P3-P6) against the plain
student ``train_step`` plus one teacher backbone + neck forward, on a fake
batch, random weights; and the same distillation step with the four losses
computed in the full-matrix form. Same rounds-in-turn timing.

Usage::

    python benchmarks/bench_cankd.py              # both parts, full size
    python benchmarks/bench_cankd.py --no-step    # part 1 only
    # the run reported in configs/cankd/README.md (shared 2-core machine)
    python benchmarks/bench_cankd.py --threads 1 --step-size 400 672 \
        --step-repeat 3
"""
import argparse
import json
import logging
import os.path as osp
import subprocess
import sys
import tempfile
import types

import torch
import torch.nn.functional as F
from measure import (
    MEMORY_ENV,
    interleaved,
    proc_status_bytes,
    reset_peak_rss,
)

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
AFFINITIES = ('dot_product', 'embedded_gaussian', 'gaussian')
STEP_CFG = osp.join(ROOT, 'configs', 'cankd',
                    'cankd_fpn_retinanet-r101_retinanet-r50_2xb2-2x_coco.py')


def full_matrix_loss(loss, s_feature, t_feature):
    """CanKD as the authors compute it: the whole (B, N, M) affinity matrix
    f is formed (and kept for the backward pass), then ``a = f g``. Same
    modules and weights as ``loss``; the authors' loss_weight / 2 is our
    loss_weight."""
    b, _, h, w = s_feature.shape
    pool = loss.pool_size
    value = F.max_pool2d(loss.g(t_feature), pool).flatten(2)  # (B, d, M)
    if loss.affinity == 'gaussian':
        query = s_feature.flatten(2).transpose(1, 2)
        key = F.max_pool2d(t_feature, pool).flatten(2)
    else:
        query = loss.theta(s_feature).flatten(2).transpose(1, 2)
        key = F.max_pool2d(loss.phi(t_feature), pool).flatten(2)
    f = torch.matmul(query, key)  # (B, N, M)
    if loss.affinity == 'dot_product':
        f = f / f.shape[-1]
    else:
        f = F.softmax(f, dim=-1)
    attended = torch.matmul(f, value.transpose(1, 2))  # (B, N, d)
    attended = attended.transpose(1, 2).reshape(b, -1, h, w)
    z = loss.out_bn(loss.out_proj(attended))
    if loss.residual:
        z = z + s_feature
    return loss.loss_weight * F.mse_loss(
        F.instance_norm(z), F.instance_norm(t_feature))


def _make(affinity, b, c, h, w, chunk_size=None, seed=0):
    import mmkd_ext  # noqa: F401
    from mmkd_ext.models.losses import CanKDLoss
    torch.manual_seed(seed)
    kwargs = {} if chunk_size is None else dict(chunk_size=chunk_size)
    loss = CanKDLoss(c, affinity=affinity, **kwargs).train()
    with torch.no_grad():
        # As after some training: the attention branch is not zero.
        loss.out_bn.weight.normal_(0., 0.5)
        loss.out_bn.bias.normal_(0., 0.1)
    gen = torch.Generator().manual_seed(seed + 1)
    s = torch.randn(b, c, h, w, generator=gen).requires_grad_(True)
    t = torch.randn(b, c, h, w, generator=gen)
    return loss, s, t


def worker(args):
    """Memory of one variant in this (fresh) process; prints a JSON line."""
    b, c = args.batch, args.channels
    h, w = args.size
    loss, s, t = _make(args.affinity, b, c, h, w, args.chunk_size)
    fn = loss if args.variant == 'ours' else types.MethodType(
        full_matrix_loss, loss)

    # Warm-up at a small size (kernels, thread pools), then the baseline.
    ws, wt = s[:1, :, :8, :8].detach().requires_grad_(True), t[:1, :, :8, :8]
    fn(ws, wt).backward()
    loss.zero_grad(set_to_none=True)
    base = reset_peak_rss()

    value = fn(s, t)
    value.backward()
    peak = proc_status_bytes('VmHWM')
    torch.save(s.grad, args.grad_out)
    print(json.dumps(dict(value=float(value), extra_peak=peak - base)))


def _run_worker(affinity, variant, args, grad_out):
    cmd = [sys.executable, osp.abspath(__file__), '--worker',
           '--affinity', affinity, '--variant', variant,
           '--batch', str(args.batch), '--channels', str(args.channels),
           '--size', str(args.size[0]), str(args.size[1]),
           '--grad-out', grad_out]
    if args.chunk_size is not None:
        cmd += ['--chunk-size', str(args.chunk_size)]
    if args.threads:
        cmd += ['--threads', str(args.threads)]
    out = subprocess.run(cmd, env=MEMORY_ENV, check=True, capture_output=True,
                         text=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _time_loss(affinity, args):
    loss, s, t = _make(affinity, args.batch, args.channels, *args.size,
                       chunk_size=args.chunk_size)
    full_fn = types.MethodType(full_matrix_loss, loss)
    (t_ours, t_full), (_, speedup), (_, cpu_speedup), _ = interleaved(
        [lambda: loss(s, t).backward(),
         lambda: full_fn(s, t).backward()], args.repeat)
    return t_ours, t_full, speedup, cpu_speedup


def bench_loss(args):
    b, c = args.batch, args.channels
    h, w = args.size
    m = (h // 2) * (w // 2)
    print(f'Part 1: one CanKD loss, forward + backward, B={b} C={c} '
          f'{h}x{w} (N={h * w}, M={m}), float32, '
          f'{torch.get_num_threads()} threads, {args.repeat} rounds, '
          f'chunk_size {args.chunk_size or "default"}')
    print(f'{"affinity":<18}{"|dloss|":>10}{"grad rel":>10}'
          f'{"ours s":>8}{"full s":>8}{"speedup":>9}{"(cpu)":>8}'
          f'{"ours MiB":>9}{"full MiB":>9}{"mem ratio":>10}')
    with tempfile.TemporaryDirectory() as tmp:
        for affinity in AFFINITIES:
            res = {}
            for variant in ('ours', 'full'):
                path = osp.join(tmp, f'{affinity}_{variant}.pt')
                res[variant] = _run_worker(affinity, variant, args, path)
                res[variant]['grad'] = torch.load(path)
            ours, full = res['ours'], res['full']
            dloss = abs(ours['value'] - full['value'])
            grad_rel = float((ours['grad'] - full['grad']).abs().max() /
                             full['grad'].abs().max())

            t_ours, t_full, speedup, cpu_speedup = _time_loss(
                affinity, args)
            mem_ours = ours['extra_peak'] / 2**20
            mem_full = full['extra_peak'] / 2**20
            print(f'{affinity:<18}{dloss:>10.2e}{grad_rel:>10.2e}'
                  f'{t_ours:>8.2f}{t_full:>8.2f}{speedup:>8.2f}x'
                  f'{cpu_speedup:>7.2f}x'
                  f'{mem_ours:>9.0f}{mem_full:>9.0f}'
                  f'{mem_full / max(mem_ours, 1e-9):>9.2f}x')
    print('grad rel: max |grad_s ours - full| / max |grad_s full|; '
          'speedup: full time / ours, median over rounds of wall (cpu: '
          'process CPU) time; mem ratio: full extra peak / ours.')


def bench_step(args):
    sys.path.insert(0, ROOT)
    from mmengine.logging import MMLogger
    from mmengine.optim import build_optim_wrapper

    from mmkd_ext.analysis import build_algorithm, make_batch
    from mmkd_ext.models.losses import CanKDLoss

    h, w = args.step_size
    print(f'\nPart 2: RetinaNet R-101 -> R-50 train_step, batch '
          f'{args.batch} x {h}x{w}, random weights, {args.step_repeat} '
          'rounds')
    model, cfg = build_algorithm(STEP_CFG)
    model.train()
    # As at the start of training: FPN and head initialised (the classifier
    # bias at the focal-loss prior); the backbones keep random weights.
    MMLogger.get_current_instance().setLevel(logging.WARNING)
    model.student.neck.init_weights()
    model.student.bbox_head.init_weights()
    batch = make_batch('det', (h, w), args.batch, 80)
    distill_optim = build_optim_wrapper(model, cfg.optim_wrapper)
    student_optim = build_optim_wrapper(model.student, cfg.optim_wrapper)
    losses = [m for m in model.distiller.distill_losses.values()
              if isinstance(m, CanKDLoss)]
    with torch.no_grad():
        for loss in losses:
            loss.out_bn.weight.normal_(0., 0.5)
    inputs = model.data_preprocessor(batch, True)['inputs']
    p3 = tuple(model.student.extract_feat(inputs[:1])[0].shape[-2:])

    def teacher_forward():
        with torch.no_grad():
            model.teacher.extract_feat(inputs)

    def full_matrix_step():
        for loss in losses:
            loss.forward = types.MethodType(full_matrix_loss, loss)
        model.train_step(batch, distill_optim)
        for loss in losses:
            del loss.forward  # back to CanKDLoss.forward

    names = ('distill (ours)', 'student step', 'teacher forward',
             'distill (full)')
    medians, ratios, cpu_ratios, rounds = interleaved([
        lambda: model.train_step(batch, distill_optim),
        lambda: model.student.train_step(batch, student_optim),
        teacher_forward, full_matrix_step
    ], args.step_repeat)
    t_ours, t_student, t_teacher, t_full = medians
    print(f'P3 {p3[0]}x{p3[1]}; wall time per round (s):')
    for name, times in zip(names, rounds):
        print(f'  {name:<16}' + ' '.join(f'{x:7.2f}' for x in times))
    base = t_student + t_teacher
    print(f'medians: distillation step, ours {t_ours:.2f} s = '
          f'{t_ours / base:.3f} x (student step {t_student:.2f} s + '
          f'teacher forward {t_teacher:.2f} s)')
    print(f'         distillation step, full matrix {t_full:.2f} s = '
          f'{t_full / base:.3f} x; full / ours: {t_full / t_ours:.2f}x '
          f'(per-round median: wall {ratios[3]:.2f}x, cpu '
          f'{cpu_ratios[3]:.2f}x)')


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--size', type=int, nargs=2, default=(100, 168),
                        help='H W of the distilled map (default: P3)')
    parser.add_argument('--batch', type=int, default=2)
    parser.add_argument('--channels', type=int, default=256)
    parser.add_argument('--threads', type=int, default=None,
                        help='torch threads (default: torch\'s default); 1 '
                        'gives stable times on a machine shared with other '
                        'jobs, where multi-threaded small ops stall')
    parser.add_argument('--chunk-size', type=int, default=None,
                        help='CanKDLoss chunk_size (default: its default)')
    parser.add_argument('--repeat', type=int, default=3,
                        help='timed rounds of part 1')
    parser.add_argument('--no-step', dest='step', action='store_false',
                        help='skip part 2')
    parser.add_argument('--step-size', type=int, nargs=2, default=(800, 1344),
                        help='H W of the images of part 2 (default: a '
                        '1333x800 image padded to 32)')
    parser.add_argument('--step-repeat', type=int, default=2,
                        help='timed rounds of part 2')
    # internal: the memory run of one variant in a subprocess
    parser.add_argument('--worker', action='store_true',
                        help=argparse.SUPPRESS)
    parser.add_argument('--affinity', help=argparse.SUPPRESS)
    parser.add_argument('--variant', help=argparse.SUPPRESS)
    parser.add_argument('--grad-out', help=argparse.SUPPRESS)
    return parser.parse_args()


def main():
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.worker:
        worker(args)
        return
    bench_loss(args)
    if args.step:
        bench_step(args)


if __name__ == '__main__':
    main()
