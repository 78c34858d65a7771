"""Read and check CocoVID annotation files.

The schema (written by the ImageNet VID converter and the SynthVID generator)::

    categories:  [{id, name, ...}]                  e.g. wnid / encode_name
    videos:      [{id, name}]
    images:      [{id, video_id, frame_id, file_name, width, height}]
    annotations: [{id, image_id, video_id, instance_id, category_id,
                   bbox: [x, y, w, h], area, iscrowd, occluded, generated}]

Frames without objects stay in ``images``. Every error names the file and the
offending id, so a broken conversion can be found without a debugger.
"""
import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from mmengine import fileio

# Category fields besides ``name`` under which a class may be listed (the
# ImageNet VID converter keeps the WordNet id next to the readable name).
CATEGORY_ALIAS_KEYS = ('name', 'wnid', 'encode_name', 'synset')

_REQUIRED_IMAGE_KEYS = ('id', 'file_name', 'width', 'height')
_REQUIRED_VIDEO_IMAGE_KEYS = ('video_id', 'frame_id')
_REQUIRED_ANN_KEYS = ('id', 'image_id', 'category_id', 'bbox')


class CocoVIDFormatError(ValueError):
    """A CocoVID annotation file that does not follow the schema."""


@dataclass
class CocoVIDContent:
    """Parsed CocoVID file, grouped into videos.

    Attributes:
        classes: class names, label ``i`` is ``classes[i]``.
        cat2label: category id -> label, only for the categories in ``classes``.
        videos: one dict per video in file order, ``{'video_id', 'name',
            'frames'}``; ``frames`` are frame dicts sorted by ``frame_id``,
            each with the image's keys plus ``img_id`` and ``instances``
            (``bbox`` as x1, y1, x2, y2, ``bbox_label``, ``instance_id``,
            ``ignore_flag`` ...).
        num_skipped_boxes: annotations dropped as degenerate (w or h < 1,
            area <= 0, or no overlap with the image).
    """
    classes: Tuple[str, ...]
    cat2label: Dict[int, int]
    videos: List[dict] = field(default_factory=list)
    num_skipped_boxes: int = 0


def load_cocovid(ann_file: str, classes: Optional[Sequence[str]] = None,
                 load_as_video: bool = True,
                 backend_args: Optional[dict] = None) -> CocoVIDContent:
    """Load and check a CocoVID JSON file.

    Args:
        ann_file (str): path (any mmengine file backend).
        classes (Sequence[str], optional): classes to keep, in label order;
            each must match a category's ``name`` (or ``wnid`` /
            ``encode_name`` / ``synset``). None keeps all categories sorted by
            id, named by ``name``.
        load_as_video (bool): if False every image is a one-frame video
            (ImageNet DET), with ``video_id = -(img_id + 1)`` so that it never
            collides with a real video, ``frame_id = 0``.
        backend_args (dict, optional): mmengine file backend arguments.

    Returns:
        CocoVIDContent: the parsed file.

    Raises:
        CocoVIDFormatError: on a schema violation, naming the file and id.
    """
    with fileio.get_local_path(ann_file, backend_args=backend_args) as local_path:
        with open(local_path, 'r') as f:
            try:
                content = json.load(f)
            except json.JSONDecodeError as err:
                raise CocoVIDFormatError(f'{ann_file}: not valid JSON ({err})') from err
    return parse_cocovid(content, source=str(ann_file), classes=classes,
                         load_as_video=load_as_video)


def _require(entry: Mapping, keys: Sequence[str], what: str, source: str) -> None:
    missing = [k for k in keys if k not in entry]
    if missing:
        ident = entry.get('id', '<no id>')
        raise CocoVIDFormatError(
            f'{source}: {what} id={ident} lacks key(s) {missing} '
            f'(has {sorted(entry.keys())})')


