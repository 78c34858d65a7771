"""A fast detector helped by the late features of a strong one (Vu et al., Sec. 4.2 / 5.3).

A fast single-frame detector handles every frame. A strong (memory)
detector runs every ``interval`` frames; its features of frame s become
available ``delay`` frames later (Δ in the seed). At frame t the newest
available strong map ``M_s`` is warped to t with ``D_{t,s}`` and averaged with
the fast detector's features (same channel count) before the fast heads::

    F'_t = (F_t + flow_warp(M_s, flow_net(I_t, I_s))) / 2

This module is the deterministic version (the strong result of frame s is
used exactly from frame s + delay on), which the stock test loop runs and
tests use; :class:`mmvid_memory.apis.FastStrongRunner` runs the strong
detector in a background thread (or on another GPU) with the same pieces.
Training (the seed trains R-FCN-18 on the fixed strong features): the strong
features (no gradient) fused into the fast features of the clip's last frame
t, the fast heads' loss at t; clips of two frames (s, t) use a fresh strong
memory, longer consecutive clips let it accumulate as at test time.
"""
import copy
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple, Union

import torch
from mmdet.models.detectors import BaseDetector
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample, OptSampleList, SampleList
from mmengine.config import Config, ConfigDict
from mmengine.runner.checkpoint import _load_checkpoint
from torch import Tensor, nn

from ...utils.cfg_keys import check_cfg_keys
from ...utils.checkpoint import check_state_dict_fits, revise_state_dict, state_dict_of
from ..memory.base import MemoryState
from ..memory.flow_warp import flow_warp
from .memory_video_detector import detector_heads_loss, detector_heads_predict
from .video_memory_state import MemoryStateBank, VideoMemoryState

FAST_STRONG_POINT = 'fast_strong'


def fuse_strong_features(fast_feat: Tensor, strong_feat: Tensor, flow: Tensor) -> Tensor:
    """Average the fast features with the strong ones warped to the current frame.

    Args:
        fast_feat (Tensor): (N, C, h, w) features ``F_t`` of the fast detector.
        strong_feat (Tensor): (N, C, h, w) strong features ``M_s`` of frame s.
        flow (Tensor): (N, 2, h, w) backward field ``D_{t,s}`` in feature pixels.

    Returns:
        Tensor: (N, C, h, w) ``(F_t + warp(M_s, D_{t,s})) / 2``.
    """
    if fast_feat.shape[1] != strong_feat.shape[1]:
        raise ValueError(f'fast + strong: the fast detector\'s features have '
                         f'{fast_feat.shape[1]} channels, the strong detector\'s '
                         f'{strong_feat.shape[1]}; the seed averages maps of the same '
                         'dimensionality (pick fast_level / strong_level or configs whose necks '
                         'give the same out_channels)')
    if fast_feat.shape[-2:] != strong_feat.shape[-2:]:
        raise ValueError(f'fast + strong: feature maps {tuple(fast_feat.shape)} (fast) and '
                         f'{tuple(strong_feat.shape)} (strong) differ in size: both detectors '
                         'need the same feature stride')
    return (fast_feat + flow_warp(strong_feat.to(fast_feat.dtype), flow)) / 2


@dataclass
class StrongFeatures:
    """The strong detector's output for one frame.

    Attributes:
        frame_id (int): the frame s it was computed on.
        feat (Tensor): (1, C, h, w) its (memory) features ``M_s``.
        img (Tensor): (1, 3, H, W) network input of frame s, for the flow.
        ready_at (int): first frame that may use it (``s + delay``).
    """

    frame_id: int
    feat: Tensor
    img: Tensor
    ready_at: int

    def to(self, device: Union[str, torch.device]) -> 'StrongFeatures':
        return StrongFeatures(self.frame_id, self.feat.to(device), self.img.to(device),
                              self.ready_at)


