"""Displacement-field networks for memory warps (seed 003)."""
from .flownet_s import FlowNetS, feature_map_stride, output_level
from .flownet_s_checkpoint import convert_flownets_state_dict, load_flownets_checkpoint
from .zero_flow import ZeroFlow

__all__ = [
    'FlowNetS', 'ZeroFlow', 'convert_flownets_state_dict', 'load_flownets_checkpoint',
    'feature_map_stride', 'output_level'
]
