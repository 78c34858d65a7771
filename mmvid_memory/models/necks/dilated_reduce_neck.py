"""The dilated 3x3 conv that reduces conv5 for R-FCN (Deng et al., section 4.1)."""
from typing import Sequence, Tuple, Union

import torch.nn as nn
import torch.nn.functional as F
from mmdet.registry import MODELS
from mmdet.utils import OptMultiConfig
from mmengine.model import BaseModule
from torch import Tensor


@MODELS.register_module()
class DilatedReduceNeck(BaseModule):
    """One dilated 3x3 conv + ReLU on the last backbone map.

    Deng et al. attaches "a dilated 3x3 convolution after conv5 to reduce the
    feature dimension from 2048 to 1024"; the reference R-FCN/FGFA code uses
    dilation 6 (padding 6, so the map keeps its size) and initialises it with
    N(0, 0.01), bias 0.

    Args:
        in_channels (int): channels of the backbone map (2048 for
            ResNet-50/101, 512 for ResNet-18/34 at base width 64).
        out_channels (int): channels of the reduced map. Defaults to 1024.
        kernel_size (int): Defaults to 3.
        dilation (int): Defaults to 6.
        in_index (int): which backbone output to reduce. Defaults to -1.
        init_cfg (dict, optional): initialisation config.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int = 1024,
                 kernel_size: int = 3,
                 dilation: int = 6,
                 in_index: int = -1,
                 init_cfg: OptMultiConfig = dict(
                     type='Normal', layer='Conv2d', std=0.01, bias=0.)) -> None:
        super().__init__(init_cfg=init_cfg)
        if kernel_size % 2 != 1:
            raise ValueError(f'DilatedReduceNeck: kernel_size must be odd to keep the map size, '
                             f'got {kernel_size}')
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.in_index = in_index
        self.reduce_conv = nn.Conv2d(
            in_channels, out_channels, kernel_size,
            padding=dilation * (kernel_size - 1) // 2, dilation=dilation)

    def forward(self, inputs: Union[Tensor, Sequence[Tensor]]) -> Tuple[Tensor]:
        """Reduce the chosen backbone map.

        Args:
            inputs (Tensor | Sequence[Tensor]): backbone outputs, the chosen
                one (N, in_channels, H, W).

        Returns:
            tuple[Tensor]: a 1-tuple with the (N, out_channels, H, W) map.
        """
        feat = inputs if isinstance(inputs, Tensor) else inputs[self.in_index]
        if feat.dim() != 4 or feat.size(1) != self.in_channels:
            raise ValueError(
                f'DilatedReduceNeck: expected a (N, {self.in_channels}, H, W) backbone map, got '
                f'shape {tuple(feat.shape)}; set neck.in_channels to the backbone\'s output '
                f'channels')
        return (F.relu(self.reduce_conv(feat)), )
