# Copyright (c) mmkd_ext contributors. All rights reserved.
"""TaT losses: ours (memory-efficient attention) against the direct form.

Forward + backward of the TaT losses at the segmentation size (B = 2, a
512 x 512 crop -> 128 x 128 decoder map, mmseg's channels: R-18 head 128,
R-101 head 512) and of one-to-all TaT at the ImageNet size (512 x 7 x 7),
"ours" (``chunk_size='auto'``, the default: query chunks recomputed in
backward on CPU, fused SDPA on CUDA) against "direct" (``chunk_size=None``:
the full (B, G, N, M) attention matrix is materialised and kept for
backward), same modules and inputs, same run.

Peak memory: every (case, variant) runs one forward + backward in a fresh
subprocess (see ``measure.py``; on CUDA ``torch.cuda.max_memory_allocated``).
Time: both variants run in turns in the main process, a warm-up round, then
``--repeats`` rounds; the ratios are medians of the per-round ratios.

Denormals: without the ``1/sqrt(d)`` scaling, TaT's softmax is nearly
one-hot, and in float32 a large part of its probabilities underflow to
subnormal numbers (~27% at 16384 keys, d = 512), which x86 CPUs process
20-50x slower. Ours keeps them out itself (probabilities below eps^2 of
their row are exact zeros); the direct form does not. The CPU runs
therefore flush subnormals to zero in both (``torch.set_flush_denormal``,
set before torch's thread pool exists: threads created earlier keep their
own setting), which is the direct form's best case; ``--keep-denormals``
measures the default setting instead. GPUs are not affected.

Usage::

    python benchmarks/bench_tat.py                 # all cases
    python benchmarks/bench_tat.py --cases anchor_a32 one_to_all_in1k
    python benchmarks/bench_tat.py --device cuda

``one_to_all_seg`` materialises a (2, 16384, 16384) fp32 matrix (2 GiB, and
more in backward) in the direct form: it needs ~10 GiB of RAM and is slow on
a few CPU cores.
"""
import argparse
import json
import subprocess
import sys
import warnings
from typing import List, Tuple

from measure import MEMORY_ENV, interleaved, proc_status_bytes, reset_peak_rss

CHUNK = 'auto'  # the losses' default
CASES = {
    # VOC R-18 setting: 8x8 patches, 256 patches, g = 64 (d = 2048).
    'patch_group_n16_g64': dict(kind='patch', c=512, hw=128, n=16, g=64),
    # VOC MobileNetV2 setting: 4x4 patches, 1024 patches, g = 1024.
    'patch_group_n32_g1024': dict(kind='patch', c=512, hw=128, n=32, g=1024),
    # 4x4 pooling: 32x32 = 1024 anchors.
    'anchor_a32': dict(kind='anchor', c=512, hw=128, a=32),
    # 2x2 pooling: 64x64 = 4096 anchors.
    'anchor_a64': dict(kind='anchor', c=512, hw=128, a=64),
    # The whole segmentation loss (VOC R-18): embeddings + both terms.
    'seg_loss_voc_r18': dict(kind='seg', cs=128, c=512, hw=128, n=16, g=64,
                             a=32),
    # One-to-all on a 64x64 map (256x256 crop): 4096 x 4096 attention.
    'one_to_all_seg64': dict(kind='one', cs=128, c=512, hw=64, k=1,
                             theta=True, b=2),
    # One-to-all on the 128x128 decoder map: 16384 x 16384 attention.
    'one_to_all_seg': dict(kind='one', cs=128, c=512, hw=128, k=1,
                           theta=True, b=2),
    # One-to-all at the ImageNet size (layer4, 49 positions).
    'one_to_all_in1k': dict(kind='one', cs=512, c=512, hw=7, k=3,
                            theta=False, b=32),
}


def _build(case: dict, chunk_size, hw: int, device: str):
    """Returns a closure running forward + backward once."""
    import torch

    from mmkd_ext.models.losses.tat import (
        TaTAnchorPointLoss,
        TaTLoss,
        TaTPatchGroupLoss,
        TaTSegLoss,
    )
    torch.manual_seed(0)
    b = case.get('b', 2)
    c = case['c']
    kind = case['kind']
    if kind in ('patch', 'anchor'):
        if kind == 'patch':
            loss_fn = TaTPatchGroupLoss(
                min(case['n'], hw), case['g'], chunk_size=chunk_size)
        else:
            loss_fn = TaTAnchorPointLoss(
                min(case['a'], hw), chunk_size=chunk_size)
        # Embedded q, k, v (BN-like scale) and the teacher map.
        tensors = [
            torch.randn(b, c, hw, hw, device=device, requires_grad=True)
            for _ in range(3)
        ] + [torch.randn(b, c, hw, hw, device=device)]
        return lambda: loss_fn(*tensors).backward()
    if kind == 'seg':
        loss_fn = TaTSegLoss(case['cs'], c, min(case['n'], hw), case['g'],
                             min(case['a'], hw), log_terms=False,
                             chunk_size=chunk_size)
    else:
        loss_fn = TaTLoss(case['cs'], c, kernel_size=case['k'],
                          teacher_embed=case['theta'],
                          chunk_size=chunk_size)
    loss_fn.to(device).train()
    fs = torch.randn(b, case['cs'], hw, hw, device=device,
                     requires_grad=True)
    ft = torch.randn(b, c, hw, hw, device=device)
    return lambda: loss_fn(fs, ft).backward()


