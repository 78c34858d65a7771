"""Readers of the ILSVRC2015 image-set lists (``ImageSets/{VID,DET}/*.txt``).

Formats (ILSVRC2015 devkit readme, sections 2.2 and 4.2):

- ``ImageSets/VID/train_<k>.txt`` (k = 1..30): ``<snippet_id> <label>`` per line,
  snippet ids relative to ``Data/VID/train`` such as
  ``ILSVRC2015_VID_train_0000/ILSVRC2015_train_00000000``; a snippet is listed
  in the file of every class it contains. Frames are ``<snippet>/%06d.JPEG``
  from 0 and their boxes ``<snippet>/%06d.xml``.
- ``ImageSets/VID/val.txt``: ``<snippet_id>/<%06d> <index>`` per frame.
- ``ImageSets/DET/train_<k>.txt`` (k = 1..200, the DET class id of
  ``devkit/data/map_det.txt``): ``<image_id> <label>`` with label 1
  (positive), 0 (partial positive) or -1 (negative); ids are relative to
  ``Data/DET/train`` (``ILSVRC2013_train/n01503061/n01503061_1000``,
  ``ILSVRC2014_train_0000/ILSVRC2014_train_00000001``, ...).
- ``devkit/data/map_det.txt``: ``<wnid> <det_id> <name>`` per DET class.
- FGFA's ``DET_train_30classes.txt`` (used by MMTracking): the first token is
  an image id relative to ``Data/DET`` (``train/ILSVRC2014_train_0000/...``).
"""
import glob
import os
import os.path as osp
import re
from collections import OrderedDict
from typing import Dict, Iterable, List, Optional, Tuple

from .ilsvrc_xml import InvalidAnnotationError


def read_list_lines(path: str, min_tokens: int) -> List[Tuple[int, List[str]]]:
    """Non-empty lines of a list file, split on whitespace.

    Args:
        path: The list file.
        min_tokens: Fewer tokens on a line is an error.

    Returns:
        ``(line_number, tokens)`` pairs, line numbers from 1.

    Raises:
        InvalidAnnotationError: The file is missing or a line is too short.
    """
    if not osp.isfile(path):
        raise InvalidAnnotationError(path, 'list file does not exist')
    rows = []
    with open(path) as f:
        for number, line in enumerate(f, 1):
            tokens = line.split()
            if not tokens:
                continue
            if len(tokens) < min_tokens:
                raise InvalidAnnotationError(
                    path, f'line {number} has {len(tokens)} field(s), expected at least '
                    f'{min_tokens}: {line.strip()!r}')
            rows.append((number, tokens))
    return rows


def _numbered_lists(folder: str, prefix: str) -> List[str]:
    """``<prefix>_<k>.txt`` files of ``folder`` sorted by k."""
    pattern = re.compile(re.escape(prefix) + r'_(\d+)\.txt$')
    found = []
    for path in glob.glob(osp.join(folder, f'{prefix}_*.txt')):
        match = pattern.search(osp.basename(path))
        if match:
            found.append((int(match.group(1)), path))
    return [path for _, path in sorted(found)]


def vid_train_snippets(root: str) -> List[str]:
    """Snippet ids of the VID training set, sorted.

    Every snippet listed in any ``ImageSets/VID/train_<k>.txt`` belongs to the
    training set (all snippets are annotated with all 30 classes, whatever the
    label of the line).

    Raises:
        InvalidAnnotationError: No ``train_<k>.txt`` exists, or one is malformed.
    """
    folder = osp.join(root, 'ImageSets', 'VID')
    files = _numbered_lists(folder, 'train')
    if not files:
        raise InvalidAnnotationError(osp.join(folder, 'train_*.txt'), 'no VID training list found')
    snippets = set()
    for path in files:
        for _, tokens in read_list_lines(path, min_tokens=1):
            snippets.add(tokens[0].strip('/'))
    return sorted(snippets)


def parse_frame_number(name: str, where: str) -> int:
    """The frame index of a ``%06d`` frame name such as ``000042``."""
    if not re.fullmatch(r'\d+', name):
        raise InvalidAnnotationError(where, f'frame name {name!r} is not a number')
    return int(name)


def vid_val_frames(root: str) -> 'OrderedDict[str, List[int]]':
    """Frames of ``ImageSets/VID/val.txt`` grouped by snippet, in file order.

    Returns:
        snippet id -> frame indices in listed order.

    Raises:
        InvalidAnnotationError: The list is missing or a line is not
            ``<snippet>/<frame> <index>``.
    """
    path = osp.join(root, 'ImageSets', 'VID', 'val.txt')
    frames: 'OrderedDict[str, List[int]]' = OrderedDict()
    for number, tokens in read_list_lines(path, min_tokens=1):
        snippet, sep, frame_name = tokens[0].strip('/').rpartition('/')
        if not sep or not snippet:
            raise InvalidAnnotationError(
                path, f'line {number}: expected <snippet>/<frame>, got {tokens[0]!r}')
        frames.setdefault(snippet, []).append(
            parse_frame_number(frame_name, f'{path} line {number}'))
    return frames


