"""SynthVID-Flow: image pairs with ground-truth displacement (FlowNet pre-training)."""
import json
import os.path as osp
from typing import List

from mmdet.registry import DATASETS
from mmengine.dataset import BaseDataset


@DATASETS.register_module()
class SynthVIDFlowDataset(BaseDataset):
    """Pairs of ``<root>/annotations/synthvid_flow_{train,val}.json``.

    Pass ``synthvid_flow_params=dict(...)`` to generate the set on first use
    (``mmvid_memory.datasets.synthvid.ensure_synthvid_flow``; tools/train.py
    and tools/test.py do it before the runner starts). Each item is
    ``img_cur_path``, ``img_ref_path``, ``flow_path``, ``gap`` and the
    ``flow_stride`` of the stored field.
    """

    METAINFO = dict(classes=())

    def __init__(self, *args, synthvid_flow_params=None, **kwargs) -> None:
        self.synthvid_flow_params = synthvid_flow_params
        super().__init__(*args, **kwargs)

    def load_data_list(self) -> List[dict]:
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(
                f'SynthVIDFlowDataset: {self.ann_file} does not exist; give the dataset '
                'synthvid_flow_params=dict() to generate it, or run '
                'mmvid_memory.datasets.synthvid.ensure_synthvid_flow(data_root)')
        with open(self.ann_file) as f:
            content = json.load(f)
        if not isinstance(content, dict) or 'pairs' not in content:
            raise ValueError(f'SynthVIDFlowDataset: {self.ann_file} has no "pairs" list')
        stride = int(content.get('flow_stride', 1))
        items = []
        for pair in content['pairs']:
            try:
                items.append(dict(img_cur_path=osp.join(self.data_root, pair['img_cur']),
                                  img_ref_path=osp.join(self.data_root, pair['img_ref']),
                                  flow_path=osp.join(self.data_root, pair['flow']),
                                  gap=int(pair['gap']), video=pair.get('video'),
                                  frame_cur=pair.get('frame_cur'), flow_stride=stride))
            except KeyError as err:
                raise ValueError(f'SynthVIDFlowDataset: a pair of {self.ann_file} lacks {err}; '
                                 f'it has {sorted(pair)}') from None
        return items