class FastStrongState(MemoryState):
    """One video of the fast + strong detector.

    Attributes:
        strong_state (VideoMemoryState | None): the strong detector's memory.
        pending (list[StrongFeatures]): computed, not yet available.
        latest (StrongFeatures | None): newest available strong features.
        strong_runs (int): frames the strong detector ran on.
        fused (bool): whether the last frame used strong features.
        age (int): frames between the last frame and the strong frame it used.
    """

    def __init__(self, make_strong_state) -> None:
        self._make_strong_state = make_strong_state
        self.strong_state: Optional[VideoMemoryState] = None
        self.reset()

    def reset(self) -> None:
        if self.strong_state is not None:
            self.strong_state.reset()
        self.strong_state = self._make_strong_state()
        self.pending: List[StrongFeatures] = []
        self.latest: Optional[StrongFeatures] = None
        self.strong_runs = 0
        self.fused = False
        self.age = -1

    def offer(self, strong: StrongFeatures) -> None:
        """Add a strong result; it becomes ``latest`` once its ``ready_at`` is reached."""
        self.pending.append(strong)

    def collect(self, frame_id: int) -> Optional[StrongFeatures]:
        """Move the strong results available at ``frame_id`` to ``latest``."""
        ready = [p for p in self.pending if p.ready_at <= frame_id]
        self.pending = [p for p in self.pending if p.ready_at > frame_id]
        for strong in ready:
            if self.latest is None or strong.frame_id > self.latest.frame_id:
                self.latest = strong
        return self.latest

    def stats(self) -> Dict[str, float]:
        return dict(strong_runs=float(self.strong_runs), fused=float(self.fused),
                    strong_age=float(self.age))


def _strip_pretrained(cfg: Any) -> Any:
    """A model config without its ``init_cfg`` entries (a checkpoint replaces them all)."""
    if isinstance(cfg, dict):
        return type(cfg)({k: (None if k == 'init_cfg' else _strip_pretrained(v))
                          for k, v in cfg.items()})
    if isinstance(cfg, (list, tuple)):
        return type(cfg)(_strip_pretrained(v) for v in cfg)
    return cfg


def detector_model_cfg(spec: dict, name: str) -> dict:
    """The model config of ``fast=`` / ``strong=``: ``dict(config=PATH, checkpoint=PATH)``
    (the model of that config file) or ``dict(model=dict(...), checkpoint=...)``.

    With a checkpoint, the model's own ``init_cfg`` entries are dropped and
    the checkpoint is loaded by ``init_weights`` (prefix-free state dict);
    ``strict=False`` in the spec lets it load only what fits (see
    :meth:`FastStrongDetector.init_weights`).
    """
    if not isinstance(spec, dict) or ('config' in spec) == ('model' in spec):
        raise ValueError(f'fast + strong: `{name}` must be dict(config=PATH, checkpoint=PATH) or '
                         f'dict(model=dict(...)), got {spec!r}')
    check_cfg_keys(spec, ('config', 'model', 'checkpoint', 'strict'), f'fast + strong: `{name}`')
    if 'config' in spec:
        model = Config.fromfile(spec['config']).model
    else:
        model = copy.deepcopy(spec['model'])
    model = ConfigDict(model) if isinstance(model, dict) else model
    checkpoint = spec.get('checkpoint')
    if checkpoint is not None:
        model = _strip_pretrained(model)
        model['init_cfg'] = dict(type='Pretrained', checkpoint=checkpoint)
    return model


def _preprocessor_cfg(model_cfg: dict) -> dict:
    cfg = model_cfg.get('data_preprocessor')
    if cfg is None and 'detector' in model_cfg:
        cfg = model_cfg['detector'].get('data_preprocessor')
    if cfg is None:
        return dict(type='mmdet.VideoDataPreprocessor')
    cfg = dict(cfg)
    if cfg.get('type') in ('DetDataPreprocessor', 'mmdet.DetDataPreprocessor'):
        cfg['type'] = 'mmdet.VideoDataPreprocessor'
    return cfg


