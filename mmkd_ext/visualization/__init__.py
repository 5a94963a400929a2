# Copyright (c) mmkd_ext contributors. All rights reserved.
"""Feature and attention heat maps of distillation runs."""
from .feature_maps import (
    ATTENTION_MAPS,
    REDUCTIONS,
    DistilledLayer,
    FeatureVis,
    distilled_layers,
    feature_heatmap,
    register_attention_map,
    select_query,
)

__all__ = [
    'ATTENTION_MAPS', 'REDUCTIONS', 'DistilledLayer', 'FeatureVis',
    'distilled_layers', 'feature_heatmap', 'register_attention_map',
    'select_query'
]
