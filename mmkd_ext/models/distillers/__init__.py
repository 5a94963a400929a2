from .checked_distiller import CheckedDistiller, allow_random_teacher

__all__ = ['CheckedDistiller', 'allow_random_teacher']
