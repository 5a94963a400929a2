from .letkd_distill import LetKDDistill, LetKDFpnTeacherDistill
from .multiview_distill import MultiViewClsDataPreprocessor, MultiViewDistill
from .roi_distill import RoITeacherDistill

__all__ = [
    'LetKDDistill', 'LetKDFpnTeacherDistill', 'MultiViewClsDataPreprocessor',
    'MultiViewDistill', 'RoITeacherDistill'
]
