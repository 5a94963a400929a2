from .cankd import CanKDLoss
from .ctkd import CTKDLoss
from .letkd import LetKDLoss
from .logit_standardization import LogitStandardization, zscore
from .mlkd import MLKDLoss
from .pixel_logits import PixelWiseLogitLoss
from .tat import TaTLoss, TaTSegLoss
from .wttm import TTMLoss, WTTMLoss

__all__ = [
    'LetKDLoss',
    'CTKDLoss', 'MLKDLoss',
    'CanKDLoss', 'LogitStandardization', 'zscore', 'TTMLoss', 'WTTMLoss',
    'TaTLoss', 'TaTSegLoss', 'PixelWiseLogitLoss'
]
