"""A displacement network that predicts no motion (ablation)."""
import math
from typing import Optional, Sequence

from mmdet.registry import MODELS
from mmengine.model import BaseModule
from torch import Tensor


@MODELS.register_module()
class ZeroFlow(BaseModule):
    """Always the zero field: memories are aggregated without warping.

    This is the convolutional-RNN-like baseline of Vu et al.'s Sec. 3.3
    (memory not aligned with motion); it has no parameters.

    Args:
        feature_stride (int): stride used when no ``out_size`` is given.
    """

    def __init__(self, feature_stride: int = 16, init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.feature_stride = feature_stride

    def forward(self, img_cur: Tensor, img_ref: Tensor,
                out_size: Optional[Sequence[int]] = None,
                out_stride: Optional[float] = None) -> Tensor:
        """(N, 2, h, w) zeros on the feature grid (see ``FlowNetS.forward``)."""
        if img_ref.shape != img_cur.shape:
            raise ValueError(f'img_ref {tuple(img_ref.shape)} must match img_cur '
                             f'{tuple(img_cur.shape)}')
        height, width = img_cur.shape[-2:]
        if out_size is None:
            out_size = (math.ceil(height / self.feature_stride),
                        math.ceil(width / self.feature_stride))
        return img_cur.new_zeros((img_cur.shape[0], 2, int(out_size[0]), int(out_size[1])))
