from .attention import (
    check_chunk_size,
    direct_softmax_attention,
    fused_sdpa_supported,
    softmax_attention,
)

__all__ = [
    'check_chunk_size', 'direct_softmax_attention', 'fused_sdpa_supported',
    'softmax_attention'
]
