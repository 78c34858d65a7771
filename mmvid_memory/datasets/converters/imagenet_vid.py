"""ILSVRC2015 VID and DET annotations to CocoVID JSON.

Writes, under ``out_dir``:

- ``imagenet_vid_train.json`` and ``imagenet_vid_val.json``: every frame of
  every snippet (frames without objects included);
- ``imagenet_det_30cls.json``: the DET training images holding at least one
  of the 30 VID classes, each a one-frame video; boxes of other DET classes
  are dropped.

``file_name`` is relative to ``<root>/Data`` (``VID/train/<snippet>/000000.JPEG``,
``DET/train/<image_id>.JPEG``), so one ``data_prefix`` serves VID and DET.
"""
import os.path as osp
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

from tqdm import tqdm

from .cocovid import CocoVIDBuilder, write_json_atomic
from .ilsvrc_lists import (det_train_images, snippet_frames_on_disk, vid_train_snippets,
                           vid_val_frames)
from .ilsvrc_meta import IMAGENET_VID_CLASSES, IMAGENET_VID_WNID_TO_ID, vid_categories
from .ilsvrc_xml import InvalidAnnotationError, XmlFrame, parse_ilsvrc_xml

#: split name -> output file name.
OUTPUT_FILES = {
    'vid_train': 'imagenet_vid_train.json',
    'vid_val': 'imagenet_vid_val.json',
    'det': 'imagenet_det_30cls.json',
}


@dataclass
class ConversionReport:
    """What one split's conversion produced and what it skipped.

    Attributes:
        split: ``vid_train``, ``vid_val`` or ``det``.
        out_file: The JSON written.
        videos / images / annotations / instances: Counts in the JSON.
        empty_images: Images kept without any box.
        skipped: ``(file, reason)`` of every invalid item skipped under
            ``skip_invalid`` (a whole VID snippet, or one DET image).
        dropped_boxes: DET boxes of non-VID classes.
        dropped_images: DET images left without a VID box.
        outside_boxes: Annotation file -> number of its boxes dropped because
            they lie wholly outside the image (zero area once clipped).
        class_counts: Boxes per class name.
        source: Where the image list came from.
    """
    split: str
    out_file: str = ''
    videos: int = 0
    images: int = 0
    annotations: int = 0
    instances: int = 0
    empty_images: int = 0
    skipped: List[Tuple[str, str]] = field(default_factory=list)
    dropped_boxes: int = 0
    dropped_images: int = 0
    outside_boxes: Dict[str, int] = field(default_factory=dict)
    class_counts: Dict[str, int] = field(default_factory=dict)
    source: str = ''

    def summary(self) -> str:
        """A few human-readable lines."""
        lines = [f'[{self.split}] {self.out_file}: {self.videos} videos, {self.images} images '
                 f'({self.empty_images} without boxes), {self.annotations} boxes, '
                 f'{self.instances} instances']
        if self.source:
            lines.append(f'  images from: {self.source}')
        if self.split == 'det':
            lines.append(f'  dropped {self.dropped_boxes} non-VID boxes and '
                         f'{self.dropped_images} images without a VID box')
        if self.outside_boxes:
            total = sum(self.outside_boxes.values())
            lines.append(f'  dropped {total} box(es) wholly outside their image (zero area '
                         f'once clipped) in {len(self.outside_boxes)} file(s):')
            shown = sorted(self.outside_boxes.items())
            lines += [f'    {path}: {count}' for path, count in shown[:20]]
            if len(shown) > 20:
                lines.append(f'    ... and {len(shown) - 20} more file(s)')
        if self.skipped:
            lines.append(f'  skipped {len(self.skipped)} invalid item(s):')
            lines += [f'    {path}: {reason}' for path, reason in self.skipped]
        return '\n'.join(lines)


def _int_if_integral(value: float) -> float:
    return int(value) if float(value).is_integer() else value


def _xywh(bbox: Sequence[float]) -> List[float]:
    x1, y1, x2, y2 = (_int_if_integral(v) for v in bbox)
    return [x1, y1, _int_if_integral(x2 - x1), _int_if_integral(y2 - y1)]


def _check_contiguous(frames: List[int], where: str) -> None:
    if frames != list(range(len(frames))):
        missing = sorted(set(range(max(frames, default=-1) + 1)) - set(frames))
        raise InvalidAnnotationError(
            where, f'frames must be numbered 0..{len(frames) - 1} in order; '
            f'missing or misplaced: {missing[:5] or frames[:5]}')


