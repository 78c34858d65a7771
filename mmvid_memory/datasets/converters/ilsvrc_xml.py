"""Parsing of one ILSVRC (PASCAL VOC style) annotation XML.

A VID frame XML looks like::

    <annotation>
      <size><width>1280</width><height>720</height></size>
      <object>
        <trackid>0</trackid> <name>n01674464</name>
        <bndbox><xmin>271</xmin><ymin>78</ymin><xmax>1050</xmax><ymax>630</ymax></bndbox>
        <occluded>0</occluded> <generated>0</generated>
      </object>
    </annotation>

DET XMLs have the same layout without ``trackid``/``occluded``/``generated``.
"""
import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import List, Optional


class InvalidAnnotationError(ValueError):
    """An annotation file is missing, malformed or names an unknown class.

    Args:
        path: The file at fault.
        reason: What is wrong with it.
    """

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f'{path}: {reason}')
        self.path = path
        self.reason = reason


@dataclass
class XmlObject:
    """One ``<object>`` of an annotation XML.

    Attributes:
        name: The WordNet id in ``<name>``.
        bbox: ``[x1, y1, x2, y2]`` clipped to the image, ``x2 >= x1``.
        trackid: ``<trackid>`` text, ``None`` when absent (DET).
        occluded: ``<occluded>`` is 1.
        generated: ``<generated>`` is 1.
    """
    name: str
    bbox: List[float]
    trackid: Optional[str] = None
    occluded: bool = False
    generated: bool = False


@dataclass
class XmlFrame:
    """The contents of one annotation XML: image size and its objects.

    ``outside`` counts the boxes dropped because they lie wholly outside the
    image (zero area once clipped to it).
    """
    width: int
    height: int
    objects: List[XmlObject] = field(default_factory=list)
    outside: int = 0


def _number(elem: ET.Element, tag: str, path: str) -> float:
    """The numeric text of the child ``tag`` of ``elem``."""
    child = elem.find(tag)
    if child is None or child.text is None or not child.text.strip():
        raise InvalidAnnotationError(path, f'<{elem.tag}> has no <{tag}>')
    try:
        value = float(child.text)
    except ValueError:
        raise InvalidAnnotationError(
            path, f'<{tag}> of <{elem.tag}> is not a number: {child.text.strip()!r}') from None
    # float() reads 'nan' and 'inf'; neither is a pixel coordinate or size.
    if not math.isfinite(value):
        raise InvalidAnnotationError(
            path, f'<{tag}> of <{elem.tag}> is not a finite number: {child.text.strip()!r}')
    return value


def _flag(elem: ET.Element, tag: str, path: str) -> bool:
    """A 0/1 child ``tag``; an absent one reads as 0."""
    child = elem.find(tag)
    if child is None or child.text is None:
        return False
    text = child.text.strip()
    if text not in ('0', '1'):
        raise InvalidAnnotationError(path, f'<{tag}> must be 0 or 1, got {text!r}')
    return text == '1'


def parse_ilsvrc_xml(path: str, require_trackid: bool) -> XmlFrame:
    """Read one annotation XML.

    Boxes are clipped to ``[0, width] x [0, height]``; ILSVRC stores pixel
    corners and this conversion uses ``w = xmax - xmin`` like MMTracking.

    Args:
        path: The XML file.
        require_trackid: VID XMLs must give every object a ``<trackid>``,
            unique in the frame.

    Returns:
        The frame size and its objects, in file order; boxes of zero area
        once clipped (wholly outside the image) are left out and counted in
        ``outside``.

    Raises:
        InvalidAnnotationError: The file is missing, not XML, lacks a size or a
            box field, has a non-finite number (NaN, inf), a box with
            ``xmax < xmin`` or a duplicate trackid.
    """
    try:
        root = ET.parse(path).getroot()
    except FileNotFoundError:
        raise InvalidAnnotationError(path, 'annotation file does not exist') from None
    except ET.ParseError as err:
        raise InvalidAnnotationError(path, f'malformed XML ({err})') from None
    size = root.find('size')
    if size is None:
        raise InvalidAnnotationError(path, 'no <size> element')
    width, height = int(_number(size, 'width', path)), int(_number(size, 'height', path))
    if width <= 0 or height <= 0:
        raise InvalidAnnotationError(path, f'non-positive image size {width}x{height}')
    frame = XmlFrame(width=width, height=height)
    seen_tracks = set()
    for obj in root.findall('object'):
        name_elem = obj.find('name')
        if name_elem is None or not (name_elem.text or '').strip():
            raise InvalidAnnotationError(path, '<object> without <name>')
        box = obj.find('bndbox')
        if box is None:
            raise InvalidAnnotationError(path, f'<object> {name_elem.text.strip()} has no <bndbox>')
        x1, y1, x2, y2 = (_number(box, tag, path) for tag in ('xmin', 'ymin', 'xmax', 'ymax'))
        if x2 < x1 or y2 < y1:
            raise InvalidAnnotationError(
                path, f'box (xmin={x1:g}, ymin={y1:g}, xmax={x2:g}, ymax={y2:g}) has '
                'xmax < xmin or ymax < ymin')
        x1, x2 = min(max(x1, 0.0), width), min(max(x2, 0.0), width)
        y1, y2 = min(max(y1, 0.0), height), min(max(y2, 0.0), height)
        trackid = None
        track_elem = obj.find('trackid')
        if track_elem is not None and (track_elem.text or '').strip():
            trackid = track_elem.text.strip()
        if require_trackid:
            if trackid is None:
                raise InvalidAnnotationError(path, '<object> without <trackid>')
            if trackid in seen_tracks:
                raise InvalidAnnotationError(path, f'trackid {trackid} appears twice')
            seen_tracks.add(trackid)
        occluded, generated = _flag(obj, 'occluded', path), _flag(obj, 'generated', path)
        if x2 <= x1 or y2 <= y1:
            # Wholly outside the image (or of zero width or height): no pixel of
            # the frame shows the object, and the data loader would skip it.
            frame.outside += 1
            continue
        frame.objects.append(
            XmlObject(name=name_elem.text.strip(), bbox=[x1, y1, x2, y2], trackid=trackid,
                      occluded=occluded, generated=generated))
    return frame
