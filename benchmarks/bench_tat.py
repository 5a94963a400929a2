# Copyright (c) mmkd_ext contributors. All rights reserved.
"""TaT losses: ours (memory-efficient attention) against the direct form.

Forward + backward of the TaT losses at the segmentation size (B = 2, a
512 x 512 crop -> 128 x 128 decoder map, mmseg's channels: R-18 head 128,
R-101 head 512) and of one-to-all TaT at the ImageNet size (512 x 7 x 7),
"ours" (``chunk_size=1024``: query chunks recomputed in backward on CPU,
fused SDPA on CUDA) against "direct" (``chunk_size=None``: the full
(B, G, N, M) attention matrix is materialised and kept for backward), same
modules and inputs, same run.

Peak memory on CPU: every (case, variant) runs in a fresh subprocess with
``MALLOC_MMAP_THRESHOLD_=65536`` so that glibc returns every freed buffer
of 64 KiB or more to the OS (the resident set then follows the live
tensors instead of the allocator's cache). After building the inputs and a
small warm-up, the process resets its peak resident set size
(``/proc/self/clear_refs`` <- 5) and reads ``VmRSS`` as the baseline; after
one forward + backward, ``VmHWM - baseline`` is the step's extra peak memory
(activations, the attention matrices, gradients). On CUDA,
``torch.cuda.max_memory_allocated`` is used the same way.

Denormals: without the ``1/sqrt(d)`` scaling, TaT's softmax is nearly
one-hot and, on CPU, a large part of the probabilities are subnormal floats
(~27% at 16384 keys, d = 512), which makes x86 matrix products 20-50x slower
in both variants. The CPU runs therefore flush subnormals to zero
(``torch.set_flush_denormal(True)``, what CPU training should use too);
``--keep-denormals`` measures without it. GPUs are not affected.

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
import os
import re
import subprocess
import sys
import time

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


def _status_kib(field: str) -> int:
    with open('/proc/self/status') as f:
        return int(re.search(field + r':\s+(\d+)', f.read()).group(1))


def _build(case: dict, chunk_size, hw: int, device: str):
    """Returns a closure running forward + backward once."""
    import torch

    from mmkd_ext.models.losses import (
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


def child(name: str, variant: str, repeats: int, device: str,
          keep_denormals: bool) -> dict:
    """Measure one (case, variant) in this (fresh) process."""
    import torch
    if device == 'cpu' and not keep_denormals:
        torch.set_flush_denormal(True)
    case = CASES[name]
    chunk_size = 1024 if variant == 'ours' else None
    _build(case, chunk_size, 16 if case['hw'] > 16 else case['hw'],
           device)()  # warm-up: thread pools, kernels
    step = _build(case, chunk_size, case['hw'], device)
    if device == 'cuda':
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    else:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
        base = _status_kib('VmRSS') * 1024
    times, cpu_times = [], []
    for _ in range(repeats):
        start, cpu_start = time.perf_counter(), time.process_time()
        step()
        if device == 'cuda':
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - cpu_start)
        if len(times) == 1:
            peak = (torch.cuda.max_memory_allocated() if device == 'cuda'
                    else _status_kib('VmHWM') * 1024)
    return dict(time_s=sorted(times)[len(times) // 2],
                cpu_s=sorted(cpu_times)[len(times) // 2],
                extra_mib=(peak - base) / 2**20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--cases', nargs='+', default=list(CASES),
                        choices=list(CASES))
    parser.add_argument('--repeats', type=int, default=3,
                        help='timed runs per variant (one_to_all_seg: 1)')
    parser.add_argument('--device', default='cpu', choices=['cpu', 'cuda'])
    parser.add_argument('--keep-denormals', action='store_true',
                        help='do not flush subnormal floats to zero on CPU')
    parser.add_argument('--child', nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(*args.child, args.repeats, args.device,
                               args.keep_denormals)))
        return
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_='65536')
    print(f'device={args.device} cpus={os.cpu_count()} flush_denormal='
          f'{args.device == "cpu" and not args.keep_denormals} (forward + '
          'backward; wall and CPU (all threads) time: medians of the timed '
          'runs)')
    header = (f'{"case":24s} {"ours s":>8s} {"direct s":>9s} {"time":>6s} '
              f'{"cpu":>6s} {"ours MiB":>9s} {"direct MiB":>11s} '
              f'{"memory":>7s}')
    print(header)
    for name in args.cases:
        repeats = 1 if name == 'one_to_all_seg' else args.repeats
        res = {}
        for variant in ('ours', 'direct'):
            out = subprocess.run(
                [sys.executable, __file__, '--child', name, variant,
                 '--repeats', str(repeats), '--device', args.device] +
                (['--keep-denormals'] if args.keep_denormals else []),
                env=env, capture_output=True, text=True, check=True)
            res[variant] = json.loads(out.stdout.strip().splitlines()[-1])
        ours, direct = res['ours'], res['direct']
        print(f'{name:24s} {ours["time_s"]:8.3f} {direct["time_s"]:9.3f} '
              f'{ours["time_s"] / direct["time_s"]:6.2f} '
              f'{ours["cpu_s"] / direct["cpu_s"]:6.2f} '
              f'{ours["extra_mib"]:9.0f} {direct["extra_mib"]:11.0f} '
              f'{ours["extra_mib"] / max(direct["extra_mib"], 1e-9):7.2f}',
              flush=True)
    print('time, cpu, memory: ours / direct (lower is better); MiB = extra '
          'peak memory of one forward + backward over the inputs')


if __name__ == '__main__':
    main()