def _read_snippet(root: str, split: str, snippet: str,
                  frames: List[int]) -> List[Tuple[str, XmlFrame]]:
    """Parse every frame XML of a snippet; raise on the first invalid one.

    Returns:
        ``(xml path, parsed frame)`` per frame, in order.
    """
    ann_dir = osp.join(root, 'Annotations', 'VID', split, snippet)
    parsed = []
    for frame in frames:
        path = osp.join(ann_dir, f'{frame:06d}.xml')
        xml = parse_ilsvrc_xml(path, require_trackid=True)
        for obj in xml.objects:
            if obj.name not in IMAGENET_VID_WNID_TO_ID:
                raise InvalidAnnotationError(
                    path, f'unknown class id {obj.name!r} (not one of the 30 VID WordNet ids)')
        parsed.append((path, xml))
    return parsed


def _add_snippet(builder: CocoVIDBuilder, report: ConversionReport, split: str, snippet: str,
                 xmls: List[Tuple[str, XmlFrame]]) -> None:
    video_id = builder.add_video(snippet)
    for frame_id, (path, xml) in enumerate(xmls):
        if xml.outside:
            report.outside_boxes[path] = xml.outside
        file_name = f'VID/{split}/{snippet}/{frame_id:06d}.JPEG'
        image_id = builder.add_image(video_id, frame_id, file_name, xml.width, xml.height)
        report.empty_images += not xml.objects
        for obj in xml.objects:
            category_id = IMAGENET_VID_WNID_TO_ID[obj.name]
            builder.add_annotation(image_id, video_id, obj.trackid, category_id, _xywh(obj.bbox),
                                   occluded=obj.occluded, generated=obj.generated)


def convert_vid_split(root: str, split: str, skip_invalid: bool = False,
                      progress: bool = True) -> Tuple[CocoVIDBuilder, ConversionReport]:
    """Convert the VID ``train`` or ``val`` split.

    Args:
        root: The ``ILSVRC2015`` folder.
        split: ``'train'`` (snippets of ``ImageSets/VID/train_*.txt``, frames
            found on disk) or ``'val'`` (frames of ``ImageSets/VID/val.txt``).
        skip_invalid: Skip a snippet with an invalid frame instead of raising;
            the whole snippet goes so that frame ids stay contiguous.
        progress: Show a progress bar.

    Returns:
        The filled builder and the report.

    Raises:
        InvalidAnnotationError: A list or annotation file is missing or
            malformed, or names an unknown class (unless ``skip_invalid``; a
            missing list always raises).
    """
    if split not in ('train', 'val'):
        raise ValueError(f"split must be 'train' or 'val', got {split!r}")
    report = ConversionReport(split=f'vid_{split}')
    if split == 'train':
        snippets = vid_train_snippets(root)
        listed: Optional[Dict[str, List[int]]] = None
        report.source = osp.join(root, 'ImageSets', 'VID', 'train_*.txt')
    else:
        listed = vid_val_frames(root)
        snippets = list(listed)
        report.source = osp.join(root, 'ImageSets', 'VID', 'val.txt')
    builder = CocoVIDBuilder(vid_categories())
    for snippet in tqdm(snippets, desc=f'VID {split}', unit='video', disable=not progress):
        try:
            if listed is None:
                frames = snippet_frames_on_disk(root, split, snippet)
                where = osp.join(root, 'Data', 'VID', split, snippet)
            else:
                frames = listed[snippet]
                where = f'{report.source} (snippet {snippet})'
            _check_contiguous(frames, where)
            xmls = _read_snippet(root, split, snippet, frames)
        except InvalidAnnotationError as err:
            if not skip_invalid:
                raise
            report.skipped.append((err.path, f'{err.reason} -> snippet {snippet} skipped'))
            continue
        _add_snippet(builder, report, split, snippet, xmls)
    return builder, report


