"""R-FCN's RoI head on mmdet's StandardRoIHead machinery."""
import copy
from typing import Sequence, Tuple, Union

from mmdet.models.roi_heads import StandardRoIHead
from mmdet.registry import MODELS
from mmdet.structures import SampleList
from mmdet.structures.bbox import get_box_wh
from mmdet.utils import ConfigType, InstanceList
from torch import Tensor


def drop_zero_area_gt(batch_data_samples: SampleList) -> SampleList:
    """The samples without their zero-width or zero-height ground truth.

    Such a box overlaps nothing (IoU 0), so the only RoI ever assigned to it
    is itself when the sampler adds the ground truth as proposals, and its
    regression target log(0/0) is NaN.

    Args:
        batch_data_samples (list[DetDataSample]): with ``gt_instances``.

    Returns:
        list[DetDataSample]: the same objects where nothing is dropped,
        clones without those boxes elsewhere; the inputs are not modified.
    """
    out = []
    for sample in batch_data_samples:
        gt = sample.gt_instances
        if len(gt) == 0:
            out.append(sample)
            continue
        widths, heights = get_box_wh(gt.bboxes)
        keep = (widths > 0) & (heights > 0)
        if bool(keep.all()):
            out.append(sample)
            continue
        sample = sample.clone()
        sample.gt_instances = gt[keep]
        out.append(sample)
    return out


@MODELS.register_module()
class RFCNRoIHead(StandardRoIHead):
    """Position-sensitive RoI head (R-FCN).

    ``_bbox_forward(x, rois)``: the :class:`PSRoIExtractor` turns the R-FCN
    channels of the shared map into k^2 (C+1) class and k^2 * 4 box score
    maps and PSRoIPools them, (K, (C+1) + 4, k, k); the box head
    (:class:`RFCNBBoxHead`) takes that one tensor and votes it into
    ``cls_score`` (K, C+1) and ``bbox_pred`` (K, 4). Assignment, sampling
    (OHEM included: ``train_cfg.sampler=dict(type='OHEMSampler', ...)``),
    losses, decoding and NMS are :class:`StandardRoIHead`'s.

    Args:
        bbox_roi_extractor (dict): a :class:`PSRoIExtractor` config; its
            ``cls_out_channels``/``reg_out_channels`` default to the box
            head's.
        bbox_head (dict): an :class:`RFCNBBoxHead` config.
        **kwargs: ``train_cfg``, ``test_cfg``, ``init_cfg`` as
            :class:`StandardRoIHead`; R-FCN has no mask branch.
    """

    def init_bbox_head(self, bbox_roi_extractor: ConfigType, bbox_head: ConfigType) -> None:
        """Build the box head, then the extractor that feeds it.

        Args:
            bbox_roi_extractor (dict): extractor config.
            bbox_head (dict): box head config.
        """
        if bbox_roi_extractor is None:
            raise ValueError('RFCNRoIHead needs a bbox_roi_extractor (PSRoIExtractor)')
        self.bbox_head = MODELS.build(bbox_head)
        for name in ('cls_out_channels', 'reg_out_channels'):
            if not hasattr(self.bbox_head, name):
                raise TypeError(f'RFCNRoIHead: bbox_head {type(self.bbox_head).__name__} has no '
                                f'`{name}`; use RFCNBBoxHead')
        extractor_cfg = copy.deepcopy(bbox_roi_extractor)
        for name in ('cls_out_channels', 'reg_out_channels'):
            expected = getattr(self.bbox_head, name)
            given = extractor_cfg.get(name, None)
            if given is not None and given != expected:
                raise ValueError(f'RFCNRoIHead: bbox_roi_extractor.{name}={given} but the '
                                 f'bbox_head votes {expected} channels')
            extractor_cfg[name] = expected
        self.bbox_roi_extractor = MODELS.build(extractor_cfg)
        head_k = self.bbox_head.roi_feat_size
        extractor_k = self.bbox_roi_extractor.roi_size
        if head_k != (extractor_k, extractor_k):
            raise ValueError(f'RFCNRoIHead: bbox_head.roi_feat_size {head_k} differs from '
                             f'bbox_roi_extractor.roi_size {extractor_k}')

    def init_mask_head(self, mask_roi_extractor: ConfigType, mask_head: ConfigType) -> None:
        """R-FCN has no mask branch."""
        raise NotImplementedError('RFCNRoIHead has no mask branch; remove mask_head')

    def loss(self, x: Tuple[Tensor], rpn_results_list: InstanceList,
             batch_data_samples: SampleList) -> dict:
        """:meth:`StandardRoIHead.loss` without zero-area ground truth (see
        :func:`drop_zero_area_gt`).

        Args:
            x (tuple[Tensor]): the shared map as a 1-tuple.
            rpn_results_list (list[InstanceData]): proposals per image.
            batch_data_samples (list[DetDataSample]): with ``gt_instances``.

        Returns:
            dict[str, Tensor]: ``loss_cls``, ``acc``, ``loss_bbox``.
        """
        return super().loss(x, rpn_results_list, drop_zero_area_gt(batch_data_samples))

    def _bbox_forward(self, x: Union[Tuple[Tensor], Sequence[Tensor]], rois: Tensor) -> dict:
        """Score maps, PSRoIPool, vote.

        Args:
            x (tuple[Tensor]): the shared map as a 1-tuple,
                (N, in_channels, H, W).
            rois (Tensor): (K, 5) ``[batch_idx, x1, y1, x2, y2]``.

        Returns:
            dict: ``cls_score`` (K, C+1), ``bbox_pred`` (K, 4) and
            ``bbox_feats``, the pooled (K, (C+1)+4, k, k) scores.
        """
        bbox_feats = self.bbox_roi_extractor(x, rois)
        if self.with_shared_head:
            bbox_feats = self.shared_head(bbox_feats)
        cls_score, bbox_pred = self.bbox_head(bbox_feats)
        return dict(cls_score=cls_score, bbox_pred=bbox_pred, bbox_feats=bbox_feats)
