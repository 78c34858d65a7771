from .channel_slice import parse_channel_slice, take_channel_slice
from .dilated_reduce_neck import DilatedReduceNeck

__all__ = ['DilatedReduceNeck', 'parse_channel_slice', 'take_channel_slice']
