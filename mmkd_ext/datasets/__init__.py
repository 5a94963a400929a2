from .demo_coco_generator import CLASSES as DEMO_CLASSES
from .demo_coco_generator import make_demo_coco
from .mlkd_transforms import FixMatchRandAugment

__all__ = ['DEMO_CLASSES', 'make_demo_coco', 'FixMatchRandAugment']
