from .distributed import setup_distributed
from .preflight import preflight_check

__all__ = ['preflight_check', 'setup_distributed']
