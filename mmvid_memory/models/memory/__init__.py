from .base import BaseVideoMemory, FrameContext, MemoryState
from .ogem_aggregator import ExternalMemoryAggregator
from .ogem_inspect import attention_per_source, top_attended_rows
from .ogem_read import (ogem_attention, ogem_read, ogem_read_projected, ogem_scales,
                        project_memory)
from .ogem_state import (InstanceMemoryState, PixelMemoryState, ReadRecord, RowProvenance,
                         StoredObject)
from .ogem_write import (box_locations, decide_object_writes, feature_stride, l2norm_select,
                         object_similarity, objects_to_evict, pixel_rows_bound,
                         similarity_threshold)

__all__ = [
    'BaseVideoMemory', 'FrameContext', 'MemoryState', 'ExternalMemoryAggregator', 'ogem_read',
    'ogem_attention', 'ogem_scales', 'ogem_read_projected', 'project_memory', 'PixelMemoryState',
    'InstanceMemoryState', 'ReadRecord', 'RowProvenance', 'StoredObject', 'box_locations',
    'decide_object_writes', 'feature_stride',
    'l2norm_select', 'object_similarity', 'objects_to_evict', 'pixel_rows_bound',
    'similarity_threshold', 'top_attended_rows', 'attention_per_source'
]

# Memory warps (Vu et al.): MemNet, ClockNet, flow warping, propagation, anticipation.
from .anticipation import (align_previous_flow, anticipate_memory, extrapolate_flows,  # noqa: E402
                           extrapolation_step, flow_acceleration)
from .clocknet import ClockNetAggregator  # noqa: E402
from .clocknet_schedule import (clock_strides, clocknet_anchors, clocknet_schedule,  # noqa: E402
                                clocknet_updates)
from .flow_losses import photometric_loss, smoothness_loss  # noqa: E402
from .flow_warp import flow_warp, resize_flow, sample_field, sample_points  # noqa: E402
from .memnet import MemNetWarper  # noqa: E402
from .memnet_aggregation import (WeightedAggregation, mean_aggregate,  # noqa: E402
                                 weighted_aggregate)
from .warp_boxes import mean_flow_in_boxes, propagate_boxes  # noqa: E402
from .warp_memory import WarpMemoryBase  # noqa: E402
from .warp_schedule import frames_since_evidence, uses_image_evidence  # noqa: E402
from .warp_state import AnticipationTrack, ScaleMemory, WarpMemoryState  # noqa: E402

__all__ += [
    'flow_warp', 'resize_flow', 'sample_field', 'sample_points', 'MemNetWarper',
    'ClockNetAggregator', 'WarpMemoryBase', 'WarpMemoryState', 'ScaleMemory', 'AnticipationTrack',
    'mean_aggregate', 'weighted_aggregate', 'WeightedAggregation', 'clock_strides',
    'clocknet_updates', 'clocknet_schedule', 'clocknet_anchors', 'uses_image_evidence',
    'frames_since_evidence', 'align_previous_flow', 'flow_acceleration', 'extrapolate_flows',
    'extrapolation_step', 'anticipate_memory', 'propagate_boxes', 'mean_flow_in_boxes',
    'photometric_loss', 'smoothness_loss'
]
