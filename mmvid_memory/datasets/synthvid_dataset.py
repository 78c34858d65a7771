"""SynthVID: the embedded synthetic video data set, read like ImageNet VID."""
from mmdet.registry import DATASETS

from .imagenet_vid import ImageNetVIDDataset


@DATASETS.register_module()
class SynthVIDDataset(ImageNetVIDDataset):
    """SynthVID in CocoVID form (``<root>/annotations/synthvid_{train,val}.json``).

    The same class as :class:`ImageNetVIDDataset`; only the class names
    differ: they are read from the file's ``categories`` (sorted by id)
    unless ``metainfo=dict(classes=...)`` names them. Pass
    ``synthvid_params=dict(...)`` to generate the data on first use.
    """

    METAINFO = dict(classes=None)
