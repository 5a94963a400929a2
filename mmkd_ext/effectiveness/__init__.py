# Copyright (c) mmkd_ext contributors. All rights reserved.
"""The seeded effectiveness grid: every method against the student alone,
on the embedded sets."""
from .grid import GRID, TASKS, Family, data_options, families, make_data
from .harness import (
    Run,
    collect,
    doctor_runs,
    grid_root,
    options_label,
    plan,
    run_grid,
)
from .report import summarize, welch_p, write_outputs

__all__ = [
    'GRID', 'TASKS', 'Family', 'Run', 'collect', 'data_options',
    'doctor_runs', 'families', 'grid_root', 'make_data', 'options_label',
    'plan', 'run_grid', 'summarize', 'welch_p', 'write_outputs'
]
