# Copyright (c) mmkd_ext contributors. All rights reserved.
"""Feature and attention heat maps of distillation runs; the demo's figure
of metrics and training losses."""
from .demo_report import STUDENT_ALONE_RUN, plot_runs, student_alone_checkpoint
from .feature_maps import (
    REDUCTIONS,
    SCALES,
    DistilledLayer,
    FeatureVis,
    attention_heatmap,
    distilled_layers,
    feature_heatmap,
    select_query,
)
from .training_log import TASK_LOSS, epoch_losses, load_train_scalars

__all__ = [
    'REDUCTIONS', 'SCALES', 'DistilledLayer', 'FeatureVis',
    'STUDENT_ALONE_RUN', 'TASK_LOSS', 'attention_heatmap', 'distilled_layers',
    'epoch_losses', 'feature_heatmap', 'load_train_scalars', 'plot_runs',
    'select_query', 'student_alone_checkpoint'
]
