from . import transforms  # noqa: F401
from . import converters, synthvid  # noqa: F401
from .cocovid import CocoVIDContent, CocoVIDFormatError, load_cocovid, parse_cocovid
from .imagenet_vid import (IMAGENET_VID_CLASSES, IMAGENET_VID_WNIDS, ImageNetVIDDataset,
                           VideoFrames)
from .samplers import (VIDDETMixSampler, VideoShardSampler, apportion, dataset_sources,
                       shard_videos, video_item_groups)
from .synthvid_dataset import SynthVIDDataset
from .synthvid_flow_dataset import SynthVIDFlowDataset

__all__ = [
    'CocoVIDContent', 'CocoVIDFormatError', 'load_cocovid', 'parse_cocovid',
    'IMAGENET_VID_CLASSES', 'IMAGENET_VID_WNIDS', 'ImageNetVIDDataset', 'VideoFrames',
    'SynthVIDDataset', 'SynthVIDFlowDataset', 'VIDDETMixSampler', 'VideoShardSampler', 'apportion',
    'dataset_sources', 'shard_videos', 'video_item_groups'
]
