# Copyright (c) mmkd_ext contributors. All rights reserved.
"""Build distillation configs, step them once and diagnose their losses."""
from .doctor import DistillReport, LossTerm, analyze_distill, format_report
from .step import (
                   build_algorithm,
                   infer_task,
                   make_algorithm_batch,
                   make_batch,
                   run_train_step,
)

__all__ = [
    'DistillReport', 'LossTerm', 'analyze_distill', 'build_algorithm',
    'format_report', 'infer_task', 'make_algorithm_batch', 'make_batch',
    'run_train_step'
]
