from .distributed import setup_distributed
from .preflight import preflight_check
from .rng_state_hook import RNGStateHook, add_rng_state_hook

__all__ = [
    'RNGStateHook', 'add_rng_state_hook', 'preflight_check',
    'setup_distributed'
]
