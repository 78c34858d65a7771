"""Memory and attention pictures, memory-size and speed-accuracy plots, and
side-by-side clips; ``write_demo_figures`` draws those of ``make demo``.
Figures are drawn off-screen (matplotlib's Agg canvas, imported on first
use); clips with OpenCV / Pillow."""
from .attention_views import (attention_mass_map, group_sources, mixing_weights,
                              query_row_weights, read_record_of)
from .clip import compose_side_by_side, draw_dashed_box, side_by_side_clip
from .demo_figures import write_demo_figures
from .geometry import FrameView, location_centres, query_locations
from .memory_size_plot import memory_series, plot_memory_size, total_size
from .provenance_plot import plot_memory_provenance
from .speed_accuracy_plot import infer_family, plot_speed_accuracy, speed_accuracy_points
from .val_video import ValVideo, load_val_video, pick_fast_video
from .video_memory import FrameStore, visualize_video_memory

__all__ = [
    'plot_memory_provenance', 'plot_memory_size', 'plot_speed_accuracy', 'side_by_side_clip',
    'compose_side_by_side', 'draw_dashed_box', 'FrameView', 'location_centres',
    'query_locations', 'attention_mass_map', 'query_row_weights', 'mixing_weights',
    'group_sources', 'read_record_of', 'memory_series', 'total_size', 'infer_family',
    'speed_accuracy_points', 'visualize_video_memory', 'FrameStore', 'write_demo_figures',
    'ValVideo', 'load_val_video', 'pick_fast_video'
]