def resolve_categories(categories: Sequence[Mapping], classes: Optional[Sequence[str]],
                       source: str) -> Tuple[Tuple[str, ...], Dict[int, int]]:
    """Map category ids to labels of ``classes``.

    Args:
        categories: the file's ``categories`` list.
        classes: wanted class names or None for all categories.
        source: file name for error messages.

    Returns:
        tuple: the class names (label order) and ``{category_id: label}``.
    """
    seen_ids = set()
    for cat in categories:
        _require(cat, ('id', 'name'), 'category', source)
        if cat['id'] in seen_ids:
            raise CocoVIDFormatError(f'{source}: duplicate category id={cat["id"]}')
        seen_ids.add(cat['id'])
    if classes is None:
        ordered = sorted(categories, key=lambda c: c['id'])
        return tuple(str(c['name']) for c in ordered), {c['id']: i for i, c in enumerate(ordered)}
    cat2label: Dict[int, int] = {}
    missing = []
    for label, name in enumerate(classes):
        hits = [c for c in categories if any(c.get(k) == name for k in CATEGORY_ALIAS_KEYS)]
        if not hits:
            missing.append(name)
            continue
        if len(hits) > 1:
            raise CocoVIDFormatError(
                f'{source}: class {name!r} matches several categories '
                f'{[c["id"] for c in hits]}')
        cat2label[hits[0]['id']] = label
    if missing:
        available = [c['name'] for c in categories]
        raise CocoVIDFormatError(
            f'{source}: class(es) {missing} not among the categories {available}; '
            'set metainfo=dict(classes=...) to the classes of this file')
    return tuple(classes), cat2label


def _parse_instance(ann: Mapping, img: Mapping, label: int, index_in_image: int,
                    needs_instance_id: bool, source: str) -> Optional[dict]:
    bbox = ann['bbox']
    if not isinstance(bbox, (list, tuple)) or len(bbox) != 4:
        raise CocoVIDFormatError(
            f'{source}: annotation id={ann["id"]} has bbox {bbox!r}, expected [x, y, w, h]')
    x1, y1, w, h = (float(v) for v in bbox)
    inter_w = max(0.0, min(x1 + w, img['width']) - max(x1, 0.0))
    inter_h = max(0.0, min(y1 + h, img['height']) - max(y1, 0.0))
    if inter_w * inter_h == 0 or w < 1 or h < 1 or float(ann.get('area', w * h)) <= 0:
        return None
    if 'instance_id' in ann:
        instance_id = int(ann['instance_id'])
    elif needs_instance_id:
        raise CocoVIDFormatError(
            f'{source}: annotation id={ann["id"]} (image id={ann["image_id"]}) lacks '
            "'instance_id', which video annotations need (the track id)")
    else:
        # A DET image is its own video: its objects are distinct tracks.
        instance_id = index_in_image
    instance = dict(
        bbox=[x1, y1, x1 + w, y1 + h],
        bbox_label=label,
        instance_id=instance_id,
        ignore_flag=int(bool(ann.get('iscrowd', 0)) or bool(ann.get('ignore', False))),
        ann_id=ann['id'])
    for key in ('occluded', 'generated'):
        if key in ann:
            instance[key] = ann[key]
    return instance


