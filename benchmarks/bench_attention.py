# Copyright (c) mmkd_ext contributors. All rights reserved.
"""The shared softmax attention alone: direct form, ours, torch's SDPA.

Forward + backward of ``softmax(q k^T) v`` (no ``1/sqrt(d)``: the peaked,
near-one-hot probabilities of CanKD and TaT), float32, at the sizes the
losses run at:

* ``cankd_eg`` / ``cankd_g``: CanKD at RetinaNet P3 for a 1333x800 input
  (B = 2, 100x168 = 16800 queries, 4200 pooled teacher keys), q, k, v made
  by a ``CanKDLoss``'s own (randomly initialised) projections from unit
  normal maps: embedded-gaussian d = dv = 128; gaussian d = 256 (the raw
  maps), dv = 128, no key gradient;
* ``tat_4096`` / ``tat_16384``: TaT one-to-all and anchor-point attention
  at 64x64 and 128x128 positions (B = 2, d = dv = 512, unit normal q, k, v,
  as after the embeddings' BatchNorm).

Variants: ``direct`` (the full matrix, kept for backward), ``ours``
(``softmax_attention`` on CPU, ``chunk_size='auto'`` unless
``--chunk-size`` is given: the module's dispatch), ``sdpa``
(``F.scaled_dot_product_attention`` on contiguous inputs, scale 1: torch's
fused CPU kernel where it takes them, its math kernel where dv != d) and,
with
``--baseline FILE``, ``before``: the chunked path of another version of
``attention.py`` (e.g. ``git show main:mmkd_ext/models/utils/attention.py``)
with the losses' former chunk sizes (CanKD 4096, TaT 1024).
They run in turns in one process (``measure.interleaved``); printed: the
median wall time of ``direct`` and each variant's speed relative to it
(median and range over the rounds of the per-round ratio
direct time / variant time: > 1 is faster than direct), and the extra peak
memory of one forward + backward, each variant in a fresh subprocess
(``measure.py``), relative to the direct form's.

``--flush`` sets ``torch.set_flush_denormal(True)`` first thing in every
process (before torch's thread pool exists, so the worker threads inherit
it); without it subnormal floats are kept (torch's default).

Usage::

    python benchmarks/bench_attention.py                  # all cases
    python benchmarks/bench_attention.py --flush
    python benchmarks/bench_attention.py --cases cankd_g --repeat 5 \\
        --baseline /tmp/attention_main.py
"""
import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import warnings

# before_chunk: the losses' chunk_size before 'auto' (CanKD 4096, TaT 1024)
CASES = {
    'cankd_eg': dict(kind='cankd', affinity='embedded_gaussian',
                     before_chunk=4096),
    'cankd_g': dict(kind='cankd', affinity='gaussian', before_chunk=4096),
    'tat_4096': dict(kind='tat', side=64, before_chunk=1024),
    'tat_16384': dict(kind='tat', side=128, before_chunk=1024),
}
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def make_inputs(name: str) -> tuple:
    """(q, k, v), the ones needing a gradient marked, as the losses pass
    them: (B, positions, channels) views of NCHW maps."""
    import torch
    import torch.nn.functional as F
    torch.manual_seed(0)
    case = CASES[name]
    if case['kind'] == 'tat':
        b, d, n = 2, 512, case['side']**2
        return tuple(
            torch.randn(b, d, n).transpose(1, 2).requires_grad_(True)
            for _ in range(3))
    from mmkd_ext.models.losses import CanKDLoss
    loss = CanKDLoss(256, affinity=case['affinity'])
    s, t = torch.randn(2, 256, 100, 168), torch.randn(2, 256, 100, 168)
    with torch.no_grad():
        value = F.max_pool2d(loss.g(t), 2).flatten(2)
        if case['affinity'] == 'gaussian':
            query, key = s.flatten(2), F.max_pool2d(t, 2).flatten(2)
        else:
            query = loss.theta(s).flatten(2)
            key = F.max_pool2d(loss.phi(t), 2).flatten(2)
    key.requires_grad_(case['affinity'] != 'gaussian')
    return tuple(x.requires_grad_(x.requires_grad or x is not key)
                 .transpose(1, 2) for x in (query, key, value))


def make_step(variant: str, name: str, chunk_size, baseline):
    """A closure running one forward + backward of a variant."""
    import torch
    import torch.nn.functional as F

    from mmkd_ext.models.utils import attention
    q, k, v = make_inputs(name)
    leaves = [x for x in (q, k, v) if x.requires_grad]
    if chunk_size is None:
        chunk_size = 'auto'
    if variant == 'direct':
        def fn(*a):
            return attention.direct_softmax_attention(*a)
    elif variant == 'ours':
        def fn(*a):
            return attention.softmax_attention(
                *a, chunk_size=chunk_size, use_sdpa=False)
    elif variant == 'sdpa':
        def fn(*a):
            return F.scaled_dot_product_attention(
                *(x.contiguous() for x in a), scale=1.0)
    else:
        spec = importlib.util.spec_from_file_location('before', baseline)
        before = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(before)

        def fn(*a):
            return before.softmax_attention(
                *a, chunk_size=CASES[name]['before_chunk'], use_sdpa=False)
    grad_out = torch.randn(q.shape[:-1] + v.shape[-1:])

    def step():
        for x in leaves:
            x.grad = None
        fn(q, k, v).backward(grad_out)
    return step


