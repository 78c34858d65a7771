"""The protocol every video memory module follows.

A memory module holds *parameters* only. Everything a video accumulates lives
in a separate state object created by :meth:`BaseVideoMemory.new_state`, so
that two videos never share memory and a state can be reset or dropped when
its video ends. The memory video detector owns one state per video and memory
point and passes it in on every call.

One frame, for one sample of the batch (the detector loops over samples):

1. ``feat = memory.read(feat, state, ctx)`` -- before the heads (pixel level)
   or before the classifier on RoI features (instance level). Must be
   differentiable so that training sends gradients through read.
2. ``memory.write(state, ctx)`` -- after the frame's detections are known;
   skipped on non-key frames in the speed mode. Writes are done without
   gradient unless a module says otherwise.
"""
from abc import ABCMeta, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Dict, Optional

import torch
from mmengine.model import BaseModule
from mmengine.structures import InstanceData


class MemoryState(metaclass=ABCMeta):
    """Memory of one video at one memory point."""

    @abstractmethod
    def reset(self) -> None:
        """Empty the memory (a new video starts)."""

    def stats(self) -> Dict[str, float]:
        """Numbers for logs and plots, e.g. ``{'rows': 120}``."""
        return {}


@dataclass
class FrameContext:
    """What a memory module may look at for the current frame of one sample.

    Attributes:
        img (Tensor): the network input of this sample, (1, 3, H, W),
            normalised and padded (``batch_input_shape``).
        frame_id (int): index of the frame in its video, from 0.
        video_id (int | str): the video this frame belongs to.
        is_key (bool): whether this frame may write memory (speed mode).
        img_shape (tuple): (h, w) of the resized image inside the padded input.
        batch_input_shape (tuple): (H, W) of the padded network input; the
            feature stride of a map of size (h_f, w_f) is H / h_f.
        feat (Tensor | None): for a write at pixel level, the frame's own
            feature map before read, (1, C, h_f, w_f).
        read_feat (Tensor | None): the feature map after read, same shape.
        roi_feats (Tensor | None): for an instance-level write, the frame's
            RoI features, (K, ...), as they entered read.
        detections (InstanceData | None): the frame's final detections with
            ``bboxes`` (D, 4) in network-input coordinates (x1, y1, x2, y2),
            ``scores`` (D,) and ``labels`` (D,), available at write time.
        extra (dict): anything else a detector wants to pass on.
    """

    img: Optional[torch.Tensor] = None
    frame_id: int = 0
    video_id: Any = 0
    is_key: bool = True
    img_shape: Optional[tuple] = None
    batch_input_shape: Optional[tuple] = None
    feat: Optional[torch.Tensor] = None
    read_feat: Optional[torch.Tensor] = None
    roi_feats: Optional[torch.Tensor] = None
    detections: Optional[InstanceData] = None
    extra: Dict[str, Any] = field(default_factory=dict)


class BaseVideoMemory(BaseModule, metaclass=ABCMeta):
    """Base class of memory modules.

    Args:
        level (str): 'pixel' (feature maps (1, C, H, W)) or 'instance'
            (RoI features (K, ...)). The detector checks that a module is
            placed at a point of its level.
        init_cfg (dict, optional): mmengine initialisation config.
    """

    level: str = 'pixel'

    def __init__(self, level: Optional[str] = None, init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        if level is not None:
            if level not in ('pixel', 'instance'):
                raise ValueError(f"level must be 'pixel' or 'instance', got {level!r}")
            self.level = level

    @abstractmethod
    def new_state(self) -> MemoryState:
        """A fresh, empty state for a new video."""

    @abstractmethod
    def read(self, feat: torch.Tensor, state: MemoryState,
             ctx: FrameContext) -> torch.Tensor:
        """Aggregate memory into the frame's features; same shape out as in."""

    def write(self, state: MemoryState, ctx: FrameContext) -> None:
        """Update the memory from the finished frame. Default: nothing."""
        return None
