"""Statistics of a CocoVID annotation set: FGFA motion IoU bins and counts.

Used to check that SynthVID's speeds span FGFA's slow / medium / fast bins
(an object's motion IoU is its mean box IoU with the same track in frames
t-10..t+10; slow > 0.9, medium 0.7-0.9, fast < 0.7). The VID metric has its
own implementation; this one only describes a generated set.
"""
from collections import defaultdict
from typing import Dict, List, Sequence

import numpy as np

MOTION_BINS = ('slow', 'medium', 'fast')


def box_iou_xywh(box: Sequence[float], others: np.ndarray) -> np.ndarray:
    """IoU of one ``[x, y, w, h]`` box with ``(N, 4)`` boxes; returns ``(N,)``."""
    x1 = np.maximum(box[0], others[:, 0])
    y1 = np.maximum(box[1], others[:, 1])
    x2 = np.minimum(box[0] + box[2], others[:, 0] + others[:, 2])
    y2 = np.minimum(box[1] + box[3], others[:, 1] + others[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    union = box[2] * box[3] + others[:, 2] * others[:, 3] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def motion_ious(annotations: List[dict], images: List[dict], window: int = 10) -> Dict[int, float]:
    """Motion IoU of every annotation.

    Args:
        annotations: CocoVID annotations (``id``, ``image_id``,
            ``instance_id``, ``bbox``).
        images: CocoVID images (``id``, ``frame_id``).
        window: Neighbourhood half-width in frames.

    Returns:
        annotation id -> mean IoU with the same instance in frames
        ``t - window .. t + window`` other than ``t``; annotations whose
        instance appears in no such frame are left out.
    """
    frame_of = {img['id']: img['frame_id'] for img in images}
    tracks = defaultdict(list)
    for ann in annotations:
        tracks[ann['instance_id']].append(ann)
    out = {}
    for anns in tracks.values():
        frames = np.array([frame_of[a['image_id']] for a in anns])
        boxes = np.array([a['bbox'] for a in anns], dtype=np.float64)
        for i, ann in enumerate(anns):
            near = (np.abs(frames - frames[i]) <= window) & (frames != frames[i])
            if near.any():
                out[ann['id']] = float(box_iou_xywh(boxes[i], boxes[near]).mean())
    return out


def motion_bin(iou: float) -> str:
    """FGFA's bin of a motion IoU."""
    return 'slow' if iou > 0.9 else ('medium' if iou >= 0.7 else 'fast')


def motion_bin_fractions(annotations: List[dict], images: List[dict]) -> Dict[str, float]:
    """Fraction of annotations (with a motion IoU) in each FGFA bin."""
    ious = motion_ious(annotations, images)
    counts = {name: 0 for name in MOTION_BINS}
    for value in ious.values():
        counts[motion_bin(value)] += 1
    total = max(sum(counts.values()), 1)
    return {name: counts[name] / total for name in MOTION_BINS}
