"""Displacement-field networks for memory warps (Vu et al.)."""
from .flownet_s import FlowNetS, feature_map_stride, output_level
from .flow_supervision import (FLOWNET_LEVEL_WEIGHTS, endpoint_error, multiscale_epe_loss,
                               pool_flow)
from .flownet_pretrainer import FlowNetPretrainer
from .flownet_s_checkpoint import convert_flownets_state_dict, load_flownets_checkpoint
from .oracle_flow import SynthVIDOracleFlow, flow_net_field
from .zero_flow import ZeroFlow

__all__ = [
    'FlowNetS', 'ZeroFlow', 'SynthVIDOracleFlow', 'flow_net_field', 'FlowNetPretrainer',
    'FLOWNET_LEVEL_WEIGHTS', 'endpoint_error', 'multiscale_epe_loss', 'pool_flow',
    'convert_flownets_state_dict', 'load_flownets_checkpoint', 'feature_map_stride', 'output_level'
]
