"""The CocoVID annotation schema shared by the ILSVRC conversion and SynthVID.

Both writers build their JSON through :class:`CocoVIDBuilder`, so the two files
have exactly the same keys and value types (see ``docs/data_formats.md``)::

    categories:  {id, name, encode_name}              ids from 1
    videos:      {id, name}                           ids from 1
    images:      {id, video_id, frame_id, file_name, width, height}
                 ids from 1, frame_id from 0, file_name relative to ``Data/``
    annotations: {id, image_id, video_id, instance_id, category_id,
                  bbox, area, iscrowd, occluded, generated}
                 ids from 1, bbox = [x, y, w, h] in pixels,
                 instance_id unique over the whole file (from 1),
                 iscrowd / occluded / generated are the integers 0 or 1.
"""
import json
import math
from typing import Any, Dict, Hashable, List, Optional, Sequence, Tuple

from ...utils.atomic import atomic_output


class CocoVIDBuilder:
    """Accumulates videos, frames and boxes and assigns CocoVID ids.

    Ids are assigned in insertion order, so a deterministic insertion order
    gives a byte-identical JSON.

    Args:
        categories: ``(name, encode_name)`` pairs; category ids are their
            1-based positions.
    """

    def __init__(self, categories: Sequence[Tuple[str, Optional[str]]]) -> None:
        self.categories = [
            dict(id=i, name=name, encode_name=code)
            for i, (name, code) in enumerate(categories, 1)
        ]
        self.videos: List[Dict[str, Any]] = []
        self.images: List[Dict[str, Any]] = []
        self.annotations: List[Dict[str, Any]] = []
        self._instance_ids: Dict[Tuple[int, Hashable], int] = {}

    @property
    def num_instances(self) -> int:
        """Number of distinct instance ids handed out so far."""
        return len(self._instance_ids)

    def add_video(self, name: str) -> int:
        """Add a video and return its id (from 1)."""
        video_id = len(self.videos) + 1
        self.videos.append(dict(id=video_id, name=name))
        return video_id

    def add_image(self, video_id: int, frame_id: int, file_name: str, width: int,
                  height: int) -> int:
        """Add a frame of ``video_id`` and return its image id (from 1).

        Args:
            video_id: Id returned by :meth:`add_video`.
            frame_id: Index of the frame in its video, from 0.
            file_name: Path relative to the ``Data/`` folder, with ``/``.
            width: Image width in pixels.
            height: Image height in pixels.
        """
        if width <= 0 or height <= 0:
            raise ValueError(f'image {file_name!r} has a non-positive size '
                             f'{width}x{height}')
        image_id = len(self.images) + 1
        self.images.append(
            dict(id=image_id, video_id=video_id, frame_id=int(frame_id),
                 file_name=file_name, width=int(width), height=int(height)))
        return image_id

    def add_annotation(self, image_id: int, video_id: int, track_key: Hashable,
                       category_id: int, bbox: Sequence[float], occluded: bool = False,
                       generated: bool = False) -> int:
        """Add one box and return its annotation id (from 1).

        Args:
            image_id: Id returned by :meth:`add_image`.
            video_id: Id of the video the image belongs to.
            track_key: Identifies the track inside its video (the XML trackid,
                a SynthVID track index, ...); boxes with the same
                ``(video_id, track_key)`` share one ``instance_id``.
            category_id: 1-based category id.
            bbox: ``[x, y, w, h]`` in pixels.
            occluded: Whether the object is marked occluded.
            generated: Whether the box was interpolated, not drawn by hand.
        """
        if not 1 <= category_id <= len(self.categories):
            raise ValueError(f'category_id {category_id} is outside 1..'
                             f'{len(self.categories)}')
        x, y, w, h = bbox
        if not all(math.isfinite(float(v)) for v in bbox):
            raise ValueError(f'bbox {list(bbox)} of image {image_id} has a non-finite '
                             'coordinate (NaN or infinity)')
        if w < 0 or h < 0:
            raise ValueError(f'bbox {list(bbox)} of image {image_id} has a negative size')
        key = (video_id, track_key)
        instance_id = self._instance_ids.setdefault(key, len(self._instance_ids) + 1)
        ann_id = len(self.annotations) + 1
        self.annotations.append(
            dict(id=ann_id, image_id=image_id, video_id=video_id,
                 instance_id=instance_id, category_id=int(category_id),
                 bbox=[x, y, w, h], area=w * h, iscrowd=0,
                 occluded=int(bool(occluded)), generated=int(bool(generated))))
        return ann_id

    def to_dict(self) -> Dict[str, List[Dict[str, Any]]]:
        """The CocoVID dictionary (the lists are shared, not copied)."""
        return dict(categories=self.categories, videos=self.videos,
                    images=self.images, annotations=self.annotations)


def write_json_atomic(obj: Any, path: str, indent: Optional[int] = None) -> None:
    """Write ``obj`` as JSON to ``path`` through a temporary file and a rename.

    A crash or an exception while writing leaves any previous ``path``
    untouched and removes the temporary file; a temporary file left by a
    killed writer is removed by the next write of ``path``
    (:func:`mmvid_memory.utils.atomic.atomic_output`). NaN and infinities are
    refused: they are not JSON.

    Args:
        obj: JSON-serialisable object.
        path: Destination file; its folder is created if missing.
        indent: ``json.dump`` indentation; ``None`` writes compactly.

    Raises:
        ValueError: ``obj`` holds a NaN or infinite float.
    """
    separators = (',', ':') if indent is None else None
    # Serialised before the file is opened: a value JSON cannot hold fails
    # without touching the disk.
    text = json.dumps(obj, indent=indent, separators=separators, allow_nan=False)
    with atomic_output(path, 'w') as f:
        f.write(text)
