# Copyright (c) mmkd_ext contributors. All rights reserved.
"""Feature and attention heat maps of distillation runs."""
from .feature_maps import (
    REDUCTIONS,
    DistilledLayer,
    FeatureVis,
    attention_heatmap,
    distilled_layers,
    feature_heatmap,
    select_query,
)

__all__ = [
    'REDUCTIONS', 'DistilledLayer', 'FeatureVis', 'attention_heatmap',
    'distilled_layers', 'feature_heatmap', 'select_query'
]