@MODELS.register_module()
class FastStrongDetector(BaseDetector):
    """A fast detector whose features are averaged with a strong detector's late ones.

    Args:
        fast (dict): the fast single-frame detector, ``dict(config=PATH,
            checkpoint=PATH)`` or ``dict(model=..., checkpoint=...)``; a
            :class:`MemoryVideoDetector` without memory is unwrapped. The
            checkpoint must fit the model (``strict=False`` in the dict: load
            what fits).
        strong (dict): the strong detector (usually a memory detector), same
            form. Frozen (the seed does not fine-tune it).
        interval (int): the strong detector runs on frames with
            ``frame_id % interval == 0``.
        delay (int, optional): Δ, frames after which a strong result is used
            (default ``interval``); 0 uses it on its own frame.
        flow_net (str | dict): ``'strong'`` (the strong memory's flow network,
            frozen unless ``train_flow``) or the config of a flow network
            (trained with the fast detector).
        fast_level (int): the fast feature level that is fused.
        strong_level (int): the strong feature level that is fused.
        train_flow (bool): train the strong detector's flow network with the
            fast detector (``flow_net='strong'`` only).
        data_preprocessor (dict, optional): default: the fast detector's.
        init_cfg (dict, optional): initialisation config.
    """

    def __init__(self,
                 fast: dict,
                 strong: dict,
                 interval: int = 4,
                 delay: Optional[int] = None,
                 flow_net: Union[str, dict] = 'strong',
                 fast_level: int = 0,
                 strong_level: int = 0,
                 train_flow: bool = False,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        fast_cfg = detector_model_cfg(fast, 'fast')
        strong_cfg = detector_model_cfg(strong, 'strong')
        if data_preprocessor is None:
            data_preprocessor = _preprocessor_cfg(fast_cfg)
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if interval < 1:
            raise ValueError(f'fast + strong: interval must be >= 1, got {interval}')
        self.interval = int(interval)
        self.delay = self.interval if delay is None else int(delay)
        if self.delay < 0:
            raise ValueError(f'fast + strong: delay must be >= 0, got {self.delay}')
        self.fast_level, self.strong_level = int(fast_level), int(strong_level)
        self.fast = self._build_fast(fast_cfg)
        self.strong = MODELS.build(strong_cfg)
        # (checkpoint, strict) of each part, checked by init_weights.
        self._part_checkpoints = {name: (spec.get('checkpoint'), bool(spec.get('strict', True)))
                                  for name, spec in (('fast', fast), ('strong', strong))}
        self._check_same_normalisation()
        if flow_net == 'strong':
            if getattr(getattr(self.strong, 'pixel_memory', None), 'flow_net', None) is None:
                raise ValueError("fast + strong: flow_net='strong' takes the strong memory's "
                                 f'flow network; {type(self.strong).__name__} has none: give '
                                 'flow_net=dict(type=...)')
            self.flow_net = None
        elif isinstance(flow_net, dict):
            self.flow_net = MODELS.build(flow_net)
        else:
            raise ValueError(f"fast + strong: flow_net must be 'strong' or a config dict, "
                             f'got {flow_net!r}')
        self.train_flow = bool(train_flow)
        for param in self.strong.parameters():
            param.requires_grad_(False)
        if self.flow_net is None and self.train_flow:
            for param in self.warp_flow_net.parameters():
                param.requires_grad_(True)
        self.state_bank = MemoryStateBank(self.new_point_states)

    # ------------------------------------------------------------------ build
    @staticmethod
    def _build_fast(cfg: dict) -> nn.Module:
        model = MODELS.build(cfg)
        if hasattr(model, 'pixel_memory'):  # a MemoryVideoDetector
            if model.with_memory:
                raise ValueError('fast + strong: the fast detector must be a single-frame '
                                 'detector; its config has a memory')
            init_cfg = getattr(model, 'init_cfg', None)
            model = model.detector
            if init_cfg is not None:  # the wrapper's checkpoint has a `detector.` prefix
                model.init_cfg = dict(init_cfg, prefix='detector.')
        return model

    def _check_same_normalisation(self) -> None:
        fast_pre, strong_pre = self.data_preprocessor, self.strong.data_preprocessor
        for key in ('mean', 'std'):
            a, b = getattr(fast_pre, key, None), getattr(strong_pre, key, None)
            if (a is None) != (b is None) or (a is not None and not torch.equal(a, b)):
                raise ValueError(f'fast + strong: the detectors normalise images differently '
                                 f'({key}: {a} vs {b}); both read one preprocessed frame')
        if getattr(fast_pre, '_channel_conversion', None) != \
                getattr(strong_pre, '_channel_conversion', None):
            raise ValueError('fast + strong: one detector converts BGR to RGB, the other not')

    def init_weights(self) -> None:
        """Load the fast and strong checkpoints (``init_cfg`` ``Pretrained``) and
        refuse one that does not fit its detector.

        mmengine's ``Pretrained`` initialiser loads non-strictly: a checkpoint
        of another model left the detector at random weights without a word.
        """
        super().init_weights()
        for name, module in (('fast', self.fast), ('strong', self.strong)):
            path, strict = self._part_checkpoints.get(name, (None, False))
            if path is None or not strict:
                continue
            init_cfg = module.init_cfg if isinstance(module.init_cfg, dict) else {}
            prefix = init_cfg.get('prefix') or ''
            state = state_dict_of(_load_checkpoint(path, map_location='cpu'))
            state = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
            check_state_dict_fits(module, revise_state_dict(state),
                                  f'{path} (fast + strong `{name}`, strict=False to load what '
                                  'fits)')

    def train(self, mode: bool = True) -> 'FastStrongDetector':
        super().train(mode)
        self.strong.eval()  # frozen, BN statistics included
        if self.flow_net is None and self.train_flow:
            self.warp_flow_net.train(mode)
        return self

    @property
    def warp_flow_net(self) -> nn.Module:
        """The flow network that warps the strong features to the current frame."""
        return self.strong.pixel_memory.flow_net if self.flow_net is None else self.flow_net

    def new_point_states(self) -> Dict[str, MemoryState]:
        make = getattr(self.strong, 'new_video_state', None)
        return {FAST_STRONG_POINT: FastStrongState(make if make is not None else lambda: None)}

    def new_video_state(self, video_id=0) -> VideoMemoryState:
        return VideoMemoryState(video_id, self.new_point_states)

    # -------------------------------------------------------------- pieces
    def is_strong_frame(self, frame_id: int) -> bool:
        return frame_id % self.interval == 0

    def strong_features(self, img: Tensor, sample: DetDataSample,
                        strong_state: Optional[VideoMemoryState], ready_at: int) -> StrongFeatures:
        """Run the strong detector on frame s (with its memory) and keep its features.

        Args:
            img (Tensor): (1, 3, H, W) preprocessed frame s.
            sample (DetDataSample): its sample (``frame_id`` in metainfo).
            strong_state (VideoMemoryState | None): the strong memory of the
                video (None for a single-frame strong detector).
            ready_at (int): frame from which the result may be used.
        """
        frame_id = int(sample.metainfo.get('frame_id', 0))
        with torch.no_grad():
            feats = self.strong.extract_feat(img)
            if strong_state is not None and getattr(self.strong, 'pixel_memory', None) is not None:
                strong_state.advance(frame_id)
                ctx = self.strong._make_ctx(img, sample, is_key=True)
                feats = self.strong._read_pixels(feats, strong_state, ctx)
        if not 0 <= self.strong_level < len(feats):
            raise ValueError(f'strong_level {self.strong_level}: the strong detector gives '
                             f'{len(feats)} feature levels')
        return StrongFeatures(frame_id, feats[self.strong_level], img, ready_at)

    def fuse(self, feats: Tuple[Tensor, ...], img: Tensor,
             strong: Optional[StrongFeatures]) -> Tuple[Tensor, ...]:
        """The fast features with the strong ones of ``strong`` averaged into ``fast_level``."""
        if strong is None:
            return feats
        if not 0 <= self.fast_level < len(feats):
            raise ValueError(f'fast_level {self.fast_level}: the fast detector gives '
                             f'{len(feats)} feature levels')
        fast_feat = feats[self.fast_level]
        grad = self.training and (self.flow_net is not None or self.train_flow)
        with torch.set_grad_enabled(grad and torch.is_grad_enabled()):
            flow = self.warp_flow_net(img, strong.img.to(img.device),
                                      out_size=fast_feat.shape[-2:])
        fused = fuse_strong_features(fast_feat, strong.feat.to(fast_feat.device), flow)
        out = list(feats)
        out[self.fast_level] = fused
        return tuple(out)

    def predict_with_strong(self, img: Tensor, sample: DetDataSample,
                            strong: Optional[StrongFeatures], rescale: bool = True
                            ) -> DetDataSample:
        """The fast detector on one frame, with ``strong`` features fused (or alone: None)."""
        feats = self.fuse(self.fast.extract_feat(img), img, strong)
        sample.pred_instances = detector_heads_predict(self.fast, feats, [sample], rescale)[0]
        return sample

    # ------------------------------------------------------------ one frame
    def predict_frame(self, img: Tensor, sample: DetDataSample, vstate: VideoMemoryState,
                      rescale: bool = True) -> DetDataSample:
        """Deterministic online step: strong every ``interval`` frames, used ``delay`` later."""
        if img.dim() != 4 or img.shape[0] != 1:
            raise ValueError(f'predict_frame takes one frame (1, 3, H, W), got {tuple(img.shape)}')
        frame_id = int(sample.metainfo.get('frame_id', vstate.num_frames_seen))
        vstate.advance(frame_id)
        state: FastStrongState = vstate.points[FAST_STRONG_POINT]
        if self.is_strong_frame(frame_id):
            state.offer(self.strong_features(img, sample, state.strong_state,
                                             frame_id + self.delay))
            state.strong_runs += 1
        strong = state.collect(frame_id)
        state.fused = strong is not None
        state.age = -1 if strong is None else frame_id - strong.frame_id
        self.predict_with_strong(img, sample, strong, rescale)
        sample.set_metainfo(dict(memory_stats=vstate.stats(), is_key_frame=state.fused))
        return sample

    # ----------------------------------------------------------- batch API
    def predict(self, batch_inputs: Tensor, batch_data_samples: SampleList,
                rescale: bool = True) -> SampleList:
        """Online prediction, frames in video order (one state per video)."""
        if batch_inputs.dim() != 4:
            raise ValueError(f'fast + strong predicts frames (B, 3, H, W), got '
                             f'{tuple(batch_inputs.shape)}')
        for b, sample in enumerate(batch_data_samples):
            meta = sample.metainfo
            if 'video_id' not in meta or 'frame_id' not in meta:
                raise KeyError("fast + strong needs 'video_id' and 'frame_id' in each frame's "
                               'metainfo; pack them with PackVideoFrameInputs')
            video_id, frame_id = meta['video_id'], int(meta['frame_id'])
            vstate = self.state_bank.open(video_id, frame_id)
            self.predict_frame(batch_inputs[b:b + 1], sample, vstate, rescale)
            self.state_bank.maybe_close(video_id, frame_id, meta.get('video_length'))
        return batch_data_samples

    def loss(self, batch_inputs: Tensor, batch_data_samples: SampleList) -> dict:
        """The fast heads' loss at the last frame t of each clip, with strong features fused.

        A clip of two frames (s, t) fuses the strong features of s computed
        from an empty memory. A longer clip of consecutive frames ending at t
        trains in the state of testing: the strong detector runs, with one
        memory, on every frame of the clip that is a strong frame
        (``frame_id % interval == 0``) and available at t (``frame_id <=
        t - delay``), and the newest of them is fused.
        """
        if batch_inputs.dim() != 5:
            raise ValueError('fast + strong trains on clips (B, T, 3, H, W) of frames (s, t) '
                             f'(VideoClipSample num_frames=2), got {tuple(batch_inputs.shape)}')
        losses: List[dict] = []
        for b, track in enumerate(batch_data_samples):
            frames = list(track.video_data_samples)
            t_idx = len(frames) - 1
            strong_idx = self.training_strong_frames(
                [int(f.metainfo.get('frame_id', i)) for i, f in enumerate(frames)])
            strong_state = self.new_point_states()[FAST_STRONG_POINT].strong_state
            strong = None
            for s_idx in strong_idx:
                strong = self.strong_features(batch_inputs[b, s_idx:s_idx + 1], frames[s_idx],
                                              strong_state, ready_at=0)
            img_t = batch_inputs[b, t_idx:t_idx + 1]
            feats = self.fuse(self.fast.extract_feat(img_t), img_t, strong)
            losses.append(detector_heads_loss(self.fast, feats, [frames[t_idx]]))
        from .memory_video_detector import average_frame_losses
        return average_frame_losses(losses)

    def training_strong_frames(self, frame_ids: List[int]) -> List[int]:
        """Positions of the clip frames the strong detector runs on in training.

        Args:
            frame_ids (list[int]): the clip's frame ids, the last is t.

        Returns:
            list[int]: for two frames, ``[0]``; for longer clips the strong
            frames available at t in order (``[0]`` when there is none).
        """
        if len(frame_ids) < 2:
            raise ValueError(f'fast + strong trains on clips of at least two frames, got '
                             f'{len(frame_ids)}')
        if len(frame_ids) == 2:
            return [0]
        last = frame_ids[-1] - self.delay
        picked = [i for i, fid in enumerate(frame_ids[:-1])
                  if self.is_strong_frame(fid) and fid <= last]
        return picked or [0]

    def extract_feat(self, batch_inputs: Tensor) -> Tuple[Tensor, ...]:
        """The fast detector's features (no strong features)."""
        return self.fast.extract_feat(batch_inputs)

    def _forward(self, batch_inputs: Tensor, batch_data_samples: OptSampleList = None):
        return self.fast._forward(batch_inputs, batch_data_samples)
