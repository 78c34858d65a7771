"""Per-video state of the memory-warp modules (MemNet, ClockNet)."""
import copy
from collections import deque
from dataclasses import dataclass
from typing import Deque, Dict, List, Optional

from torch import Tensor

from .base import MemoryState


@dataclass
class ScaleMemory:
    """One memory of one video (ClockNet has one per temporal scale).

    Attributes:
        memory (Tensor | None): (N, C, h, w) ``M^k`` in the coordinates of
            its anchor frame.
        anchor_frame (int | None): ``frame_id`` of its last update.
        anchor_img (Tensor | None): (N, 3, H, W) network input of that frame,
            the second image of the next displacement field ``D_{t, anchor}``.
    """

    memory: Optional[Tensor] = None
    anchor_frame: Optional[int] = None
    anchor_img: Optional[Tensor] = None


@dataclass
class AnticipationTrack:
    """Memory carried into frames without images by extrapolated fields.

    Attributes:
        memory (Tensor): (N, C, h, w) anticipated memory of the last frame.
        flow_last (Tensor): (N, 2, h, w) the last field used, ``D_{t,t-1}``,
            on the grid of the last frame.
        acceleration (Tensor): (N, 2, h, w) the constant acceleration (field
            units), on the same grid.
    """

    memory: Tensor
    flow_last: Tensor
    acceleration: Tensor


class WarpMemoryState(MemoryState):
    """Memories, anchors and motion history of one video.

    Args:
        num_scales (int): how many memories (1 for MemNet, K for ClockNet).

    Attributes:
        scales (list[ScaleMemory]): the memories.
        last_frame_id (int | None): the last frame read (also anticipated).
        last_img (Tensor | None): the last image seen (anticipated frames have
            none), of frame ``last_img_frame``.
        last_output (Tensor | None): the aggregated memory returned at the
            last frame with an image; anticipation starts from it.
        step_fields (deque[Tensor]): the last (at most two) fields
            ``D_{t,t-1}`` between consecutive frames, oldest first.
        anticipation (AnticipationTrack | None): set while frames are
            anticipated.
        last_flows / last_warps (int): displacement fields computed and
            warps done at the last frame (Vu et al.'s N_F and N_W).
        last_current_weight (float): weight of the last frame's own features
            in its output (1 at the first frame; 1/2 times the share of
            memories updated with evidence for the mean aggregation).
    """

    def __init__(self, num_scales: int) -> None:
        if num_scales < 1:
            raise ValueError(f'num_scales must be >= 1, got {num_scales}')
        self.num_scales = num_scales
        self.reset()

    def reset(self) -> None:
        self.scales: List[ScaleMemory] = [ScaleMemory() for _ in range(self.num_scales)]
        self.last_frame_id: Optional[int] = None
        self.last_img: Optional[Tensor] = None
        self.last_img_frame: Optional[int] = None
        self.last_output: Optional[Tensor] = None
        self.step_fields: Deque[Tensor] = deque(maxlen=2)
        self.anticipation: Optional[AnticipationTrack] = None
        self.num_frames = 0
        self.last_flows = 0
        self.last_warps = 0
        self.total_flows = 0
        self.total_warps = 0
        self.last_mode: Optional[str] = None
        self.last_current_weight = float('nan')
        # Training: this clip keeps the image evidence of every frame.
        self.keeps_all_evidence = False

    @property
    def is_empty(self) -> bool:
        """No frame of the video has been read yet."""
        return self.scales[0].memory is None

    def record(self, mode: str, flows: int, warps: int,
               current_weight: float = float('nan')) -> None:
        """Book-keeping after a frame."""
        self.last_mode = mode
        self.last_current_weight = float(current_weight)
        self.last_flows, self.last_warps = flows, warps
        self.total_flows += flows
        self.total_warps += warps
        self.num_frames += 1

    def clone(self) -> 'WarpMemoryState':
        """A copy that can be advanced independently (tensors are shared:
        updates replace them, never write into them)."""
        other = copy.copy(self)
        other.scales = [copy.copy(s) for s in self.scales]
        other.step_fields = deque(self.step_fields, maxlen=2)
        other.anticipation = copy.copy(self.anticipation)
        return other

    def _tensors(self) -> List[Tensor]:
        tensors = [self.last_img, self.last_output, *self.step_fields]
        for scale in self.scales:
            tensors += [scale.memory, scale.anchor_img]
        if self.anticipation is not None:
            tensors += [self.anticipation.memory, self.anticipation.flow_last,
                        self.anticipation.acceleration]
        unique = {}
        for tensor in tensors:
            if tensor is not None:
                unique[(tensor.data_ptr(), tuple(tensor.shape))] = tensor
        return list(unique.values())

    def memory_ages(self) -> List[int]:
        """Frames since each memory was last updated, as of the last frame
        read (0 for a memory updated there); empty before the first frame."""
        if self.last_frame_id is None:
            return []
        return [int(self.last_frame_id) - int(s.anchor_frame) for s in self.scales
                if s.anchor_frame is not None]

    def stats(self) -> Dict[str, float]:
        """``flows``/``warps`` at the last frame, their means per frame, the
        number of stored memory maps, the bytes held (maps, images,
        fields), the weight of the frame's own features in its output
        (``current_weight``) and the age of each memory (``age.k``)."""
        frames = max(self.num_frames, 1)
        maps = sum(s.memory is not None for s in self.scales)
        ages = {f'age.{k}': float(age) for k, age in enumerate(self.memory_ages())}
        return {
            'flows': float(self.last_flows),
            'warps': float(self.last_warps),
            'mean_flows': self.total_flows / frames,
            'mean_warps': self.total_warps / frames,
            'memory_maps': float(maps),
            'memory_bytes': float(sum(t.numel() * t.element_size() for t in self._tensors())),
            'current_weight': self.last_current_weight,
            **ages,
        }