def attention_sizes(case: dict, hw: int) -> List[Tuple[int, int]]:
    """(batch x heads, positions) of each attention of a case."""
    b = case.get('b', 2)
    sizes = []
    if case['kind'] in ('patch', 'seg'):
        side = hw // min(case['n'], hw)
        sizes.append((b * case['g'], side * side))
    if case['kind'] in ('anchor', 'seg'):
        side = hw // (hw // min(case['a'], hw))
        sizes.append((b, side * side))
    if case['kind'] == 'one':
        sizes.append((b, hw * hw))
    return sizes


def _sync(device: str) -> None:
    import torch
    if device == 'cuda':
        torch.cuda.synchronize()


def memory_child(name: str, variant: str, device: str) -> dict:
    """Extra peak memory of one forward + backward of one (case, variant),
    in this fresh process."""
    import torch
    case = CASES[name]
    chunk_size = CHUNK if variant == 'ours' else None
    _build(case, chunk_size, min(case['hw'], 16), device)()  # warm-up
    step = _build(case, chunk_size, case['hw'], device)
    _sync(device)
    if device == 'cuda':
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    else:
        base = reset_peak_rss()
    step()
    _sync(device)
    peak = (torch.cuda.max_memory_allocated() if device == 'cuda' else
            proc_status_bytes('VmHWM'))
    return dict(extra_mib=(peak - base) / 2**20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--cases', nargs='+', default=list(CASES),
                        choices=list(CASES))
    parser.add_argument('--repeats', type=int, default=5,
                        help='timed rounds (one_to_all_seg: 1)')
    parser.add_argument('--device', default='cpu', choices=['cpu', 'cuda'])
    parser.add_argument('--keep-denormals', action='store_true',
                        help='do not flush subnormal floats to zero on CPU')
    parser.add_argument('--child', nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    import torch

    # numpy's float limits (computed at import) warn when flushed.
    warnings.filterwarnings('ignore', 'The value of the smallest subnormal')

    # Before any other torch operation: the flag is per thread, and only
    # threads created after it (torch's intra-op pool) inherit it.
    flush = args.device == 'cpu' and not args.keep_denormals
    if flush:
        torch.set_flush_denormal(True)
    if args.child:
        print(json.dumps(memory_child(*args.child, args.device)))
        return
    from mmkd_ext.models.utils.attention import (
        MIN_AUTO_CHUNK,
        auto_chunk_size,
    )
    print(f'device={args.device} threads={torch.get_num_threads()} '
          f'flush_denormal={flush}; forward + backward; ours: chunk_size='
          f'{CHUNK!r} (fused SDPA on CUDA), the direct form where every '
          f'attention has < {4 * MIN_AUTO_CHUNK} positions')
    print(f'{"case":22s} {"N":>6s} {"A MiB":>6s} {"ours s":>7s} '
          f'{"direct s":>8s} {"time":>5s} {"cpu":>5s} {"ours MiB":>8s} '
          f'{"direct MiB":>10s} {"memory":>6s}')
    for name in args.cases:
        case = CASES[name]
        sizes = attention_sizes(case, case['hw'])
        n_max = max(n for _, n in sizes)
        attn_mib = sum(bh * n * n * 4 for bh, n in sizes) / 2**20
        mem = {}
        for variant in ('ours', 'direct'):
            out = subprocess.run(
                [sys.executable, __file__, '--child', name, variant,
                 '--device', args.device] +
                (['--keep-denormals'] if args.keep_denormals else []),
                env=MEMORY_ENV, capture_output=True, text=True, check=True)
            mem[variant] = json.loads(
                out.stdout.strip().splitlines()[-1])['extra_mib']
        steps = [_build(case, size, case['hw'], args.device)
                 for size in (CHUNK, None)]
        medians, ratios, cpu_ratios, _ = interleaved(
            [lambda step=step: (step(), _sync(args.device))
             for step in steps],
            1 if name == 'one_to_all_seg' else args.repeats)
        path = '' if auto_chunk_size(n_max) < n_max else ' (same path)'
        print(f'{name:22s} {n_max:6d} {attn_mib:6.0f} {medians[0]:7.3f} '
              f'{medians[1]:8.3f} {1 / ratios[1]:5.2f} '
              f'{1 / cpu_ratios[1]:5.2f} {mem["ours"]:8.0f} '
              f'{mem["direct"]:10.0f} '
              f'{mem["ours"] / max(mem["direct"], 1e-9):6.2f}{path}',
              flush=True)
    print('N: positions of the largest attention; A MiB: all attention '
          'matrices of one forward (float32); time, cpu: ours / direct, '
          'median over the rounds of the per-round ratio of wall and '
          'process CPU time (lower is better); MiB: extra peak memory of '
          'one forward + backward; memory: ours / direct. "same path": '
          'ours computes the direct form too (ratios show the noise).')


if __name__ == '__main__':
    main()
