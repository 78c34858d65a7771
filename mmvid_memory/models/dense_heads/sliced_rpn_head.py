"""An RPN head that reads one channel range of a shared feature map."""
from typing import Optional, Sequence, Tuple

import torch.nn as nn
from mmcv.cnn import ConvModule
from mmdet.models.dense_heads import RPNHead
from mmdet.registry import MODELS
from torch import Tensor

from ..necks.channel_slice import parse_channel_slice, take_channel_slice


@MODELS.register_module()
class SlicedRPNHead(RPNHead):
    """mmdet's RPN head on channels ``[start, end)`` of its input map.

    R-FCN (Deng et al., section 4.1) gives the first 512 of the 1024 reduced
    channels to the RPN. The reference R-FCN/FGFA code predicts the anchors'
    objectness and deltas with 1x1 convs straight on that half:
    ``num_convs=0``. ``num_convs >= 1`` keeps mmdet's 3x3 conv(s) of
    ``feat_channels`` before them.

    Args:
        in_channels (int): channels of the whole shared map.
        in_channel_slice (Sequence[int], optional): ``(start, end)``; ``None``
            reads every channel.
        num_convs (int): 3x3 conv + ReLU layers before the 1x1 predictors;
            0 reads the slice directly. Defaults to 0.
        **kwargs: the rest of :class:`mmdet.models.RPNHead`'s arguments;
            ``feat_channels`` is ignored when ``num_convs=0``.
    """

    def __init__(self,
                 in_channels: int,
                 in_channel_slice: Optional[Sequence[int]] = None,
                 num_convs: int = 0,
                 **kwargs) -> None:
        if num_convs < 0:
            raise ValueError(f'SlicedRPNHead: num_convs must be >= 0, got {num_convs}')
        self.channel_slice = parse_channel_slice(in_channel_slice, in_channels, 'SlicedRPNHead')
        super().__init__(in_channels=in_channels, num_convs=num_convs, **kwargs)

    @property
    def slice_channels(self) -> int:
        """int: channels of the slice the head reads."""
        return self.channel_slice[1] - self.channel_slice[0]

    def _init_layers(self) -> None:
        """Build the optional 3x3 convs and the 1x1 predictors on the slice."""
        if self.num_convs == 0:
            self.feat_channels = self.slice_channels
            self.rpn_conv = None
        else:
            convs = []
            for i in range(self.num_convs):
                convs.append(ConvModule(
                    self.slice_channels if i == 0 else self.feat_channels, self.feat_channels, 3,
                    padding=1, inplace=False))
            self.rpn_conv = nn.Sequential(*convs)
        self.rpn_cls = nn.Conv2d(self.feat_channels,
                                 self.num_base_priors * self.cls_out_channels, 1)
        self.rpn_reg = nn.Conv2d(self.feat_channels,
                                 self.num_base_priors * self.bbox_coder.encode_size, 1)

    def forward_single(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        """Objectness and deltas of one level.

        Args:
            x (Tensor): (N, in_channels, H, W) shared map.

        Returns:
            tuple[Tensor, Tensor]: (N, A * cls_out_channels, H, W) scores and
            (N, A * 4, H, W) deltas, A anchors per position.
        """
        feat = take_channel_slice(x, self.channel_slice, self.in_channels, 'SlicedRPNHead')
        if self.rpn_conv is not None:
            feat = self.rpn_conv(feat)
        return self.rpn_cls(feat), self.rpn_reg(feat)
