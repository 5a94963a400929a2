from .launch import check_checkpoint_file, preflight_check, setup_distributed
from .rng_state_hook import RNGStateHook, add_rng_state_hook

__all__ = [
    'RNGStateHook', 'add_rng_state_hook', 'check_checkpoint_file',
    'preflight_check', 'setup_distributed'
]
