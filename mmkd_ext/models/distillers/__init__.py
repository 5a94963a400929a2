from .checked_distiller import CheckedDistiller

__all__ = ['CheckedDistiller']