def snippet_frames_on_disk(root: str, split: str, snippet: str) -> List[int]:
    """Frame indices of a snippet: its JPEGs in ``Data``, else its XMLs.

    Frames are taken from the images when they are present so that a frame
    whose annotation file is missing is noticed.
    """
    data_dir = osp.join(root, 'Data', 'VID', split, snippet)
    ann_dir = osp.join(root, 'Annotations', 'VID', split, snippet)
    if osp.isdir(data_dir):
        folder, ext = data_dir, '.JPEG'
    elif osp.isdir(ann_dir):
        folder, ext = ann_dir, '.xml'
    else:
        raise InvalidAnnotationError(ann_dir, 'snippet folder does not exist (nor in Data/)')
    names = [n[:-len(ext)] for n in os.listdir(folder) if n.endswith(ext)]
    return sorted(parse_frame_number(n, osp.join(folder, n + ext)) for n in names)


def read_det_class_map(path: str) -> Dict[str, int]:
    """``devkit/data/map_det.txt``: WordNet id -> DET class id (1..200)."""
    mapping = {}
    for number, tokens in read_list_lines(path, min_tokens=2):
        try:
            mapping[tokens[0]] = int(tokens[1])
        except ValueError:
            raise InvalidAnnotationError(
                path, f'line {number}: DET class id {tokens[1]!r} is not an integer') from None
    return mapping


def _positive_ids(list_files: Iterable[str]) -> List[str]:
    """Image ids labelled 1 in DET ``train_<k>.txt`` files, first-seen order."""
    ids: 'OrderedDict[str, None]' = OrderedDict()
    for path in list_files:
        for number, tokens in read_list_lines(path, min_tokens=2):
            if tokens[1] not in ('1', '0', '-1'):
                raise InvalidAnnotationError(
                    path, f'line {number}: label must be 1, 0 or -1, got {tokens[1]!r}')
            if tokens[1] == '1':
                ids[tokens[0].strip('/')] = None
    return list(ids)


def det_train_images(root: str, vid_wnids: Iterable[str], det_list: Optional[str] = None,
                     det_map: Optional[str] = None) -> Tuple[List[str], str]:
    """DET training image ids (relative to ``Data/DET``) that may hold VID classes.

    Sources, first available wins:

    1. ``det_list``: a list such as FGFA's ``DET_train_30classes.txt``; ids
       without a ``train/``/``val/`` head are taken relative to ``Data/DET/train``.
    2. The DET class map (``det_map`` or ``devkit/data/map_det.txt``): the
       positive images of ``ImageSets/DET/train_<k>.txt`` for the DET ids k of
       the VID classes.
    3. The positive images of every ``ImageSets/DET/train_<k>.txt`` (slower:
       the caller keeps those whose XML holds a VID class).

    Returns:
        Sorted, unique image ids such as ``train/ILSVRC2014_train_0000/...``
        and a line saying which source was used.
    """
    if det_list is not None:
        ids = []
        for _, tokens in read_list_lines(det_list, min_tokens=1):
            image_id = tokens[0].strip('/')
            if image_id.endswith('.JPEG'):
                image_id = image_id[:-len('.JPEG')]
            if not image_id.startswith(('train/', 'val/')):
                image_id = 'train/' + image_id
            ids.append(image_id)
        return sorted(set(ids)), f'image list {det_list}'
    folder = osp.join(root, 'ImageSets', 'DET')
    map_path = det_map or osp.join(root, 'devkit', 'data', 'map_det.txt')
    if det_map is not None or osp.isfile(map_path):
        class_map = read_det_class_map(map_path)
        missing = [w for w in vid_wnids if w not in class_map]
        if missing:
            raise InvalidAnnotationError(map_path, f'VID classes {missing} are not in the DET map')
        files = [osp.join(folder, f'train_{class_map[w]}.txt') for w in vid_wnids]
        source = f'positives of the 30 VID classes in {folder} (map {map_path})'
    else:
        files = _numbered_lists(folder, 'train')
        if not files:
            raise InvalidAnnotationError(osp.join(folder, 'train_*.txt'),
                                         'no DET training list found')
        source = f'positives of all {len(files)} DET classes in {folder} (no map_det.txt)'
    return sorted('train/' + i for i in set(_positive_ids(files))), source
