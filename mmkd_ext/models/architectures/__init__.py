from .letkd_student import (
    LetKDLayer,
    NormalizedConv2d,
    build_letkd_student,
    insert_letkd_layers,
)

__all__ = [
    'LetKDLayer', 'NormalizedConv2d', 'build_letkd_student',
    'insert_letkd_layers'
]
