"""Box propagation, the baseline of Vu et al.'s Table 2, as a test-time mode.

Frames are cut into windows as for feature propagation
(:mod:`..memory.warp_schedule`): the first ``window - delta`` frames of a
window are detected normally (with the memory); on the last ``delta`` frames
neither backbone nor memory run, the detections of the frame before are moved
by the mean displacement inside each box (:func:`propagate_boxes`), with the
field computed by the memory's flow network from the two images.

``mode='step'`` moves the boxes frame by frame with one-frame fields
``D_{t,t-1}`` (one field per propagated frame, as MemNet warps);
``mode='direct'`` moves the boxes of the last detected frame ``s`` straight
to ``t`` with ``D_{t,s}`` (as ClockNet warps a memory from its anchor).
"""
from dataclasses import dataclass, fields
from typing import Dict, Optional, Tuple

import torch
from mmengine.structures import InstanceData
from torch import Tensor

from ...utils.cfg_keys import check_cfg_keys
from ..memory.base import MemoryState
from ..memory.warp_boxes import propagate_boxes
from ..memory.warp_schedule import frames_since_evidence, uses_image_evidence

BOX_PROPAGATION_MODES = ('step', 'direct')
#: Name of the box-propagation state among a video's memory points.
BOX_TRACK_POINT = 'box_propagation'


@dataclass(frozen=True)
class BoxPropagationConfig:
    """``test_cfg.box_propagation`` of :class:`MemoryVideoDetector`.

    Attributes:
        delta (int): frames propagated at the end of each window; 0 is normal
            inference.
        window (int | None): window length, default ``delta + 1``.
        mode (str): 'step' (one-frame fields) or 'direct' (field from the last
            detected frame).
        num_samples (int): samples per box side for the mean displacement.
        clip (bool): clip moved boxes to the image.
    """

    delta: int = 0
    window: Optional[int] = None
    mode: str = 'step'
    num_samples: int = 7
    clip: bool = True

    def __post_init__(self) -> None:
        uses_image_evidence(0, int(self.delta), self.window)  # validates delta / window
        if self.mode not in BOX_PROPAGATION_MODES:
            raise ValueError(f'box_propagation.mode must be one of {BOX_PROPAGATION_MODES}, '
                             f'got {self.mode!r}')
        if self.num_samples < 1:
            raise ValueError(f'box_propagation.num_samples must be >= 1, got {self.num_samples}')

    def has_evidence(self, frame_id: int) -> bool:
        return uses_image_evidence(frame_id, self.delta, self.window)

    def gap(self, frame_id: int) -> int:
        return frames_since_evidence(frame_id, self.delta, self.window)


def build_box_propagation(cfg: Optional[dict]) -> Optional[BoxPropagationConfig]:
    """A :class:`BoxPropagationConfig` from a config dict (None: off)."""
    if cfg is None:
        return None
    if isinstance(cfg, BoxPropagationConfig):
        return cfg
    known = [f.name for f in fields(BoxPropagationConfig)]
    return BoxPropagationConfig(**check_cfg_keys(cfg, known, 'test_cfg.box_propagation'))


class BoxTrackState(MemoryState):
    """What box propagation keeps of a video: the last frame's boxes and image.

    Attributes:
        dets (InstanceData | None): boxes (network-input pixels), scores,
            labels of the previous frame.
        img (Tensor | None): network input the boxes belong to ('step') or
            of the last detected frame ('direct').
        feat_size (tuple | None): (h, w) of the detector's feature map.
        frame_id (int): the frame of ``img``.
        flows (int): fields computed at the last frame.
        frames (int): frames propagated so far.
    """

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.dets: Optional[InstanceData] = None
        self.img: Optional[Tensor] = None
        self.frame_id = 0
        self.feat_size: Optional[Tuple[int, int]] = None
        self.flows = 0
        self.frames = 0

    @property
    def ready(self) -> bool:
        return self.dets is not None

    def record_detection(self, img: Tensor, dets: InstanceData, feat_size: Tuple[int, int],
                         frame_id: int = 0) -> None:
        self.img, self.dets, self.feat_size = img, dets, tuple(feat_size)
        self.frame_id = int(frame_id)
        self.flows = 0

    def stats(self) -> Dict[str, float]:
        return dict(flows=float(self.flows), propagated_frames=float(self.frames))


def move_detections(dets: InstanceData, flow: Tensor, stride: float,
                    img_shape: Optional[Tuple[int, int]], num_samples: int = 7) -> InstanceData:
    """Detections of frame s moved to frame t by a backward field ``D_{t,s}``.

    Args:
        dets (InstanceData): ``bboxes`` (D, 4) in network-input pixels,
            ``scores`` (D,), ``labels`` (D,).
        flow (Tensor): (1, 2, h, w) field ``D_{t,s}`` in feature pixels.
        stride (float): input pixels per feature pixel.
        img_shape (tuple, optional): (h, w) to clip the moved boxes to.
        num_samples (int): samples per box side for the mean.

    Returns:
        InstanceData: same scores and labels, moved boxes.
    """
    boxes = propagate_boxes(dets.bboxes, flow, stride, direction='backward',
                            num_samples=num_samples)
    if img_shape is not None:
        height, width = img_shape
        boxes = torch.stack([boxes[:, 0].clamp(0, width), boxes[:, 1].clamp(0, height),
                             boxes[:, 2].clamp(0, width), boxes[:, 3].clamp(0, height)], dim=1)
    out = InstanceData()
    out.bboxes = boxes
    out.scores = dets.scores
    out.labels = dets.labels
    return out
