"""The 30 ImageNet VID classes (ILSVRC2015 VID devkit, ``data/meta_vid.mat``).

The order is the devkit's ``ILSVRC2015_VID_ID`` order (ids 1..30); it is also
the order of MMTracking's ImageNet VID conversion, so category ids agree with
JSON files converted there.
"""
from typing import Dict, Tuple

IMAGENET_VID_CLASSES: Tuple[Tuple[str, str], ...] = (
    ('n02691156', 'airplane'),
    ('n02419796', 'antelope'),
    ('n02131653', 'bear'),
    ('n02834778', 'bicycle'),
    ('n01503061', 'bird'),
    ('n02924116', 'bus'),
    ('n02958343', 'car'),
    ('n02402425', 'cattle'),
    ('n02084071', 'dog'),
    ('n02121808', 'domestic_cat'),
    ('n02503517', 'elephant'),
    ('n02118333', 'fox'),
    ('n02510455', 'giant_panda'),
    ('n02342885', 'hamster'),
    ('n02374451', 'horse'),
    ('n02129165', 'lion'),
    ('n01674464', 'lizard'),
    ('n02484322', 'monkey'),
    ('n03790512', 'motorcycle'),
    ('n02324045', 'rabbit'),
    ('n02509815', 'red_panda'),
    ('n02411705', 'sheep'),
    ('n01726692', 'snake'),
    ('n02355227', 'squirrel'),
    ('n02129604', 'tiger'),
    ('n04468005', 'train'),
    ('n01662784', 'turtle'),
    ('n04530566', 'watercraft'),
    ('n02062744', 'whale'),
    ('n02391049', 'zebra'),
)

#: Class names in category-id order (``metainfo['classes']`` of a dataset).
IMAGENET_VID_CLASS_NAMES: Tuple[str, ...] = tuple(name for _, name in IMAGENET_VID_CLASSES)

#: WordNet id -> 1-based category id.
IMAGENET_VID_WNID_TO_ID: Dict[str, int] = {
    wnid: i for i, (wnid, _) in enumerate(IMAGENET_VID_CLASSES, 1)
}


def vid_categories() -> Tuple[Tuple[str, str], ...]:
    """``(name, encode_name)`` pairs for :class:`CocoVIDBuilder`."""
    return tuple((name, wnid) for wnid, name in IMAGENET_VID_CLASSES)
