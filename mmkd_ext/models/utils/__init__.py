from .attention import direct_softmax_attention, softmax_attention

__all__ = ['direct_softmax_attention', 'softmax_attention']
