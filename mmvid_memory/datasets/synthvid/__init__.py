"""SynthVID, the embedded synthetic video data set (see ``docs/data_formats.md``).

``ensure_synthvid(root, **params)`` generates it on first use and reuses it
while the parameters are unchanged; ``generate_synthvid`` always generates.
"""
from .classes import SYNTHVID_CLASS_NAMES, SYNTHVID_CLASSES, SynthClass
from .generator import (DEFAULT_PARAMS, GENERATOR_VERSION, ensure_synthvid, generate_synthvid,
                        params_hash, read_synthvid_summary, resolve_params,
                        train_split_hash)
from .flow import frame_flow
from .flow_pairs import (DEFAULT_FLOW_PARAMS, ensure_synthvid_flow, generate_synthvid_flow,
                         read_synthvid_flow_summary, resolve_flow_params)
from .stats import motion_bin, motion_bin_fractions, motion_ious

__all__ = [
    'SYNTHVID_CLASSES', 'SYNTHVID_CLASS_NAMES', 'SynthClass', 'DEFAULT_PARAMS', 'GENERATOR_VERSION',
    'ensure_synthvid', 'generate_synthvid', 'params_hash', 'read_synthvid_summary',
    'resolve_params', 'train_split_hash', 'frame_flow', 'DEFAULT_FLOW_PARAMS', 'ensure_synthvid_flow',
    'generate_synthvid_flow', 'read_synthvid_flow_summary', 'resolve_flow_params', 'motion_bin',
    'motion_bin_fractions', 'motion_ious'
]