def child(args) -> None:
    """Extra peak memory of one variant, in this fresh process."""
    from measure import proc_status_bytes, reset_peak_rss
    step = make_step(args.variant, args.child, args.chunk_size,
                     args.baseline)
    step()  # warm-up, and the gradient buffers exist
    base = reset_peak_rss()
    step()
    print(json.dumps(dict(extra=proc_status_bytes('VmHWM') - base)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--cases', nargs='+', default=list(CASES),
                        choices=list(CASES))
    parser.add_argument('--variants', nargs='+',
                        default=['ours', 'sdpa'],
                        choices=['ours', 'sdpa', 'before'])
    parser.add_argument('--chunk-size', type=int, default=None,
                        help='ours: chunk_size (default: the module\'s)')
    parser.add_argument('--baseline', help='attention.py of the "before" '
                        'variant')
    parser.add_argument('--repeat', type=int, default=3)
    parser.add_argument('--threads', type=int, default=None,
                        help='torch threads (default: torch\'s); 1 on a '
                        'machine shared with other jobs, where the CPU-time '
                        'ratio is then the reliable one')
    parser.add_argument('--flush', action='store_true',
                        help='flush subnormal floats to zero')
    parser.add_argument('--no-memory', dest='memory', action='store_false')
    parser.add_argument('--child', help=argparse.SUPPRESS)
    parser.add_argument('--variant', help=argparse.SUPPRESS)
    args = parser.parse_args()
    import torch

    # Before any other torch operation: the flag is per thread, and only
    # threads created after it (torch's intra-op pool) inherit it.
    warnings.filterwarnings('ignore', 'The value of the smallest subnormal')
    torch.set_flush_denormal(args.flush)
    if args.threads:
        torch.set_num_threads(args.threads)
    sys.path.insert(0, ROOT)
    if args.child:
        child(args)
        return
    if 'before' in args.variants and not args.baseline:
        parser.error('--variants before needs --baseline')
    from measure import MEMORY_ENV, interleaved
    variants = ['direct'] + args.variants
    print(f'float32, {torch.get_num_threads()} threads, flush_denormal='
          f'{args.flush}, {args.repeat} rounds; load average '
          f'{" ".join(f"{x:.1f}" for x in os.getloadavg())}')
    print(f'{"case":10s} {"direct s":>8s} ' + ' '.join(
        f'{v + ": speed [range]":>24s} {"cpu":>6s} {"mem":>5s}'
        for v in args.variants))
    for name in args.cases:
        mem = {}
        for variant in variants if args.memory else ():
            cmd = [sys.executable, os.path.abspath(__file__), '--child',
                   name, '--variant', variant] + (
                       ['--flush'] if args.flush else []) + (
                       ['--baseline', args.baseline]
                       if args.baseline else []) + (
                       ['--chunk-size', str(args.chunk_size)]
                       if args.chunk_size else []) + (
                       ['--threads', str(args.threads)]
                       if args.threads else [])
            out = subprocess.run(cmd, env=MEMORY_ENV, capture_output=True,
                                 text=True, check=True)
            mem[variant] = json.loads(out.stdout.splitlines()[-1])['extra']
        steps = [make_step(v, name, args.chunk_size, args.baseline)
                 for v in variants]
        medians, _, cpu, rounds = interleaved(steps, args.repeat)
        cells = []
        for i, variant in enumerate(args.variants, 1):
            speed = [d / t for d, t in zip(rounds[0], rounds[i])]
            mem_ratio = (f'{mem[variant] / mem["direct"]:5.2f}'
                         if mem else f'{"-":>5s}')
            cells.append(f'{statistics.median(speed):5.2f}x '
                         f'[{min(speed):.2f}-{max(speed):.2f}] '
                         f'{1 / cpu[i]:5.2f}x {mem_ratio}')
        print(f'{name:10s} {medians[0]:8.2f} ' + ' '.join(cells),
              f' load {os.getloadavg()[0]:.1f}', flush=True)
    print('speed: direct wall time / variant wall time, median [min-max] '
          'over the rounds (> 1: faster than direct); cpu: the same for the '
          'process CPU time (median of the per-round ratios); mem: extra '
          'peak memory of one forward + backward / the direct form\'s.')


if __name__ == '__main__':
    main()
