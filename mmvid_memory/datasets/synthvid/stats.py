"""Statistics of a CocoVID annotation set: FGFA motion IoU splits and counts.

Used to check that SynthVID's speeds span FGFA's slow / medium / fast splits
(an object's motion IoU is its mean box IoU with the same track in frames
t-10..t+10; slow > 0.9, medium 0.7-0.9, fast < 0.7). The motion IoU and the
split ranges are the VID metric's own (:mod:`mmvid_memory.evaluation.functional.vid_eval`),
so a description of a generated set counts objects as the metric will.
"""
from typing import Dict, List

import numpy as np

from ...evaluation.functional.vid_eval import FGFA_MOTION_RANGES, in_motion_range
from ...evaluation.functional.vid_eval import motion_ious as track_motion_ious

MOTION_BINS = ('slow', 'medium', 'fast')
# A value on an edge (0.7, 0.9) is in two of FGFA's (inclusive) ranges; one
# label for it names the middle split.
_LABEL_ORDER = ('medium', 'slow', 'fast')


def motion_ious(annotations: List[dict], images: List[dict], window: int = 10) -> Dict[int, float]:
    """Motion IoU of every annotation, by the VID metric's implementation.

    Args:
        annotations: CocoVID annotations (``id``, ``image_id``,
            ``instance_id``, ``bbox`` as ``[x, y, w, h]``).
        images: CocoVID images (``id``, ``frame_id``; ``video_id`` when the
            set has several videos: tracks are (video, instance) pairs).
        window: Neighbourhood half-width in frames.

    Returns:
        annotation id -> mean IoU with the same track in frames
        ``t - window .. t + window`` other than ``t``; annotations whose
        track appears in no such frame are left out (the metric counts them
        as fast).
    """
    if not annotations:
        return {}
    by_id = {img['id']: img for img in images}
    missing = sorted({a['image_id'] for a in annotations} - set(by_id))
    if missing:
        raise KeyError(f'annotations refer to images that are not listed: {missing[:8]}')
    frames = np.array([by_id[a['image_id']]['frame_id'] for a in annotations], dtype=np.int64)
    videos = [by_id[a['image_id']].get('video_id', 0) for a in annotations]
    xywh = np.array([a['bbox'] for a in annotations], dtype=np.float64).reshape(-1, 4)
    boxes = np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], axis=1)
    values = track_motion_ious(videos, np.array([a['instance_id'] for a in annotations]),
                               frames, boxes, frame_range=window, no_neighbour_value=np.nan)
    return {ann['id']: float(v) for ann, v in zip(annotations, values) if not np.isnan(v)}


def motion_bin(iou: float) -> str:
    """One FGFA split name for a motion IoU (an edge value names ``'medium'``)."""
    for name in _LABEL_ORDER:
        if in_motion_range(iou, *FGFA_MOTION_RANGES[name]):
            return name
    raise ValueError(f'motion IoU {iou} is outside [0, 1]')


def motion_bin_fractions(annotations: List[dict], images: List[dict]) -> Dict[str, float]:
    """Fraction of annotations (with a motion IoU) in each of the metric's splits.

    The splits are the metric's ranges, edges included in both neighbours,
    so the fractions can sum to slightly more than 1.
    """
    values = np.array(list(motion_ious(annotations, images).values()), dtype=np.float64)
    total = max(len(values), 1)
    return {name: float(in_motion_range(values, *FGFA_MOTION_RANGES[name]).sum()) / total
            for name in MOTION_BINS}
