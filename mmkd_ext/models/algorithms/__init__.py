from .letkd_distill import LetKDDistill, LetKDFpnTeacherDistill
from .multiview_distill import MultiViewClsDataPreprocessor, MultiViewDistill

__all__ = [
    'LetKDDistill', 'LetKDFpnTeacherDistill', 'MultiViewClsDataPreprocessor',
    'MultiViewDistill'
]