def convert_det(root: str, skip_invalid: bool = False, det_list: Optional[str] = None,
                det_map: Optional[str] = None,
                progress: bool = True) -> Tuple[CocoVIDBuilder, ConversionReport]:
    """Convert the DET training images of the 30 VID classes, one-frame videos.

    Args:
        root: The ``ILSVRC2015`` folder.
        skip_invalid: Skip an invalid image instead of raising.
        det_list: Optional image list (FGFA's ``DET_train_30classes.txt``).
        det_map: Optional ``map_det.txt`` (default ``devkit/data/map_det.txt``).
        progress: Show a progress bar.

    Returns:
        The filled builder and the report. A video's name is the image id
        relative to ``Data/DET`` (``train/ILSVRC2014_train_0000/...``).
    """
    report = ConversionReport(split='det')
    wnids = [wnid for wnid, _ in IMAGENET_VID_CLASSES]
    image_ids, report.source = det_train_images(root, wnids, det_list, det_map)
    builder = CocoVIDBuilder(vid_categories())
    for image_id in tqdm(image_ids, desc='DET', unit='image', disable=not progress):
        path = osp.join(root, 'Annotations', 'DET', image_id + '.xml')
        try:
            xml = parse_ilsvrc_xml(path, require_trackid=False)
        except InvalidAnnotationError as err:
            if not skip_invalid:
                raise
            report.skipped.append((err.path, f'{err.reason} -> image skipped'))
            continue
        if xml.outside:
            report.outside_boxes[path] = xml.outside
        kept = [obj for obj in xml.objects if obj.name in IMAGENET_VID_WNID_TO_ID]
        report.dropped_boxes += len(xml.objects) - len(kept)
        if not kept:
            report.dropped_images += 1
            continue
        video_id = builder.add_video(image_id)
        img = builder.add_image(video_id, 0, f'DET/{image_id}.JPEG', xml.width, xml.height)
        for index, obj in enumerate(kept):
            builder.add_annotation(img, video_id, index, IMAGENET_VID_WNID_TO_ID[obj.name],
                                   _xywh(obj.bbox), occluded=obj.occluded,
                                   generated=obj.generated)
    return builder, report


def _finish(builder: CocoVIDBuilder, report: ConversionReport, out_file: str) -> None:
    write_json_atomic(builder.to_dict(), out_file)
    names = {i: name for i, (_, name) in enumerate(IMAGENET_VID_CLASSES, 1)}
    report.out_file = out_file
    report.videos, report.images = len(builder.videos), len(builder.images)
    report.annotations, report.instances = len(builder.annotations), builder.num_instances
    counts = {name: 0 for name in names.values()}
    for ann in builder.annotations:
        counts[names[ann['category_id']]] += 1
    report.class_counts = counts


def convert_imagenet_vid(root: str, out_dir: str,
                         splits: Sequence[str] = ('vid_train', 'vid_val', 'det'),
                         skip_invalid: bool = False, det_list: Optional[str] = None,
                         det_map: Optional[str] = None,
                         progress: bool = True) -> Dict[str, ConversionReport]:
    """Convert the requested splits of an ILSVRC2015 tree to CocoVID JSON.

    Each split's JSON is written (atomically: temporary file, then rename)
    only once that split converted without error, so a failure leaves every
    earlier JSON of that name untouched.

    Args:
        root: The ``ILSVRC2015`` folder (``Annotations/``, ``Data/``, ``ImageSets/``).
        out_dir: Where the JSON files go.
        splits: Any of ``vid_train``, ``vid_val``, ``det``.
        skip_invalid: Skip invalid snippets/images and list them in the
            report instead of stopping.
        det_list: See :func:`convert_det`.
        det_map: See :func:`convert_det`.
        progress: Show progress bars.

    Returns:
        split -> report.

    Raises:
        FileNotFoundError: ``root`` lacks the folders a split needs.
        InvalidAnnotationError: See :func:`convert_vid_split`.
    """
    unknown = [s for s in splits if s not in OUTPUT_FILES]
    if unknown:
        raise ValueError(f'unknown split(s) {unknown}; choose from {sorted(OUTPUT_FILES)}')
    needs = {'vid_train': ('Annotations/VID/train', 'ImageSets/VID'),
             'vid_val': ('Annotations/VID/val', 'ImageSets/VID'),
             'det': ('Annotations/DET/train', )}
    for split in splits:
        for sub in needs[split]:
            if not osp.isdir(osp.join(root, sub)):
                raise FileNotFoundError(
                    f'{osp.join(root, sub)} does not exist: {split!r} needs it (is --root the '
                    'ILSVRC2015 folder? choose other splits with --splits)')
    reports = {}
    for split in splits:
        if split == 'det':
            builder, report = convert_det(root, skip_invalid, det_list, det_map, progress)
        else:
            builder, report = convert_vid_split(root, split[len('vid_'):], skip_invalid,
                                                progress)
        _finish(builder, report, osp.join(out_dir, OUTPUT_FILES[split]))
        reports[split] = report
    return reports
