# Copyright (c) mmkd_ext contributors. All rights reserved.
"""Measurement helpers shared by the benchmarks.

Peak memory (Linux, CPU): a variant runs in a fresh subprocess started with
``MALLOC_MMAP_THRESHOLD_=65536`` (:data:`MEMORY_ENV`), so that glibc maps
every buffer of 64 KiB or more on its own and returns it to the system when
the tensor is freed; the resident set then follows the live tensors instead
of the allocator's cache. :func:`reset_peak_rss` makes the current RSS the
new high-water mark; after the measured step, ``VmHWM`` minus the RSS read
at the reset is the step's extra peak memory.

Time: the variants run in turns in one process (:func:`interleaved`), so a
changing load on a shared machine affects them alike, and ratios are the
medians over rounds of the per-round ratios.
"""
import os
import statistics
import time
from typing import Callable, List, Sequence, Tuple

MEMORY_ENV = dict(os.environ, MALLOC_MMAP_THRESHOLD_='65536')


def proc_status_bytes(key: str) -> int:
    """A ``/proc/self/status`` field (kB), e.g. ``VmRSS``, in bytes."""
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(key + ':'):
                return int(line.split()[1]) * 1024
    raise KeyError(key)


def reset_peak_rss() -> int:
    """Reset the peak resident set size (``VmHWM``) to the current one and
    return the current one (bytes)."""
    with open('/proc/self/clear_refs', 'w') as f:
        f.write('5')
    return proc_status_bytes('VmRSS')


def interleaved(fns: Sequence[Callable[[], object]], repeat: int
                ) -> Tuple[List[float], List[float], List[float],
                           List[List[float]]]:
    """Run the callables in turns: one warm-up round, then ``repeat``
    rounds.

    Returns:
        tuple: the median wall time of each callable; the medians over the
        rounds of each one's wall time and CPU time (all threads) divided
        by the first one's; the wall times of every timed round.
    """
    wall: List[List[float]] = [[] for _ in fns]
    cpu: List[List[float]] = [[] for _ in fns]
    for rnd in range(repeat + 1):
        for i, fn in enumerate(fns):
            start, start_cpu = time.perf_counter(), time.process_time()
            fn()
            if rnd:
                wall[i].append(time.perf_counter() - start)
                cpu[i].append(time.process_time() - start_cpu)

    def ratios(times: List[List[float]]) -> List[float]:
        return [
            statistics.median(a / b for a, b in zip(t, times[0]))
            for t in times
        ]

    return ([statistics.median(t) for t in wall], ratios(wall), ratios(cpu),
            wall)
