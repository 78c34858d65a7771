"""Run a memory detector over one video of a data set and picture its memory.

Used by ``tools/analysis_tools/vis_memory.py``; importable for notebooks.
"""
import json
import math
import os
import os.path as osp
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

import numpy as np
import torch.nn as nn

from .geometry import FrameView
from .memory_size_plot import plot_memory_size
from .provenance_plot import plot_memory_provenance


def load_image(path: str) -> np.ndarray:
    """(H, W, 3) uint8 BGR image from a local or backend path."""
    import mmcv
    from mmengine import fileio
    image = mmcv.imfrombytes(fileio.get(path), flag='color')
    if image is None:
        raise IOError(f'cannot decode image {path!r}')
    return image


class FrameStore(Mapping):
    """Frames of a video by frame id, loaded from their files when asked.

    Keeps only each frame's path and geometry, so a long video costs no
    image memory; the provenance figure reads the few frames it shows.
    """

    def __init__(self) -> None:
        self._frames: Dict[int, Tuple[str, Tuple[float, float], Tuple[int, int]]] = {}

    def add(self, frame_id: int, img_path: str, scale_factor: Sequence[float],
            input_shape: Sequence[int]) -> None:
        self._frames[int(frame_id)] = (str(img_path), tuple(float(v) for v in scale_factor[:2]),
                                       tuple(int(v) for v in input_shape[:2]))

    def __getitem__(self, frame_id: int) -> FrameView:
        path, scale_factor, input_shape = self._frames[int(frame_id)]
        return FrameView(load_image(path), scale_factor, input_shape)

    def __iter__(self) -> Iterator[int]:
        return iter(self._frames)

    def __len__(self) -> int:
        return len(self._frames)


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def visualize_video_memory(model: nn.Module, dataset: Any, video_index: int, frame_index: int,
                           out_dir: str, point: str = 'pixel.0',
                           query: Optional[Sequence[float]] = None,
                           object_id: Optional[int] = None, top_k: int = 8,
                           max_frames: Optional[int] = None, score_thr: float = 0.3,
                           dpi: float = 100) -> Dict[str, Any]:
    """Detect one video online and write its memory pictures.

    The video's frames run in order with a fresh memory; right after frame
    ``frame_index`` the provenance / attention figure of memory point
    ``point`` is drawn (:func:`plot_memory_provenance`); at the end the memory
    size per frame (:func:`plot_memory_size`). A JSON file keeps the numbers.

    Args:
        model: a memory detector (``new_video_state``/``predict_frame``)
            with an OGEM pixel memory, in eval mode (``init_detector``).
        dataset: the test data set (items with ``inputs`` and
            ``data_samples``; frames of a video grouped in order).
        video_index (int): which video (its place in the data set, from 0).
        frame_index (int): which frame of it (its place, from 0).
        out_dir (str): folder for ``provenance_v<v>_f<f>.png``,
            ``memory_size_v<v>.png`` and ``memory_v<v>.json``.
        point (str): memory point to picture, e.g. 'pixel.0'.
        query: (x, y) or (x1, y1, x2, y2) in frame pixels (None: where
            memory concentrates).
        object_id (int, optional): picture where this stored object attends.
        top_k (int): memory sources shown.
        max_frames (int, optional): stop the video after this many frames
            (at least ``frame_index + 1``); default the whole video.
        score_thr (float): detections drawn above it.
        dpi (float): resolution of the figures.

    Returns:
        dict: ``video_id``, ``frame_id``, ``files`` (the three paths),
        ``provenance`` (the figure's summary) and ``frames`` (per frame
        ``frame_id``, ``is_key_frame``, ``memory_stats``).
    """
    from mmvid_memory.apis import is_memory_detector, predict_packed
    from mmvid_memory.datasets import video_item_groups
    if not is_memory_detector(model):
        raise TypeError(f'{type(model).__name__} has no video memory: vis_memory needs a '
                        'MemoryVideoDetector with an OGEM pixel memory')
    groups = video_item_groups(dataset)
    if not 0 <= video_index < len(groups):
        raise IndexError(f'video index {video_index} outside the {len(groups)} videos of the '
                         'test data set')
    group = groups[video_index]
    if not 0 <= frame_index < len(group):
        raise IndexError(f'frame {frame_index} outside video {video_index}, which has '
                         f'{len(group)} frames')
    if max_frames is not None and max_frames < 1:
        raise ValueError(f'max_frames must be >= 1, got {max_frames}')
    num_run = len(group) if max_frames is None else min(len(group),
                                                        max(max_frames, frame_index + 1))
    video_id = dataset.get_data_info(int(group[0])).get('video_id', video_index)
    vstate = model.new_video_state(video_id)
    if point not in vstate.points:
        raise KeyError(f'memory point {point!r} not in the model; it has '
                       f'{sorted(vstate.points)}')
    class_names = tuple((getattr(model, 'dataset_meta', None) or {}).get('classes') or ()) or None
    os.makedirs(out_dir, exist_ok=True)
    store = FrameStore()
    frames: List[Dict[str, Any]] = []
    provenance_file = osp.join(out_dir, f'provenance_v{video_index}_f{frame_index}.png')
    summary: Dict[str, Any] = {}
    try:
        for position, idx in enumerate(group[:num_run]):
            item = dataset[int(idx)]
            result = predict_packed(model, item['inputs'], item['data_samples'], vstate)
            meta = result.metainfo
            frame_id = int(meta.get('frame_id', position))
            store.add(frame_id, meta['img_path'], meta.get('scale_factor', (1.0, 1.0)),
                      meta.get('batch_input_shape', meta.get('img_shape')))
            frames.append(dict(frame_id=frame_id,
                               is_key_frame=bool(meta.get('is_key_frame', True)),
                               memory_stats=dict(meta.get('memory_stats', {}))))
            if position == frame_index:
                summary = plot_memory_provenance(
                    store[frame_id], vstate.points[point], query, store, provenance_file,
                    top_k=top_k, object_id=object_id, frame_id=frame_id, detections=result,
                    class_names=class_names, score_thr=score_thr,
                    title=f'video {video_id}, frame {frame_id}: memory point {point}', dpi=dpi)
    finally:
        vstate.reset()
    size_file = osp.join(out_dir, f'memory_size_v{video_index}.png')
    plot_memory_size(frames, size_file, title=f'Memory size per frame, video {video_id}',
                     dpi=dpi)
    report = dict(video_id=video_id, video_index=video_index, frame_index=frame_index,
                  frame_id=frames[frame_index]['frame_id'], point=point,
                  files=dict(provenance=provenance_file, memory_size=size_file,
                             json=osp.join(out_dir, f'memory_v{video_index}.json')),
                  provenance=summary, frames=frames)
    with open(report['files']['json'], 'w') as f:
        json.dump(_json_safe(report), f, indent=1)
    return report
