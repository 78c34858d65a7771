"""Position-sensitive score maps and their PSRoIPool (R-FCN, Deng et al. section 4.1)."""
from typing import Optional, Sequence, Union

import torch
import torch.nn as nn
from mmdet.registry import MODELS
from mmdet.utils import OptMultiConfig
from mmengine.model import BaseModule
from torch import Tensor

from mmvid_memory.ops import ps_roi_pool
from ...necks.channel_slice import parse_channel_slice, take_channel_slice


@MODELS.register_module()
class PSRoIExtractor(BaseModule):
    """1x1 convs to k^2 (C+1) class and k^2 * 4 box score maps, then PSRoIPool.

    Stands where mmdet's RoI extractor stands in :class:`StandardRoIHead`:
    ``extractor(feats, rois)`` gives the pooled position-sensitive scores
    (K, cls_out_channels + reg_out_channels, k, k), class part first, which
    the box head votes. The maps are computed on channels ``[start, end)``
    of the shared map (the R-FCN half).

    Args:
        in_channels (int): channels of the whole shared map.
        in_channel_slice (Sequence[int], optional): ``(start, end)``; ``None``
            reads every channel.
        roi_size (int): k, the k x k position-sensitive bins. Defaults to 7.
        featmap_stride (int): stride of the map w.r.t. the network input.
            Defaults to 16.
        cls_out_channels (int, optional): class channels per bin, C + 1.
            :class:`RFCNRoIHead` fills it in from its box head.
        reg_out_channels (int, optional): box channels per bin, 4 (class
            agnostic) or 4 C. Filled in like ``cls_out_channels``.
        init_cfg (dict, optional): defaults to N(0, 0.01), bias 0, as the
            reference R-FCN code.
    """

    # StandardRoIHead passes feats[:num_inputs] to its extractor.
    num_inputs = 1

    def __init__(self,
                 in_channels: int,
                 in_channel_slice: Optional[Sequence[int]] = None,
                 roi_size: int = 7,
                 featmap_stride: int = 16,
                 cls_out_channels: Optional[int] = None,
                 reg_out_channels: Optional[int] = None,
                 init_cfg: OptMultiConfig = dict(
                     type='Normal', layer='Conv2d', std=0.01, bias=0.)) -> None:
        super().__init__(init_cfg=init_cfg)
        if cls_out_channels is None or reg_out_channels is None:
            raise ValueError('PSRoIExtractor: cls_out_channels and reg_out_channels are needed; '
                             'build it through RFCNRoIHead, which takes them from its bbox_head')
        if roi_size < 1 or featmap_stride <= 0:
            raise ValueError(f'PSRoIExtractor: roi_size must be >= 1 and featmap_stride > 0, got '
                             f'{roi_size} and {featmap_stride}')
        self.in_channels = in_channels
        self.channel_slice = parse_channel_slice(in_channel_slice, in_channels, 'PSRoIExtractor')
        self.roi_size = int(roi_size)
        self.featmap_stride = featmap_stride
        self.spatial_scale = 1.0 / featmap_stride
        self.cls_out_channels = int(cls_out_channels)
        self.reg_out_channels = int(reg_out_channels)
        slice_channels = self.channel_slice[1] - self.channel_slice[0]
        bins = self.roi_size * self.roi_size
        self.conv_cls = nn.Conv2d(slice_channels, bins * self.cls_out_channels, 1)
        self.conv_reg = nn.Conv2d(slice_channels, bins * self.reg_out_channels, 1)

    @property
    def out_channels(self) -> int:
        """int: channels of the pooled output."""
        return self.cls_out_channels + self.reg_out_channels

    def score_maps(self, feat: Tensor) -> tuple:
        """The position-sensitive class and box score maps of a shared map.

        Args:
            feat (Tensor): (N, in_channels, H, W).

        Returns:
            tuple[Tensor, Tensor]: (N, k^2 cls_out_channels, H, W) and
            (N, k^2 reg_out_channels, H, W).
        """
        feat = take_channel_slice(feat, self.channel_slice, self.in_channels, 'PSRoIExtractor')
        return self.conv_cls(feat), self.conv_reg(feat)

    def forward(self, feats: Union[Tensor, Sequence[Tensor]], rois: Tensor) -> Tensor:
        """Pool every RoI's position-sensitive scores.

        Args:
            feats (Tensor | Sequence[Tensor]): the shared map
                (N, in_channels, H, W), bare or as the single level of a
                tuple (mmdet's convention).
            rois (Tensor): (K, 5) ``[batch_idx, x1, y1, x2, y2]`` in network
                input coordinates.

        Returns:
            Tensor: (K, cls_out_channels + reg_out_channels, k, k), class
            part first.
        """
        if not isinstance(feats, Tensor):
            if len(feats) != 1:
                raise ValueError(f'PSRoIExtractor: R-FCN pools from one feature map, got '
                                 f'{len(feats)} levels')
            feats = feats[0]
        if rois.dim() != 2 or rois.size(1) != 5:
            raise ValueError(f'PSRoIExtractor: rois must be (K, 5) [batch_idx, x1, y1, x2, y2], '
                             f'got shape {tuple(rois.shape)}')
        cls_maps, reg_maps = self.score_maps(feats)
        k = self.roi_size
        if rois.size(0) == 0:
            # Zero RoIs still yield a tensor tied to the conv weights, so every
            # parameter takes part in the backward pass (DDP needs that).
            tie = cls_maps.sum() * 0 + reg_maps.sum() * 0
            return cls_maps.new_zeros((0, self.out_channels, k, k)) + tie
        rois = rois.to(cls_maps.dtype)
        pooled_cls = ps_roi_pool(cls_maps, rois, k, self.spatial_scale)
        pooled_reg = ps_roi_pool(reg_maps, rois, k, self.spatial_scale)
        return torch.cat([pooled_cls, pooled_reg], dim=1)
