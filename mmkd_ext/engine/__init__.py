from .launch import preflight_check, setup_distributed

__all__ = ['preflight_check', 'setup_distributed']