def parse_cocovid(content: Mapping[str, Any], source: str = '<dict>',
                  classes: Optional[Sequence[str]] = None,
                  load_as_video: bool = True) -> CocoVIDContent:
    """Check a loaded CocoVID dict and group it into videos.

    Args:
        content: the JSON content.
        source: file name for error messages.
        classes: see :func:`load_cocovid`.
        load_as_video: see :func:`load_cocovid`.

    Returns:
        CocoVIDContent: the parsed content.
    """
    if not isinstance(content, Mapping):
        raise CocoVIDFormatError(f'{source}: top level must be an object, got '
                                 f'{type(content).__name__}')
    required = ['images', 'annotations', 'categories'] + (['videos'] if load_as_video else [])
    missing = [k for k in required if k not in content]
    if missing:
        raise CocoVIDFormatError(f'{source}: missing top-level key(s) {missing} '
                                 f'(has {sorted(content.keys())})')
    class_names, cat2label = resolve_categories(content['categories'], classes, source)
    category_ids = {c['id'] for c in content['categories']}

    video_order: List[Any] = []
    video_names: Dict[Any, str] = {}
    if load_as_video:
        for video in content['videos']:
            _require(video, ('id',), 'video', source)
            if video['id'] in video_names:
                raise CocoVIDFormatError(f'{source}: duplicate video id={video["id"]}')
            video_names[video['id']] = video.get('name', str(video['id']))
            video_order.append(video['id'])

    images: Dict[Any, dict] = {}
    for img in content['images']:
        _require(img, _REQUIRED_IMAGE_KEYS, 'image', source)
        if load_as_video:
            _require(img, _REQUIRED_VIDEO_IMAGE_KEYS, 'image', source)
            if img['video_id'] not in video_names:
                raise CocoVIDFormatError(
                    f'{source}: image id={img["id"]} points to unknown video '
                    f'id={img["video_id"]}')
        if img['id'] in images:
            raise CocoVIDFormatError(f'{source}: duplicate image id={img["id"]}')
        images[img['id']] = img

    anns_per_image: Dict[Any, List[Mapping]] = defaultdict(list)
    seen_ann_ids = set()
    for ann in content['annotations']:
        _require(ann, _REQUIRED_ANN_KEYS, 'annotation', source)
        if ann['id'] in seen_ann_ids:
            raise CocoVIDFormatError(f'{source}: duplicate annotation id={ann["id"]}')
        seen_ann_ids.add(ann['id'])
        img = images.get(ann['image_id'])
        if img is None:
            raise CocoVIDFormatError(
                f'{source}: annotation id={ann["id"]} points to unknown image '
                f'id={ann["image_id"]}')
        if ann['category_id'] not in category_ids:
            raise CocoVIDFormatError(
                f'{source}: annotation id={ann["id"]} has category_id={ann["category_id"]}, '
                f'not in categories {sorted(category_ids)}')
        if load_as_video and 'video_id' in ann and ann['video_id'] != img['video_id']:
            raise CocoVIDFormatError(
                f'{source}: annotation id={ann["id"]} has video_id={ann["video_id"]} but '
                f'its image id={img["id"]} belongs to video id={img["video_id"]}')
        anns_per_image[ann['image_id']].append(ann)

    if load_as_video:
        frames_per_video: Dict[Any, List[dict]] = defaultdict(list)
        for img in images.values():
            frames_per_video[img['video_id']].append(img)
    else:
        video_order = [-(img_id + 1) if isinstance(img_id, int) else ('det', img_id)
                       for img_id in images]
        video_names = {vid: str(img['file_name']) for vid, img in zip(video_order, images.values())}
        frames_per_video = {vid: [img] for vid, img in zip(video_order, images.values())}

    parsed = CocoVIDContent(classes=class_names, cat2label=cat2label)
    for video_id in video_order:
        imgs = frames_per_video.get(video_id, [])
        if not imgs:
            continue  # a listed video without frames has nothing to train or test on
        if load_as_video:
            imgs = sorted(imgs, key=lambda i: i['frame_id'])
            frame_ids = [i['frame_id'] for i in imgs]
            for a, b in zip(frame_ids, frame_ids[1:]):
                if a == b:
                    dup = [i['id'] for i in imgs if i['frame_id'] == a]
                    raise CocoVIDFormatError(
                        f'{source}: video id={video_id} has frame_id={a} twice '
                        f'(image ids {dup})')
        frames = []
        for img in imgs:
            frame = dict(img)
            frame['img_id'] = img['id']
            frame['video_id'] = video_id
            frame['frame_id'] = int(img['frame_id']) if load_as_video else 0
            instances = []
            for k, ann in enumerate(anns_per_image.get(img['id'], [])):
                label = cat2label.get(ann['category_id'])
                if label is None:
                    continue  # a category outside the chosen classes
                instance = _parse_instance(ann, img, label, k, load_as_video, source)
                if instance is None:
                    parsed.num_skipped_boxes += 1
                    continue
                instances.append(instance)
            if load_as_video:
                track_ids = [inst['instance_id'] for inst in instances]
                if len(set(track_ids)) != len(track_ids):
                    dup = sorted({t for t in track_ids if track_ids.count(t) > 1})
                    raise CocoVIDFormatError(
                        f'{source}: image id={img["id"]} (video id={video_id}) has '
                        f'instance_id(s) {dup} on more than one box')
            frame['instances'] = instances
            frames.append(frame)
        parsed.videos.append(dict(video_id=video_id, name=video_names[video_id], frames=frames))
    return parsed
