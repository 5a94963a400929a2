# Copyright (c) mmkd_ext contributors. All rights reserved.
"""Robustness evaluation (COCO-C, Cityscapes-C, ImageNet-C) on corrupted
test sets."""
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
from .evaluation import (
    Condition,
    RobustnessBenchmark,
    infer_task,
    insert_corruption,
    plan_conditions,
)
from .report import compute_summary, markdown_table, summarize

__all__ = [
    'ALL_CORRUPTIONS', 'BENCHMARK_CORRUPTIONS', 'CORRUPTION_FAMILIES',
    'CORRUPTION_GROUPS', 'HOLDOUT_CORRUPTIONS', 'Condition',
    'ImageCorruption', 'RobustnessBenchmark', 'check_severities',
    'compute_summary', 'corrupt_image', 'family_of', 'infer_task',
    'insert_corruption', 'markdown_table',
    'plan_conditions', 'resolve_corruptions', 'summarize'
]
