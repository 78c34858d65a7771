"""Online inference: build a detector, stream frames through it, draw and time it."""
from .benchmark import (benchmark_videos, dataset_videos, ensure_test_data, format_benchmark_table,
                        synthetic_videos)
from .draw import class_color, draw_detections, memory_text_lines
from .fast_strong import FastStrongRunner
from .inference import (VideoStream, build_test_pipeline, check_frame, config_dataset_meta,
                        inference_video, init_detector, is_memory_detector, open_stream, pack_frame,
                        predict_packed)
from .timing import ModuleTimer, default_timing_points, summarize_timings
from .video_io import VideoSink, count_video_frames, iter_video_frames, list_frame_files, video_fps

__all__ = [
    'init_detector', 'VideoStream', 'open_stream', 'inference_video', 'build_test_pipeline',
    'pack_frame', 'predict_packed', 'check_frame', 'config_dataset_meta', 'is_memory_detector',
    'ModuleTimer', 'default_timing_points', 'summarize_timings', 'benchmark_videos',
    'dataset_videos', 'ensure_test_data', 'synthetic_videos', 'format_benchmark_table',
    'draw_detections', 'class_color', 'memory_text_lines', 'VideoSink', 'iter_video_frames',
    'list_frame_files', 'video_fps', 'count_video_frames', 'FastStrongRunner'
]
