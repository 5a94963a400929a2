from .demo_coco_generator import CLASSES as DEMO_CLASSES
from .demo_coco_generator import make_demo_coco
from .grid_sets import (
    CLS_CLASSES,
    SEG_CLASSES,
    SEG_PALETTE,
    make_demo_cls,
    make_demo_seg,
    write_coco_holdout,
)
from .mlkd_transforms import FixMatchRandAugment

__all__ = [
    'CLS_CLASSES', 'DEMO_CLASSES', 'SEG_CLASSES', 'SEG_PALETTE',
    'FixMatchRandAugment', 'make_demo_cls', 'make_demo_coco', 'make_demo_seg',
    'write_coco_holdout'
]
