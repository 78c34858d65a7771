"""One video of a CocoVID annotation set (SynthVID val) as frame files and boxes.

Used by the demo figures: the clip and the memory plot need one video's
frames in order, its ground truth, and preferably a video whose objects move
fast (FGFA motion IoU < 0.7), where memory should matter most.
"""
import json
import os.path as osp
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

import numpy as np

SYNTHVID_VAL_ANN = osp.join('annotations', 'synthvid_val.json')
SYNTHVID_IMG_PREFIX = 'Data'
FAST_IOU = 0.7  # FGFA: motion IoU below it is 'fast'


@dataclass
class ValVideo:
    """The first frames of one video.

    Attributes:
        video_id (int): CocoVID video id.
        name (str): the video's name.
        frame_ids (list[int]): (T,) frame ids, increasing.
        img_paths (list[str]): (T,) image files.
        gt (list[dict]): per frame ``bboxes`` (N, 4) x1y1x2y2 float and
            ``labels`` (N,) int (0-based, by category id order).
        fast_fraction (float): share of the video's boxes with motion IoU
            < 0.7 (NaN when no box has a motion IoU).
    """
    video_id: int
    name: str
    frame_ids: List[int] = field(default_factory=list)
    img_paths: List[str] = field(default_factory=list)
    gt: List[Dict[str, np.ndarray]] = field(default_factory=list)
    fast_fraction: float = float('nan')

    def __len__(self) -> int:
        return len(self.frame_ids)


def load_annotations(ann_file: str) -> Dict[str, Any]:
    """A CocoVID JSON (``videos``, ``images``, ``annotations``, ``categories``)."""
    if not osp.isfile(ann_file):
        raise FileNotFoundError(f'annotation file {ann_file!r} does not exist (generate SynthVID '
                                'with mmvid_memory.datasets.synthvid.ensure_synthvid)')
    with open(ann_file) as f:
        data = json.load(f)
    missing = [k for k in ('videos', 'images', 'annotations', 'categories') if k not in data]
    if missing:
        raise KeyError(f'{ann_file} is not a CocoVID file: it lacks {missing}')
    if not data['videos']:
        raise ValueError(f'{ann_file} has no videos')
    return data


def fast_fractions(data: Dict[str, Any]) -> Dict[int, float]:
    """Per video id, the share of its boxes that move fast (motion IoU < 0.7).

    Videos whose boxes have no motion IoU (no box tracked in two frames)
    are left out.
    """
    from mmvid_memory.datasets.synthvid import motion_ious
    ious = motion_ious(data['annotations'], data['images'])
    counts: Dict[int, List[int]] = defaultdict(lambda: [0, 0])  # fast, all
    for ann in data['annotations']:
        if ann['id'] in ious:
            counts[ann['video_id']][0] += int(ious[ann['id']] < FAST_IOU)
            counts[ann['video_id']][1] += 1
    return {vid: fast / total for vid, (fast, total) in counts.items()}


def pick_fast_video(data: Dict[str, Any], fractions: Optional[Dict[int, float]] = None) -> int:
    """Index (place in ``data['videos']``) of the video with the largest share
    of fast boxes; the first video when none has motion.

    Args:
        data: the CocoVID annotations.
        fractions: :func:`fast_fractions` of ``data`` when already computed.
    """
    fractions = fast_fractions(data) if fractions is None else fractions
    scores = [fractions.get(v['id'], -1.0) for v in data['videos']]
    return int(np.argmax(scores))  # the first of equals


def load_val_video(data_root: str, video_index: Optional[int] = None,
                   max_frames: Optional[int] = None, ann_file: str = SYNTHVID_VAL_ANN,
                   img_prefix: str = SYNTHVID_IMG_PREFIX) -> ValVideo:
    """The first ``max_frames`` frames of one video of a CocoVID set.

    Args:
        data_root (str): e.g. ``data/synthvid``.
        video_index (int, optional): place of the video in the file; default
            the one with most fast motion (:func:`pick_fast_video`).
        max_frames (int, optional): keep at most this many frames (from the
            first, as an online detector sees them).
        ann_file (str): annotation file, relative to ``data_root``.
        img_prefix (str): image folder, relative to ``data_root``.

    Returns:
        ValVideo: the frames, in order.
    """
    if max_frames is not None and max_frames < 1:
        raise ValueError(f'max_frames must be >= 1, got {max_frames}')
    data = load_annotations(osp.join(data_root, ann_file))
    fractions = fast_fractions(data)
    if video_index is None:
        video_index = pick_fast_video(data, fractions)
    if not 0 <= video_index < len(data['videos']):
        raise IndexError(f'video index {video_index} outside the {len(data["videos"])} videos '
                         f'of {osp.join(data_root, ann_file)}')
    video = data['videos'][video_index]
    images = sorted((img for img in data['images'] if img['video_id'] == video['id']),
                    key=lambda img: img['frame_id'])
    if not images:
        raise ValueError(f'video {video["name"]!r} has no frames in {ann_file}')
    images = images[:max_frames]
    cat2label = {c['id']: i for i, c in enumerate(sorted(data['categories'],
                                                         key=lambda c: c['id']))}
    boxes_of: Dict[int, List[dict]] = defaultdict(list)
    for ann in data['annotations']:
        boxes_of[ann['image_id']].append(ann)
    out = ValVideo(video_id=int(video['id']), name=str(video.get('name', video['id'])),
                   fast_fraction=fractions.get(video['id'], float('nan')))
    for img in images:
        path = osp.join(data_root, img_prefix, img['file_name'])
        if not osp.isfile(path):
            raise FileNotFoundError(f'frame {img["frame_id"]} of video {out.name!r}: image '
                                    f'{path!r} does not exist')
        anns = boxes_of[img['id']]
        xywh = np.array([a['bbox'] for a in anns], dtype=np.float64).reshape(-1, 4)
        out.frame_ids.append(int(img['frame_id']))
        out.img_paths.append(path)
        out.gt.append(dict(bboxes=np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], 1),
                           labels=np.array([cat2label[a['category_id']] for a in anns],
                                           dtype=np.int64)))
    return out
