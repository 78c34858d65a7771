from .box_propagation import BoxPropagationConfig, BoxTrackState, move_detections
from .fast_strong_detector import FastStrongDetector, FastStrongState, StrongFeatures
from .memory_video_detector import MemoryVideoDetector, detector_heads_loss, detector_heads_predict
from .rfcn import RFCN
from .video_memory_state import MemoryStateBank, VideoMemoryState

__all__ = [
    'MemoryVideoDetector', 'MemoryStateBank', 'RFCN', 'VideoMemoryState', 'BoxPropagationConfig',
    'BoxTrackState', 'move_detections', 'detector_heads_loss', 'detector_heads_predict',
    'FastStrongDetector', 'FastStrongState', 'StrongFeatures'
]
