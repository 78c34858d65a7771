"""Memories warped by displacement fields: the common core of MemNet/ClockNet.

One step for a memory of temporal stride s (Vu et al., Eq. 1-2; MemNet is
the single memory of stride 1)::

    D     = flow_net(I_t, I_a)                  # a: the memory's anchor frame
    M_hat = flow_warp(M_a, D)                   # Eq. 1
    if t updates the memory (frame_id % s == 0):
        M_t = psi(M_hat, F_t)   with image evidence            (Eq. 2)
        M_t = M_hat             without (dropped / propagated)
        anchor <- t
    output_k = M_t if updated else M_hat

The first frame a state sees sets every memory to ``F`` (``M_1 = F_1``).
The output is the mean over the memories.

Which frames have image evidence:

* training: every frame but the first loses it with probability
  ``evidence_drop_prob`` (0.8 in the seed), one draw per frame shared by all
  feature levels; with ``evidence_keep_clip_prob`` > 0 that share of the
  training clips keeps the evidence of every frame, the state every test
  frame is in (an option beyond the paper);
* testing: ``propagation=dict(delta, window, anticipate)``, see
  :mod:`.warp_schedule`. On the last ``delta`` frames of each window the
  memories are only warped (fields from the images, features unused), or,
  with ``anticipate=True``, the output of the last frame with an image is
  carried on by extrapolated fields (:mod:`.anticipation`; neither image nor
  features are used). ``delta=0`` is normal inference;
* a runner can force a mode with ``ctx.extra['warp_mode']`` in
  ``('evidence', 'warp_only', 'anticipate')``.
"""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmdet.registry import MODELS
from torch import Tensor

from ...utils.cfg_keys import check_cfg_keys
from .. import flownets  # noqa: F401  (registers the flow networks)
from ..flownets.oracle_flow import flow_net_field
from .anticipation import extrapolation_step, flow_acceleration
from .base import BaseVideoMemory, FrameContext
from .clocknet_schedule import check_strides, clocknet_updates
from .flow_losses import photometric_loss, smoothness_loss
from .flow_warp import flow_warp, resize_flow
from .memnet_aggregation import build_aggregation, mean_aggregate
from .warp_schedule import uses_image_evidence
from .warp_state import AnticipationTrack, WarpMemoryState

WARP_MODES = ('evidence', 'warp_only', 'anticipate')
_FLOW_CACHE = '_warp_memory_flows'
_DROP_DRAW = '_warp_memory_evidence_dropped'
_FLOW_LOSS_TERMS = '_warp_memory_flow_loss_terms'


def default_flow_net() -> dict:
    """The FlowNetS of FGFA/DFF at full width, feature stride 16."""
    return dict(type='FlowNetS', base_channels=64, feature_stride=16, downsample=2)


def match_size(memory: Tensor, size: Tuple[int, int]) -> Tensor:
    """Resize a memory map to the current feature size (bilinear), if needed."""
    if tuple(memory.shape[-2:]) == tuple(size):
        return memory
    return F.interpolate(memory, size=size, mode='bilinear', align_corners=False)


