# Copyright (c) mmkd_ext contributors. All rights reserved.
"""Robustness benchmarks (COCO-C, Cityscapes-C) on corrupted test sets."""
from .benchmark import (
    Condition,
    RobustnessBenchmark,
    check_state_dict,
    infer_task,
    insert_corruption,
    load_state_dict,
    plan_conditions,
)
from .corruptions import (
    ALL_CORRUPTIONS,
    BENCHMARK_CORRUPTIONS,
    CORRUPTION_FAMILIES,
    CORRUPTION_GROUPS,
    HOLDOUT_CORRUPTIONS,
    ImageCorruption,
    check_severities,
    corrupt_image,
    family_of,
    resolve_corruptions,
)
from .report import compute_summary, markdown_table, summarize

__all__ = [
    'ALL_CORRUPTIONS', 'BENCHMARK_CORRUPTIONS', 'CORRUPTION_FAMILIES',
    'CORRUPTION_GROUPS', 'HOLDOUT_CORRUPTIONS', 'Condition',
    'ImageCorruption', 'RobustnessBenchmark', 'check_severities',
    'check_state_dict', 'compute_summary', 'corrupt_image', 'family_of',
    'infer_task', 'insert_corruption', 'load_state_dict', 'markdown_table',
    'plan_conditions', 'resolve_corruptions', 'summarize'
]
