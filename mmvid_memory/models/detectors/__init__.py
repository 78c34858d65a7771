from .memory_video_detector import MemoryVideoDetector
from .rfcn import RFCN
from .video_memory_state import MemoryStateBank, VideoMemoryState

__all__ = ['MemoryVideoDetector', 'MemoryStateBank', 'RFCN', 'VideoMemoryState']
