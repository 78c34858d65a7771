"""R-FCN as an mmdet two-stage detector (Deng et al., section 4.1)."""
from typing import Tuple

from mmdet.models.detectors import TwoStageDetector
from mmdet.registry import MODELS
from mmdet.utils import ConfigType, OptConfigType, OptMultiConfig
from torch import Tensor

# Registers SlicedRPNHead for R-FCN configs even where models/__init__ does not
# import dense_heads.
from .. import dense_heads  # noqa: F401


@MODELS.register_module()
class RFCN(TwoStageDetector):
    """R-FCN: ResNet (conv5 dilated, stride 16), a dilated 3x3 reduce conv,
    an RPN and a position-sensitive RoI head on halves of one map.

    ``extract_feat`` returns a 1-tuple with the whole reduced map
    (N, 1024, H/16, W/16 in the paper's setting); the RPN head
    (:class:`SlicedRPNHead`) and the RoI head's :class:`PSRoIExtractor` each
    take their channel range of it, so anything placed between
    ``extract_feat`` and the heads sees the whole map. Training and
    inference are :class:`TwoStageDetector`'s.

    Args:
        backbone (dict): e.g. ``ResNet`` with ``strides=(1, 2, 2, 1)``,
            ``dilations=(1, 1, 1, 2)``, ``out_indices=(3, )``.
        neck (dict): e.g. :class:`DilatedReduceNeck`.
        rpn_head (dict): e.g. :class:`SlicedRPNHead`.
        roi_head (dict): :class:`RFCNRoIHead`.
        train_cfg (dict): ``rpn``, ``rpn_proposal``, ``rcnn`` as mmdet.
        test_cfg (dict): ``rpn``, ``rcnn`` as mmdet.
        data_preprocessor (dict, optional): as mmdet.
        init_cfg (dict, optional): as mmdet.
    """

    def __init__(self,
                 backbone: ConfigType,
                 neck: ConfigType,
                 rpn_head: ConfigType,
                 roi_head: ConfigType,
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 data_preprocessor: OptConfigType = None,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(
            backbone=backbone, neck=neck, rpn_head=rpn_head, roi_head=roi_head,
            train_cfg=train_cfg, test_cfg=test_cfg, data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        self._check_head_channels()

    def _check_head_channels(self) -> None:
        """Fail at build time when a head expects another channel count than
        the neck makes."""
        neck_channels = getattr(self.neck, 'out_channels', None)
        if not isinstance(neck_channels, int):
            return
        heads = [('rpn_head', self.rpn_head)]
        if self.with_roi_head and self.roi_head.with_bbox:
            heads.append(('roi_head.bbox_roi_extractor', self.roi_head.bbox_roi_extractor))
        for name, head in heads:
            head_channels = getattr(head, 'in_channels', None)
            if isinstance(head_channels, int) and head_channels != neck_channels:
                raise ValueError(f'RFCN: {name}.in_channels={head_channels} but the neck makes '
                                 f'{neck_channels} channels')

    def extract_feat(self, batch_inputs: Tensor) -> Tuple[Tensor]:
        """Backbone and neck.

        Args:
            batch_inputs (Tensor): (N, 3, H, W) normalised images.

        Returns:
            tuple[Tensor]: a 1-tuple with the (N, C, H/16, W/16) shared map.
        """
        feats = super().extract_feat(batch_inputs)
        if isinstance(feats, Tensor):
            feats = (feats, )
        if len(feats) != 1:
            raise ValueError(f'RFCN works on one feature map; backbone + neck gave {len(feats)} '
                             f'levels (set backbone.out_indices to one stage or use a neck that '
                             f'returns one map)')
        return tuple(feats)
