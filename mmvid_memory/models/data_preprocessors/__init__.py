from .flow_pair_data_preprocessor import FlowPairDataPreprocessor
from .video_data_preprocessor import VideoDataPreprocessor

__all__ = ['VideoDataPreprocessor', 'FlowPairDataPreprocessor']
