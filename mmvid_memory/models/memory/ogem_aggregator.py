"""The object guided external memory of Deng et al. as a video memory module."""
import math
from typing import Optional, Tuple, Union

import torch
import torch.nn as nn
from mmdet.registry import MODELS
from torch import Tensor

from .base import BaseVideoMemory, FrameContext
from .ogem_read import ogem_attention, ogem_read, ogem_read_projected, project_memory
from .ogem_state import InstanceMemoryState, PixelMemoryState
from .ogem_write import (box_locations, decide_object_writes, feature_stride, l2norm_select,
                         objects_to_evict, pixel_rows_bound)

OgemState = Union[PixelMemoryState, InstanceMemoryState]


@MODELS.register_module()
class ExternalMemoryAggregator(BaseVideoMemory):
    """Object guided external memory (Deng et al., ICCV 2019), one level.

    Read (Eq. 1-6, :func:`ogem_read`) aggregates the memory rows into every
    location of a feature map (pixel level) or every RoI feature (instance
    level), with gradients to the features and to W_Q, W_K, W_V and lambda.
    Write (no gradient; rows are stored detached) follows the level:

    * pixel: the detections with score > ``score_thr`` select the locations
      of F~ (``ctx.read_feat``) inside their boxes; an object is stored when
      it is dissimilar to every stored object of its class, or similar but of
      higher score, and the similar ones are deleted (Eq. 7-8, with the
      attention of this frame's read); at most ``max_objects_per_class``
      objects of a class stay (``evict_policy`` picks who leaves). A frame
      with no detection above ``score_thr`` writes its L2-norm-selected
      locations instead, replacing the older such rows.
    * instance: the frame's RoI features R~ (``ctx.roi_feats``, flattened to
      (K, D)) replace the instance memory. A frame with no RoI keeps it.

    Memory rows are plain vectors, so frames of any size read any memory (the
    speed mode's down-sampled frames included). Non-key frames
    (``ctx.is_key`` false) do not write.

    Args:
        in_channels (int): c: channels of the feature map (pixel) or the
            length D of a flattened RoI feature (instance).
        level (str): 'pixel' or 'instance'.
        num_heads (int): N, heads of the multi-head attention; must divide c.
        embed_channels (int): c_bar, rows of each W_Q^k and W_K^k.
        score_thr (float): tau, score an object needs to be written.
        sim_thr (float): alpha of the similarity test D > max(n_p/n, alpha).
        max_objects_per_class (int): objects of one class in pixel memory.
        evict_policy (str): which objects exceed the cap: 'oldest' (the seed
            does not say; the default keeps the newest views) or
            'lowest_score'.
        write_interval (int): write only on frames with
            ``frame_id % write_interval == 0`` (Deng et al. Table 1 (c) updates
            instance memory every 10 frames); 1 writes every key frame.
        init_std (float): std of the normal init of W_Q and W_K (0.01).
        tied_qk_init (bool): start W_K as a copy of W_Q (one normal draw)
            instead of two independent draws (the paper's). With independent
            projections the similarity of Eq. 4 starts as noise, and
            training can settle where stored objects attend to background
            (measured on SynthVID: 0.2 % of a stored object's attention on
            its own object in the next frames). With a tied start it is the
            cosine of one random projection of both features, which keeps
            their cosine: a stored object first attends to where its
            appearance is found again. W_Q and W_K still train apart.
        share_qk (bool): one projection for W_Q and W_K (parameter ``w_q``;
            implies a tied start), so the similarity of Eq. 4 stays
            symmetric while it trains: an object keeps attending most to
            itself, which the deletion of Eq. 8 relies on. Training clips
            of a few frames never exercise that deletion; trained apart,
            W_Q and W_K drifted until a stored object no longer recognised
            itself, no object was deleted and test-time memory filled with
            stale copies (see docs/ogem.md).
        init_temperature (float): initial lambda (1).
        temperature_param (str): how lambda is learned. ``'linear'`` (the
            paper) learns lambda itself, in parameter ``temperature``;
            ``'log'`` learns ``log lambda`` (parameter ``log_temperature``),
            so an optimiser step changes lambda by a factor rather than an
            amount and lambda stays positive. Adam moves a parameter by
            about its learning rate a step, so at fine-tuning rates a linear
            lambda travels ~0.1 in hundreds of steps, while attention over
            the ~100 locations of a small map needs lambda near 10 to pick
            one location; with ``'log'`` and a learning-rate multiplier on
            ``log_temperature`` (``paramwise_cfg.custom_keys``) lambda can
            reach it in a short schedule.
        init_cfg (dict, optional): mmengine init config.
    """

    def __init__(self,
                 in_channels: int,
                 level: str = 'pixel',
                 num_heads: int = 8,
                 embed_channels: int = 32,
                 score_thr: float = 0.9,
                 sim_thr: float = 0.47,
                 max_objects_per_class: int = 10,
                 evict_policy: str = 'oldest',
                 write_interval: int = 1,
                 init_std: float = 0.01,
                 tied_qk_init: bool = False,
                 share_qk: bool = False,
                 init_temperature: float = 1.0,
                 temperature_param: str = 'linear',
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(level=level, init_cfg=init_cfg)
        if in_channels <= 0 or num_heads <= 0 or embed_channels <= 0:
            raise ValueError(f'ExternalMemoryAggregator: in_channels={in_channels}, '
                             f'num_heads={num_heads}, embed_channels={embed_channels} must be > 0')
        if in_channels % num_heads != 0:
            raise ValueError(f'ExternalMemoryAggregator: in_channels c={in_channels} is not '
                             f'divisible by num_heads N={num_heads} (W_V^k is c/N x c)')
        if max_objects_per_class < 1 or write_interval < 1:
            raise ValueError(f'max_objects_per_class={max_objects_per_class} and '
                             f'write_interval={write_interval} must be >= 1')
        if evict_policy not in ('oldest', 'lowest_score'):
            raise ValueError(f"evict_policy must be 'oldest' or 'lowest_score', "
                             f'got {evict_policy!r}')
        if temperature_param not in ('linear', 'log'):
            raise ValueError(f"temperature_param must be 'linear' or 'log', "
                             f'got {temperature_param!r}')
        if init_temperature <= 0:
            raise ValueError(f'init_temperature must be > 0, got {init_temperature}')
        self.in_channels = in_channels
        self.num_heads = num_heads
        self.embed_channels = embed_channels
        self.score_thr = score_thr
        self.sim_thr = sim_thr
        self.max_objects_per_class = max_objects_per_class
        self.evict_policy = evict_policy
        self.write_interval = write_interval
        head_channels = in_channels // num_heads
        self.w_q = nn.Parameter(torch.randn(num_heads, embed_channels, in_channels) * init_std)
        self.share_qk = share_qk
        if not share_qk:
            self.w_k = nn.Parameter(self.w_q.detach().clone() if tied_qk_init else
                                    torch.randn(num_heads, embed_channels, in_channels) *
                                    init_std)
        # W_V^k = rows k*c/N:(k+1)*c/N of I_c, so the heads together copy m_i.
        self.w_v = nn.Parameter(torch.eye(in_channels).reshape(num_heads, head_channels,
                                                               in_channels).clone())
        self.temperature_param = temperature_param
        if temperature_param == 'log':
            self.log_temperature = nn.Parameter(torch.tensor(math.log(float(init_temperature))))
        else:
            self.temperature = nn.Parameter(torch.tensor(float(init_temperature)))

    @property
    def key_projection(self) -> Tensor:
        """W_K: its own parameter, or W_Q with ``share_qk``."""
        return self.w_q if self.share_qk else self.w_k

    def attention_temperature(self) -> Tensor:
        """lambda of Eq. 4, a scalar tensor with its gradient path."""
        if self.temperature_param == 'log':
            return self.log_temperature.exp()
        return self.temperature

    def extra_repr(self) -> str:
        return (f'level={self.level}, in_channels={self.in_channels}, '
                f'num_heads={self.num_heads}, embed_channels={self.embed_channels}, '
                f'score_thr={self.score_thr}, sim_thr={self.sim_thr}, '
                f'max_objects_per_class={self.max_objects_per_class}, '
                f'temperature_param={self.temperature_param!r}')

    # ----------------------------------------------------------------- state
    def new_state(self) -> OgemState:
        return PixelMemoryState() if self.level == 'pixel' else InstanceMemoryState()

    def max_rows(self, num_locations: int, num_classes: int) -> int:
        """Bound on pixel-memory rows over any stream (see
        :func:`pixel_rows_bound`); ``num_locations`` is n of the largest
        key-frame map. Instance memory holds one frame's RoIs, so it is
        bounded by the detector's proposals per frame."""
        if self.level != 'pixel':
            raise ValueError('max_rows: instance memory holds the RoIs of one frame; its bound '
                             'is the number of proposals per frame')
        return pixel_rows_bound(num_locations, num_classes, self.max_objects_per_class)

    def _check_state(self, state) -> None:
        expected = PixelMemoryState if self.level == 'pixel' else InstanceMemoryState
        if not isinstance(state, expected):
            raise TypeError(f'{self.level}-level ExternalMemoryAggregator needs a '
                            f'{expected.__name__}, got {type(state).__name__}')

    # ------------------------------------------------------------------ read
    def _as_rows(self, feat: Tensor) -> Tensor:
        """(1, C, H, W) -> (H*W, C) at pixel level, (K, ...) -> (K, D) at
        instance level, with the channel count checked."""
        if self.level == 'pixel':
            if feat.dim() != 4 or feat.shape[0] != 1:
                raise ValueError(f'pixel-level read takes one feature map (1, C, H, W), '
                                 f'got {tuple(feat.shape)}')
            rows = feat[0].flatten(1).t()
        else:
            if feat.dim() < 2:
                raise ValueError(f'instance-level read takes RoI features (K, ...), '
                                 f'got {tuple(feat.shape)}')
            rows = feat.flatten(1)
        if rows.shape[1] != self.in_channels:
            raise ValueError(f'{self.level}-level ExternalMemoryAggregator was built with '
                             f'in_channels={self.in_channels}, features {tuple(feat.shape)} '
                             f'give {rows.shape[1]}')
        return rows

    def read(self, feat: Tensor, state: OgemState, ctx: FrameContext) -> Tensor:
        """Aggregate the memory into ``feat`` (same shape out), Eq. 1-6.

        Args:
            feat (Tensor): (1, C, H, W) map or (K, ...) RoI features.
            state: this video's state at this point; its ``last_read`` keeps
                the attention for the write and for pictures.
            ctx (FrameContext): the frame (``frame_id`` is used).

        Returns:
            Tensor: the enhanced features, shape of ``feat``.
        """
        self._check_state(state)
        if feat.shape[0] == 0:
            return feat
        x = self._as_rows(feat)
        memory = state.memory(x)
        if memory.shape[0] > 0 and not torch.is_grad_enabled():
            # Inference: W_K m and W_V m (l x c^2) only change on a write or
            # an in-place weight update (which bumps ``_version``; ``.data``
            # writes do not, and are not seen).
            key = ('projections', id(self), self.key_projection._version, self.w_v._version,
                   x.device, x.dtype)
            keys, values = state.cached(
                key, lambda: project_memory(memory, self.key_projection, self.w_v))
            y, attn = ogem_read_projected(x, keys, values, self.w_q,
                                          self.attention_temperature())
        else:
            y, attn = ogem_read(x, memory, self.w_q, self.key_projection, self.w_v,
                                self.attention_temperature())
        feat_hw = tuple(feat.shape[-2:]) if self.level == 'pixel' else None
        state.record_read(ctx.frame_id, attn, feat_hw)
        if self.level == 'pixel':
            return y.t().reshape(feat.shape)
        return y.reshape(feat.shape)

    # ----------------------------------------------------------------- write
    def write(self, state: OgemState, ctx: FrameContext) -> None:
        """Update the memory from the finished frame (no gradient)."""
        self._check_state(state)
        if not ctx.is_key or ctx.frame_id % self.write_interval != 0:
            return
        with torch.no_grad():
            if self.level == 'pixel':
                self._write_pixels(state, ctx)
            else:
                self._write_instances(state, ctx)

    def _write_instances(self, state: InstanceMemoryState, ctx: FrameContext) -> None:
        if ctx.roi_feats is None:
            raise ValueError('instance-level write needs ctx.roi_feats (the RoI features R~)')
        if ctx.roi_feats.shape[0] == 0:
            return
        ref = ctx.extra.get('num_locations')
        if ref is None and ctx.feat is not None:
            ref = ctx.feat.shape[-2] * ctx.feat.shape[-1]
        state.replace(self._as_rows(ctx.roi_feats), ctx.frame_id, ref)

    def _input_hw(self, ctx: FrameContext) -> Tuple[int, int]:
        if ctx.batch_input_shape is not None:
            return tuple(ctx.batch_input_shape)[:2]
        if ctx.img is not None:
            return tuple(ctx.img.shape[-2:])
        raise ValueError('pixel-level write needs ctx.batch_input_shape (or ctx.img) to map '
                         'boxes onto the feature map')

    def _write_attention(self, state: PixelMemoryState, ctx: FrameContext,
                         feat_hw: Tuple[int, int]) -> Tensor:
        """Head-mean attention (l, n) of this frame's read, for Eq. 8.

        Uses the record of the read when it is this frame's read of the
        current memory; otherwise recomputes it from ``ctx.feat`` (the read's
        input).
        """
        rec = state.last_read
        if (rec is not None and rec.version == state.version and rec.frame_id == ctx.frame_id
                and rec.feat_hw == tuple(feat_hw)):
            return rec.attn_mean
        fmap = ctx.feat if ctx.feat is not None else ctx.read_feat
        x = self._as_rows(fmap)
        return ogem_attention(x, state.memory(x), self.w_q, self.key_projection,
                              self.attention_temperature()).mean(0)

    def _write_pixels(self, state: PixelMemoryState, ctx: FrameContext) -> None:
        fmap = ctx.read_feat if ctx.read_feat is not None else ctx.feat
        if fmap is None:
            raise ValueError('pixel-level write needs ctx.read_feat (F~, the map after read)')
        x = self._as_rows(fmap).detach()
        feat_hw = tuple(fmap.shape[-2:])
        num_locations = x.shape[0]
        dets = ctx.detections
        keep = None
        if dets is not None and len(dets) > 0:
            keep = torch.nonzero(dets.scores > self.score_thr).flatten()
        if keep is None or keep.numel() == 0:
            picked = l2norm_select(x)
            state.replace_background(x[picked.to(x.device)], ctx.frame_id, picked, feat_hw)
            state.note_written_map(num_locations)
            state.note_write(objects_written=0, objects_deleted=0, objects_evicted=0,
                             rows_deleted=0, background_rows=int(picked.numel()))
            return
        bboxes = dets.bboxes[keep]
        scores = dets.scores[keep].tolist()
        labels = [int(v) for v in dets.labels[keep].tolist()]
        stride = feature_stride(self._input_hw(ctx), feat_hw)
        locations = box_locations(bboxes, feat_hw, stride)
        stored = state.object_infos()
        attn_mean = self._write_attention(state, ctx, feat_hw) if stored else None
        decision = decide_object_writes(labels, scores, locations, stored, attn_mean,
                                        num_locations, self.score_thr, self.sim_thr)
        rows_deleted = sum(state.objects[i].rows.shape[0] for i in decision.delete)
        state.remove_objects(decision.delete)
        written = [i for i, store in enumerate(decision.store) if store]
        for idx in written:
            state.add_object(x[locations[idx].to(x.device)], labels[idx], scores[idx],
                             ctx.frame_id, bboxes[idx].tolist(), locations[idx], feat_hw)
        objects = state.objects
        evicted = objects_to_evict(
            [o.label for o in objects], [o.frame_id for o in objects], [o.score for o in objects],
            self.max_objects_per_class, self.evict_policy)
        rows_deleted += sum(objects[i].rows.shape[0] for i in evicted)
        state.remove_objects(evicted)
        state.note_written_map(num_locations)
        state.note_write(objects_written=len(written), objects_deleted=len(decision.delete),
                         objects_evicted=len(evicted), rows_deleted=rows_deleted,
                         background_rows=0, similarity_ratios=decision.similarity_ratios)
