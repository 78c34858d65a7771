"""SynthVID: the embedded synthetic video data set, read like ImageNet VID."""
import json
import os.path as osp
from typing import List

from mmdet.registry import DATASETS

from .imagenet_vid import ImageNetVIDDataset
from .synthvid.degradation import degradation_frame_groups


@DATASETS.register_module()
class SynthVIDDataset(ImageNetVIDDataset):
    """SynthVID in CocoVID form (``<root>/annotations/synthvid_{train,val}.json``).

    The same class as :class:`ImageNetVIDDataset`; only the class names
    differ: they are read from the file's ``categories`` (sorted by id)
    unless ``metainfo=dict(classes=...)`` names them. Pass
    ``synthvid_params=dict(...)`` to generate the data on first use.

    When the generator's conditions file lies beside the annotation file
    (``synthvid_<split>_conditions.json``), the metainfo carries
    ``frame_groups``: the ``degraded`` frames (inside a defocus, shake,
    noise, darkness or long-exposure episode) and the ``clean`` ones, which
    :class:`VIDMetric` scores separately.
    """

    METAINFO = dict(classes=None)

    def load_data_list(self) -> List[dict]:
        frames = super().load_data_list()
        conditions_file = osp.splitext(self.ann_file)[0] + '_conditions.json'
        if osp.isfile(conditions_file):
            with open(conditions_file) as f:
                self._metainfo['frame_groups'] = degradation_frame_groups(json.load(f))
        return frames
