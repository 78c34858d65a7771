from .clip_sampling import VideoClipSample, sample_consecutive_clip, sample_interval_clip
from .flow_pairs import LoadFlowPair, PackFlowInputs, RandomFlowFlip, RandomFlowTranslate
from .formatting import VIDEO_FRAME_META_KEYS, PackVideoFrameInputs

__all__ = ['VideoClipSample', 'sample_consecutive_clip', 'sample_interval_clip',
           'PackVideoFrameInputs', 'VIDEO_FRAME_META_KEYS',
           'LoadFlowPair', 'RandomFlowFlip', 'RandomFlowTranslate', 'PackFlowInputs']
