"""Write a tiny CocoVID data root (for tests and smoke runs, not for training)."""
import json
import os
import os.path as osp
from typing import Dict, List, Sequence, Tuple

import cv2
import numpy as np


def make_tiny_cocovid(root: str, ann_name: str, frames_per_video: Sequence[int] = (5, 3),
                      classes: Sequence[str] = ('circle', 'square', 'triangle'),
                      image_size: Tuple[int, int] = (48, 64), data_subdir: str = 'VID/train',
                      as_det: bool = False, empty_frames: Sequence[Tuple[int, int]] = (),
                      id_offset: int = 0, seed: int = 0) -> str:
    """Write frames and a CocoVID JSON with one moving object per video.

    Layout: ``<root>/Data/<data_subdir>/<video name>/<frame:06d>.png`` and
    ``<root>/annotations/<ann_name>.json`` (``file_name`` relative to
    ``<root>/Data/``), the schema of the ImageNet VID converter and SynthVID.
    Video ``v`` shows class ``v % len(classes)``, moving right by ``v + 1``
    pixels per frame; with ``as_det`` every frame is its own one-frame video
    (the DET layout).

    Args:
        root (str): data root.
        ann_name (str): annotation file name without ``.json``.
        frames_per_video (Sequence[int]): frames of each video.
        classes (Sequence[str]): category names (ids 1..C).
        image_size (tuple): (height, width).
        data_subdir (str): image folder under ``Data/``.
        as_det (bool): one-frame videos.
        empty_frames (Sequence[tuple]): (video, frame) pairs without object.
        id_offset (int): added to image / video / annotation ids (to keep two
            files' ids apart).
        seed (int): background noise seed.

    Returns:
        str: path of the JSON file.
    """
    rng = np.random.default_rng(seed)
    height, width = image_size
    content: Dict[str, List[dict]] = dict(
        categories=[dict(id=i + 1, name=name, wnid=f'n{i:08d}') for i, name in enumerate(classes)],
        videos=[], images=[], annotations=[])
    empty = set(map(tuple, empty_frames))
    img_id = ann_id = video_id = id_offset
    for v, num_frames in enumerate(frames_per_video):
        name = f'{data_subdir}/video_{v:03d}'
        if not as_det:
            video_id += 1
            content['videos'].append(dict(id=video_id, name=name))
        for f in range(num_frames):
            if as_det:
                video_id += 1
                content['videos'].append(dict(id=video_id, name=f'{name}_{f:06d}'))
            img_id += 1
            file_name = f'{name}/{f:06d}.png'
            img = rng.integers(0, 60, size=(height, width, 3), dtype=np.uint8)
            box = [2.0 + f * (v + 1), 4.0 + v, 16.0 + v * 2, 12.0]  # x, y, w, h
            if (v, f) not in empty:
                x, y, w, h = (int(c) for c in box)
                cv2.rectangle(img, (x, y), (x + w, y + h), (40 + 60 * (v % 3), 200, 90), -1)
                ann_id += 1
                content['annotations'].append(dict(
                    id=ann_id, image_id=img_id, video_id=video_id, instance_id=v,
                    category_id=v % len(classes) + 1, bbox=box, area=box[2] * box[3],
                    iscrowd=0, occluded=False, generated=False))
            path = osp.join(root, 'Data', file_name)
            os.makedirs(osp.dirname(path), exist_ok=True)
            cv2.imwrite(path, img)
            content['images'].append(dict(
                id=img_id, video_id=video_id, frame_id=0 if as_det else f,
                file_name=file_name, width=width, height=height))
    ann_path = osp.join(root, 'annotations', f'{ann_name}.json')
    os.makedirs(osp.dirname(ann_path), exist_ok=True)
    with open(ann_path, 'w') as f:
        json.dump(content, f)
    return ann_path

