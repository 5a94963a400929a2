# Copyright (c) mmkd_ext contributors. All rights reserved.
"""letKD's offline teacher statistics.

:mod:`.targets_file` is the file the statistics live in (read by
:class:`~mmkd_ext.models.losses.LetKDLoss`), :mod:`.labels` the per-pixel
labels of the intermediate target, and :mod:`.prepare` the offline
pipeline that computes the file (``tools/letkd_prepare.py``; it builds on
the loss's target modules, so import it as ``mmkd_ext.letkd.prepare``).
"""
from .labels import pixel_labels
from .targets_file import (
    LETKD_FORMAT,
    LETKD_VERSION,
    TARGET_KINDS,
    load_letkd_target,
    normalize_target_spec,
    save_letkd_targets,
    teacher_checksum,
)

__all__ = [
    'LETKD_FORMAT', 'LETKD_VERSION', 'TARGET_KINDS', 'load_letkd_target',
    'normalize_target_spec', 'pixel_labels', 'save_letkd_targets',
    'teacher_checksum'
]