class WarpMemoryBase(BaseVideoMemory):
    """Memories of several temporal strides, warped from frame to frame.

    Args:
        strides (Sequence[int]): temporal stride of each memory.
        flow_net (dict, optional): config of the displacement network,
            trained end to end (default :func:`default_flow_net`).
        aggregation (str): psi, ``'mean'`` (Eq. 3) or ``'weighted'`` (Eq. 4,
            one learned weighting shared by the memories).
        in_channels (int, optional): feature channels, needed by
            ``'weighted'``.
        aggregation_hidden_channels (int): width of the weighting CNNs.
        current_frame_fusion (bool): beyond the paper: on frames with image
            evidence the mean over the memories is fused with the frame's own
            features by a learned per-pixel weighting (Eq. 4's form, starting
            at 1/2 each). With the plain mean a ClockNet frame that updates
            only the stride-1 memory gives its own features 1/(2K) of the
            output, and memories several frames old keep objects where they
            were ("ghosts"); the weighting can trust the frame where the
            memories disagree with it. Needs ``in_channels``.
        evidence_drop_prob (float): training-time probability of dropping
            the image evidence of a frame (not the first).
        evidence_keep_clip_prob (float): training-time probability that a
            clip drops no evidence at all. With the seed's per-frame drop
            alone (0, the default), a clip of T frames has all its evidence
            with probability 0.2^(T-1), so the state of normal inference
            (evidence every frame) is almost never trained.
        propagation (dict, optional): test-time ``delta`` (int, default 0),
            ``window`` (int, default ``delta + 1``), ``anticipate`` (bool).
        share_flows (bool): memories with the same anchor frame share one
            displacement field (it is the same field); False computes one per
            memory, as Vu et al. counts them.
        flow_loss_weight (float): weight of an optional photometric loss on
            every field computed in training (not in the seed; for flow
            networks trained from scratch, see :mod:`.flow_losses`). The
            terms are put in ``ctx.extra['memory_losses']`` for the detector.
        flow_smooth_weight (float): weight of the field smoothness term.
        level (str): must be 'pixel'.
        init_cfg (dict, optional): initialisation config.
    """

    #: The detector may skip its write pass: these memories update in read.
    writes_memory = False

    def __init__(self,
                 strides: Sequence[int],
                 flow_net: Optional[dict] = None,
                 aggregation: str = 'mean',
                 in_channels: Optional[int] = None,
                 aggregation_hidden_channels: int = 64,
                 current_frame_fusion: bool = False,
                 evidence_drop_prob: float = 0.8,
                 evidence_keep_clip_prob: float = 0.0,
                 propagation: Optional[dict] = None,
                 share_flows: bool = True,
                 flow_loss_weight: float = 0.0,
                 flow_smooth_weight: float = 0.0,
                 level: str = 'pixel',
                 init_cfg: Optional[dict] = None) -> None:
        if level != 'pixel':
            raise ValueError(f'{type(self).__name__} warps feature maps: level must be '
                             f"'pixel', got {level!r}")
        super().__init__(level=level, init_cfg=init_cfg)
        self.strides = check_strides(strides)
        if not 0.0 <= evidence_drop_prob <= 1.0:
            raise ValueError(f'evidence_drop_prob must be in [0, 1], got {evidence_drop_prob}')
        self.evidence_drop_prob = float(evidence_drop_prob)
        if not 0.0 <= evidence_keep_clip_prob <= 1.0:
            raise ValueError(f'evidence_keep_clip_prob must be in [0, 1], '
                             f'got {evidence_keep_clip_prob}')
        self.evidence_keep_clip_prob = float(evidence_keep_clip_prob)
        self.flow_net = MODELS.build(flow_net if flow_net is not None else default_flow_net())
        self.aggregation = aggregation
        self.aggregator = build_aggregation(aggregation, in_channels, aggregation_hidden_channels)
        if current_frame_fusion and in_channels is None:
            raise ValueError('current_frame_fusion needs in_channels (the feature channels)')
        self.current_fusion = (build_aggregation('weighted', in_channels,
                                                 aggregation_hidden_channels)
                               if current_frame_fusion else None)
        self.share_flows = share_flows
        if flow_loss_weight < 0 or flow_smooth_weight < 0:
            raise ValueError(f'flow_loss_weight ({flow_loss_weight}) and flow_smooth_weight '
                             f'({flow_smooth_weight}) must be >= 0')
        self.flow_loss_weight = float(flow_loss_weight)
        self.flow_smooth_weight = float(flow_smooth_weight)
        self.propagation: Dict = {}
        self.set_propagation(**check_cfg_keys(propagation, ('delta', 'window', 'anticipate'),
                                              f'{type(self).__name__} propagation'))

    # ------------------------------------------------------------- config
    def set_propagation(self, delta: int = 0, window: Optional[int] = None,
                        anticipate: bool = False) -> None:
        """Set the test-time propagation (see :mod:`.warp_schedule`).

        Args:
            delta (int): frames without image evidence at the end of each
                window; 0 is normal inference.
            window (int, optional): window length, default ``delta + 1``.
            anticipate (bool): extrapolate the fields on those frames
                instead of computing them from the images.
        """
        uses_image_evidence(0, int(delta), window)  # validates
        self.propagation = dict(delta=int(delta), window=window, anticipate=bool(anticipate))

    def new_state(self) -> WarpMemoryState:
        return WarpMemoryState(len(self.strides))

    # ------------------------------------------------------------ helpers
    def psi(self, memory: Tensor, feat: Tensor) -> Tensor:
        """Aggregate a warped memory with image features (Eq. 3 or 4)."""
        return self.psi_with_weight(memory, feat)[0]

    def psi_with_weight(self, memory: Tensor, feat: Tensor) -> Tuple[Tensor, Tensor]:
        """psi and the mean weight alpha_F it gave the image features.

        Returns:
            tuple[Tensor, Tensor]: the new memory (N, C, H, W) and a detached
            scalar, 1/2 for the mean (Eq. 3), the mean of alpha_F over the
            pixels for the learned weighting (Eq. 4).
        """
        if self.aggregator is None:
            return mean_aggregate(memory, feat), feat.new_tensor(0.5)
        alpha = self.aggregator.weights(memory, feat)
        new = alpha[:, :1] * memory + alpha[:, 1:] * feat
        return new, alpha[:, 1:].detach().mean()

    def frame_mode(self, state: WarpMemoryState, ctx: FrameContext) -> str:
        """'evidence', 'warp_only' or 'anticipate' for this frame."""
        if state.is_empty:
            return 'evidence'
        forced = ctx.extra.get('warp_mode')
        if forced is not None:
            if forced not in WARP_MODES:
                raise ValueError(f"ctx.extra['warp_mode'] must be one of {WARP_MODES}, "
                                 f'got {forced!r}')
            return forced
        if self.training:
            if state.keeps_all_evidence:
                return 'evidence'
            if _DROP_DRAW not in ctx.extra:
                ctx.extra[_DROP_DRAW] = bool(torch.rand(()) < self.evidence_drop_prob)
            return 'warp_only' if ctx.extra[_DROP_DRAW] else 'evidence'
        prop = self.propagation
        if uses_image_evidence(ctx.frame_id, prop['delta'], prop['window']):
            return 'evidence'
        return 'anticipate' if prop['anticipate'] else 'warp_only'

    def _keep(self, tensor: Tensor) -> Tensor:
        # Training keeps the graph (gradients through time); tests must not.
        return tensor if self.training else tensor.detach()

    def _field(self, img: Tensor, ref_img: Tensor, size: Tuple[int, int], ctx: FrameContext,
               anchor: int, memory_index: Optional[int] = None) -> Tuple[Tensor, int]:
        """``D_{t,anchor}`` on a (h, w) grid and the number of flows computed.

        The field is cached in ``ctx.extra`` so the feature levels of one
        frame (FPN) share one network pass; ``memory_index`` keeps the fields
        of different memories apart when they must not be shared.
        """
        if ref_img.shape[-2:] != img.shape[-2:]:
            ref_img = F.interpolate(ref_img, size=img.shape[-2:], mode='bilinear',
                                    align_corners=False)
        cache = ctx.extra.setdefault(_FLOW_CACHE, {})
        key = (id(self.flow_net), ctx.frame_id, anchor, memory_index, img.data_ptr(),
               ref_img.data_ptr())
        if key in cache:
            return resize_flow(cache[key], size), 0
        field = flow_net_field(self.flow_net, img, ref_img, size,
                               frames=(ctx.video_id, ctx.frame_id, anchor))
        cache[key] = field
        if self.training and (self.flow_loss_weight > 0 or self.flow_smooth_weight > 0):
            self._add_flow_losses(img, ref_img, field, ctx)
        return field, 1

    def _add_flow_losses(self, img: Tensor, ref_img: Tensor, field: Tensor,
                         ctx: FrameContext) -> None:
        """Average the optional flow losses over the fields of this frame."""
        terms = ctx.extra.setdefault(_FLOW_LOSS_TERMS, [])
        terms.append((photometric_loss(img, ref_img, field), smoothness_loss(field)))
        losses = ctx.extra.setdefault('memory_losses', {})
        num = len(terms)
        if self.flow_loss_weight > 0:
            losses['loss_flow_photo'] = self.flow_loss_weight * sum(t[0] for t in terms) / num
        if self.flow_smooth_weight > 0:
            losses['loss_flow_smooth'] = self.flow_smooth_weight * sum(t[1] for t in terms) / num

    @staticmethod
    def _check_inputs(feat: Tensor, state: WarpMemoryState, ctx: FrameContext) -> None:
        if feat.dim() != 4:
            raise ValueError(f'feat must be (N, C, h, w), got {tuple(feat.shape)}')
        if ctx.img is None or ctx.img.dim() != 4 or ctx.img.shape[0] != feat.shape[0]:
            shape = None if ctx.img is None else tuple(ctx.img.shape)
            raise ValueError(f'ctx.img must be (N, 3, H, W) with N = {feat.shape[0]} like '
                             f'feat; got {shape}')
        if state.last_frame_id is not None and ctx.frame_id <= state.last_frame_id:
            raise ValueError(f'frame {ctx.frame_id} read after frame {state.last_frame_id}: '
                             'frames must come in order; reset the state for a new video')
        memory = state.scales[0].memory
        if memory is not None and memory.shape[:2] != feat.shape[:2]:
            raise ValueError(f'feat {tuple(feat.shape)} does not match the memory '
                             f'{tuple(memory.shape)} (N and C must stay the same in a video)')

    # --------------------------------------------------------------- read
    def read(self, feat: Tensor, state: WarpMemoryState, ctx: FrameContext) -> Tensor:
        """Warp the memories to this frame, aggregate, return their mean.

        Args:
            feat (Tensor): (N, C, h, w) features ``F_t`` of the frame.
            state (WarpMemoryState): the video's memories, updated in place.
            ctx (FrameContext): ``img`` (N, 3, H, W) and ``frame_id`` are used.

        Returns:
            Tensor: (N, C, h, w) the memory ``M_t`` (mean over memories).
        """
        self._check_inputs(feat, state, ctx)
        mode = self.frame_mode(state, ctx)
        if state.is_empty:
            out = self._start(feat, state, ctx)
        elif mode == 'anticipate':
            out = self._anticipate(feat, state, ctx)
        else:
            out = self._step(feat, state, ctx, with_evidence=mode == 'evidence')
        state.last_frame_id = int(ctx.frame_id)
        return out

    def _start(self, feat: Tensor, state: WarpMemoryState, ctx: FrameContext) -> Tensor:
        kept = self._keep(feat)
        for scale in state.scales:
            scale.memory, scale.anchor_frame, scale.anchor_img = kept, int(ctx.frame_id), ctx.img
        state.last_img, state.last_img_frame = ctx.img, int(ctx.frame_id)
        state.last_output = kept
        state.step_fields.clear()
        state.anticipation = None
        state.keeps_all_evidence = bool(
            self.training and torch.rand(()) < self.evidence_keep_clip_prob)
        state.record('evidence', flows=0, warps=0, current_weight=1.0)
        return feat

    def _step(self, feat: Tensor, state: WarpMemoryState, ctx: FrameContext,
              with_evidence: bool) -> Tensor:
        size = tuple(feat.shape[-2:])
        img, frame_id = ctx.img, int(ctx.frame_id)
        updates = clocknet_updates(frame_id, self.strides)
        fields: Dict[int, Tensor] = {}
        outputs: List[Tensor] = []
        # Weight of F_t in each memory's output, for the health report.
        feat_weights: List[Tensor] = []
        num_flows = num_warps = 0
        for k, scale in enumerate(state.scales):
            anchor = scale.anchor_frame
            if self.share_flows and anchor in fields:
                field = fields[anchor]
            else:
                field, computed = self._field(img, scale.anchor_img, size, ctx, anchor,
                                              None if self.share_flows else k)
                fields[anchor] = field
                num_flows += computed
            warped = flow_warp(match_size(scale.memory, size), field)
            num_warps += 1
            if updates[k] and with_evidence:
                new, feat_weight = self.psi_with_weight(warped, feat)
                feat_weights.append(feat_weight)
            else:
                new, feat_weight = warped, None
            if updates[k]:
                scale.memory, scale.anchor_frame, scale.anchor_img = self._keep(new), frame_id, img
            outputs.append(new)
        step = None
        if state.last_img_frame == state.last_frame_id:  # the previous frame had an image
            step = fields.get(state.last_frame_id)
            if step is None and self.propagation['anticipate'] and not self.training:
                # No memory is anchored at the previous frame, but anticipation
                # needs the one-frame field.
                step, computed = self._field(img, state.last_img, size, ctx, state.last_frame_id)
                num_flows += computed
        if step is None:
            state.step_fields.clear()
        else:
            state.step_fields.append(step.detach())
        out = outputs[0] if len(outputs) == 1 else torch.stack(outputs).mean(dim=0)
        current = sum(float(w) for w in feat_weights) / len(state.scales)
        if self.current_fusion is not None and with_evidence:
            alpha = self.current_fusion.weights(out, feat)
            out = alpha[:, :1] * out + alpha[:, 1:] * feat
            alpha_f = float(alpha[:, 1:].detach().mean())
            current = alpha_f + (1 - alpha_f) * current
        state.last_img, state.last_img_frame = img, frame_id
        state.last_output = self._keep(out)
        state.anticipation = None
        state.record('evidence' if with_evidence else 'warp_only', num_flows, num_warps,
                     current_weight=current)
        return out

    def _anticipate(self, feat: Tensor, state: WarpMemoryState, ctx: FrameContext) -> Tensor:
        size = tuple(feat.shape[-2:])
        track = state.anticipation
        if track is None:
            base = match_size(state.last_output, size)
            fields = [resize_flow(f, size) for f in state.step_fields]
            if not fields:  # no motion seen yet: stand still
                fields = [base.new_zeros((base.shape[0], 2) + size)]
            # Two fields give the acceleration; one gives constant velocity.
            accel = flow_acceleration(fields[-1], fields[0]) if len(fields) == 2 \
                else torch.zeros_like(fields[-1])
            track = AnticipationTrack(memory=base, flow_last=fields[-1], acceleration=accel)
            state.anticipation = track
        steps = max(1, int(ctx.frame_id) - int(state.last_frame_id))
        memory = match_size(track.memory, size)
        field, accel = resize_flow(track.flow_last, size), resize_flow(track.acceleration, size)
        for _ in range(steps):
            field, accel = extrapolation_step(field, accel)
            memory = flow_warp(memory, field)
        track.memory, track.flow_last, track.acceleration = self._keep(memory), field, accel
        state.record('anticipate', flows=0, warps=steps, current_weight=0.0)
        return memory
