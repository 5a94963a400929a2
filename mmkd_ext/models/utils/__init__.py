from .attention import (
    direct_softmax_attention,
    fused_sdpa_supported,
    softmax_attention,
)

__all__ = [
    'direct_softmax_attention', 'fused_sdpa_supported', 'softmax_attention'
]
