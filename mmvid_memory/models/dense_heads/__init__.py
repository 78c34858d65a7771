from .sliced_rpn_head import SlicedRPNHead

__all__ = ['SlicedRPNHead']
