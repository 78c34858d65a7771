"""Give any mmdet detector a memory of the frames before."""
import copy
from contextlib import contextmanager
from typing import Dict, Iterator, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmdet.models.detectors import (BaseDetector, DetectionTransformer, SingleStageDetector,
                                    TwoStageDetector)
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample, OptSampleList, SampleList, TrackDataSample
from mmdet.structures.bbox import BaseBoxes
from mmdet.utils import ConfigType, OptConfigType, OptMultiConfig
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData
from torch import Tensor

from ...utils.cfg_keys import check_cfg_keys
from ..flownets.oracle_flow import flow_net_field
from ..memory.base import BaseVideoMemory, FrameContext, MemoryState
from ..memory.warp_schedule import frames_since_evidence
from .box_propagation import (BOX_TRACK_POINT, BoxPropagationConfig, BoxTrackState,
                              build_box_propagation, move_detections)
from .video_memory_state import MemoryStateBank, VideoMemoryState


#: What ``MemoryVideoDetector`` reads from its ``train_cfg`` / ``test_cfg``
#: (the wrapped detector has its own, under ``detector``).
TRAIN_CFG_KEYS = ('write_memory', 'non_key_prob', 'non_key_scale')
TEST_CFG_KEYS = ('key_frame_interval', 'non_key_scale', 'box_propagation')


def average_frame_losses(frame_losses: List[Dict]) -> Dict:
    """Mean of each loss term over the frames that have it; list-valued terms element-wise.

    Terms some frames lack (e.g. a flow loss, which the first frame of a
    clip has no field for) are averaged over the frames that report them.
    """
    if not frame_losses:
        raise ValueError('no frame produced losses')
    keys: List[str] = []
    for losses in frame_losses:
        keys.extend(key for key in losses if key not in keys)
    out = {}
    for key in keys:
        values = [losses[key] for losses in frame_losses if key in losses]
        if isinstance(values[0], (list, tuple)):
            out[key] = [sum(parts) / len(values) for parts in zip(*values)]
        else:
            out[key] = sum(values) / len(values)
    return out


#: Largest alignment inferred for a down-sampled frame when the data
#: preprocessor names no ``pad_size_divisor``: the coarsest stride of mmdet's
#: common backbones, whose PAFPN-style necks (YOLOX, RTMDet) add maps of
#: adjacent strides and so need inputs divisible by it.
MAX_INPUT_ALIGNMENT = 32


def input_alignment(height: int, width: int, pad_size_divisor: int = 1) -> int:
    """The size multiple a down-sampled (non-key) frame is padded to.

    The data preprocessor's ``pad_size_divisor`` when it names one (> 1);
    otherwise the power of two, at most :data:`MAX_INPUT_ALIGNMENT`, that
    divides the full-size input the detector accepted: a 96 x 128 input of a
    preprocessor without divisor (mmdet's RTMDet configs) gives 32, so the
    half-size frame, 48 x 64, is padded to 64 x 64.
    """
    if pad_size_divisor and pad_size_divisor > 1:
        return int(pad_size_divisor)
    align = 1
    while align < MAX_INPUT_ALIGNMENT and height % (2 * align) == 0 and width % (2 * align) == 0:
        align *= 2
    return align


def resize_frame_input(img: Tensor, sample: DetDataSample, scale: float,
                       with_gt: bool = False,
                       pad_size_divisor: int = 1) -> Tuple[Tensor, DetDataSample]:
    """Down-sample a network input, re-pad it and update its sample's geometry.

    Args:
        img (Tensor): (1, 3, H, W) normalised, padded input.
        sample (DetDataSample): the frame's sample; not modified.
        scale (float): factor in (0, 1].
        with_gt (bool): also scale the ground-truth boxes (``gt_instances``
            and ``ignored_instances``, in network-input coordinates), for a
            loss on the resized frame.
        pad_size_divisor (int): the resized input is padded (with zeros, the
            normalised padding value) at the bottom and right to a multiple
            of it, as the data preprocessor pads full frames (the detector
            passes :func:`input_alignment`). 1: no padding.

    Returns:
        tuple: the resized input (1, 3, H', W'), H' and W' the multiples of
        ``pad_size_divisor`` at or above round(H*s) and round(W*s), and a copy of
        ``sample`` whose ``img_shape``, ``batch_input_shape``, ``pad_shape``
        and ``scale_factor`` describe it, so predictions rescale to the
        original image.
    """
    height, width = img.shape[-2:]
    new_h, new_w = max(1, round(height * scale)), max(1, round(width * scale))
    resized = F.interpolate(img, size=(new_h, new_w), mode='bilinear', align_corners=False)
    align = max(1, int(pad_size_divisor))
    pad_h, pad_w = -(-new_h // align) * align, -(-new_w // align) * align
    if (pad_h, pad_w) != (new_h, new_w):
        resized = F.pad(resized, (0, pad_w - new_w, 0, pad_h - new_h), value=0.0)
    sy, sx = new_h / height, new_w / width
    new_sample = sample.clone()
    meta = sample.metainfo
    img_h, img_w = meta.get('img_shape', (height, width))[:2]
    sf = meta.get('scale_factor', (1.0, 1.0))
    new_sample.set_metainfo(dict(
        img_shape=(max(1, round(img_h * sy)), max(1, round(img_w * sx))),
        batch_input_shape=(pad_h, pad_w),
        pad_shape=(pad_h, pad_w),
        scale_factor=(sf[0] * sx, sf[1] * sy)))
    if with_gt:
        for key in ('gt_instances', 'ignored_instances'):
            if key in new_sample and 'bboxes' in new_sample.get(key):
                instances = new_sample.get(key).clone()
                instances.bboxes = _scaled_boxes(instances.bboxes, sx, sy)
                new_sample.set_field(instances, key)
    return resized, new_sample


def _clip_to_frame(results: InstanceData, sample: DetDataSample) -> None:
    """Clip detections in original-image coordinates to the frame (``ori_shape``)."""
    shape = sample.metainfo.get('ori_shape')
    if shape is None or len(results) == 0:
        return
    height, width = shape[:2]
    boxes = results.bboxes
    if isinstance(boxes, BaseBoxes):
        boxes.clip_((height, width))
    else:
        boxes[:, 0::2] = boxes[:, 0::2].clamp(0, width)
        boxes[:, 1::2] = boxes[:, 1::2].clamp(0, height)


def _scaled_boxes(bboxes, sx: float, sy: float):
    """(x1, y1, x2, y2) boxes, a tensor or mmdet's box type, scaled per axis."""
    if hasattr(bboxes, 'rescale_'):
        bboxes = bboxes.clone()
        bboxes.rescale_((sx, sy))
        return bboxes
    return bboxes * bboxes.new_tensor([sx, sy, sx, sy])


def detector_heads_loss(det: BaseDetector, x: Tuple[Tensor, ...], samples: SampleList) -> dict:
    """Losses of an mmdet detector's heads on given features (RPN + RoI head, the
    dense head, or a DETR-family transformer and head)."""
    if isinstance(det, SingleStageDetector):
        return det.bbox_head.loss(x, samples)
    if isinstance(det, DetectionTransformer):
        head_inputs = det.forward_transformer(x, samples)
        return det.bbox_head.loss(**head_inputs, batch_data_samples=samples)
    losses = dict()
    if det.with_rpn:
        proposal_cfg = det.train_cfg.get('rpn_proposal', det.test_cfg.rpn)
        rpn_samples = copy.deepcopy(samples)
        for sample in rpn_samples:
            sample.gt_instances.labels = torch.zeros_like(sample.gt_instances.labels)
        rpn_losses, rpn_results = det.rpn_head.loss_and_predict(
            x, rpn_samples, proposal_cfg=proposal_cfg)
        for key in list(rpn_losses.keys()):
            if 'loss' in key and 'rpn' not in key:
                rpn_losses[f'rpn_{key}'] = rpn_losses.pop(key)
        losses.update(rpn_losses)
    else:
        rpn_results = [sample.proposals for sample in samples]
    losses.update(det.roi_head.loss(x, rpn_results, samples))
    return losses


def detector_heads_predict(det: BaseDetector, x: Tuple[Tensor, ...], samples: SampleList,
                           rescale: bool = True) -> List[InstanceData]:
    """Detections of an mmdet detector's heads on given features."""
    if isinstance(det, SingleStageDetector):
        return det.bbox_head.predict(x, samples, rescale=rescale)
    if isinstance(det, DetectionTransformer):
        # A DETR-family transformer builds its head inputs by mode (encoder
        # proposals, DINO's denoising queries in training): detections of a
        # training clip's frame, for the memory write, come from the test-mode
        # path, as in mmdet's own predict.
        was_training = det.training
        det.train(False)
        try:
            head_inputs = det.forward_transformer(x, samples)
            return det.bbox_head.predict(**head_inputs, rescale=rescale,
                                         batch_data_samples=samples)
        finally:
            det.train(was_training)
    if samples[0].get('proposals', None) is None:
        rpn_results = det.rpn_head.predict(x, samples, rescale=False)
    else:
        rpn_results = [sample.proposals for sample in samples]
    return det.roi_head.predict(x, rpn_results, samples, rescale=rescale)


@MODELS.register_module()
class MemoryVideoDetector(BaseDetector):
    """Wrap an mmdet detector and place memory modules at named points.

    Points:
        * pixel level: on the feature maps after backbone and neck, before
          every head (``pixel_memory``, applied to ``pixel_levels``);
        * instance level: on the RoI features right before the classifier of
          a two-stage detector (``instance_memory``), i.e. the first input of
          the module at ``instance_point`` (``roi_head.bbox_head``: R-FCN's
          pooled position-sensitive features or ``StandardRoIHead``'s RoI
          features; a cascade names one stage's head,
          ``roi_head.bbox_head.<i>``).

    Two-stage, single-stage and DETR-family detectors take pixel memory
    (DETR-family: on the neck's maps that feed the transformer encoder);
    instance memory needs RoI features, so only two-stage detectors take it.

    Online: ``predict`` takes frames in video order and only uses the past.
    Each video's memory lives in a :class:`VideoMemoryState`; during the
    stock test loop the detector keeps them in a :class:`MemoryStateBank`
    keyed by ``video_id`` (created at frame 0, dropped after the last frame).
    :meth:`predict_frame` takes the state explicitly, for streams.

    Training follows Deng et al.: the frames of a clip (``TrackDataSample``, in
    temporal order) are processed in sequence; each reads the memory written
    after the frames before it, gradients flow through read, and writes use
    the frame's own detections (computed without gradient). Loss terms are
    averaged over the frames.

    Args:
        detector (dict): config of the wrapped mmdet detector.
        pixel_memory (dict, optional): config of a pixel-level
            :class:`BaseVideoMemory`.
        instance_memory (dict, optional): config of an instance-level
            :class:`BaseVideoMemory` (two-stage detectors only).
        pixel_levels (Sequence[int], optional): feature levels that read the
            pixel memory, each with its own state; default all levels.
        instance_point (str): dotted path of the module whose first input is
            the RoI features; a container of heads (a cascade's
            ``roi_head.bbox_head``) is refused with the stage paths to use.
        train_cfg (dict, optional): ``write_memory`` (bool, default True):
            whether training writes memory between the frames of a clip;
            the speed mode in training: ``non_key_prob`` (float, default 0),
            the probability that a clip frame after the first is a non-key
            frame, down-sampled by ``non_key_scale`` (float, default 1.0)
            and only reading memory, as non-key frames are at test time.
            Unknown keys are an error (here and in ``test_cfg``).
        test_cfg (dict, optional): the speed mode: ``key_frame_interval``
            (int, default 1: every frame is a key frame) and
            ``non_key_scale`` (float, default 1.0): non-key frames are
            down-sampled by it and only read memory. ``box_propagation``
            (dict, optional): the box-propagation baseline of Vu et al.
            (``delta``, ``window``, ``mode``; see :mod:`.box_propagation`),
            which needs a pixel memory with a ``flow_net``.
        data_preprocessor (dict, optional): defaults to the wrapped
            detector's, as a :class:`VideoDataPreprocessor`.
        frozen_modules (Sequence[str], optional): dotted names of submodules
            (e.g. ``'detector'``) whose parameters are not trained and which
            stay in eval mode (BatchNorm uses its running statistics), as
            MMTracking's ``frozen_modules``: the memory-only stage of
            Deng et al. (Sec. 4.1) trains the memory on a fixed detector.
        init_cfg (dict, optional): initialisation config.
    """

    def __init__(self,
                 detector: ConfigType,
                 pixel_memory: OptConfigType = None,
                 instance_memory: OptConfigType = None,
                 pixel_levels: Optional[Sequence[int]] = None,
                 instance_point: str = 'roi_head.bbox_head',
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 data_preprocessor: OptConfigType = None,
                 frozen_modules: Optional[Sequence[str]] = None,
                 init_cfg: OptMultiConfig = None) -> None:
        # mmdet's detectors read their configs by attribute.
        detector = ConfigDict(copy.deepcopy(dict(detector)))
        det_preprocessor = detector.pop('data_preprocessor', None)
        if data_preprocessor is None and det_preprocessor is not None:
            data_preprocessor = dict(det_preprocessor)
            if data_preprocessor.get('type') in ('DetDataPreprocessor', 'mmdet.DetDataPreprocessor'):
                data_preprocessor['type'] = 'mmdet.VideoDataPreprocessor'
        if data_preprocessor is None:
            data_preprocessor = dict(type='mmdet.VideoDataPreprocessor')
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.detector = MODELS.build(detector)
        if not isinstance(self.detector,
                          (TwoStageDetector, SingleStageDetector, DetectionTransformer)):
            raise TypeError(
                f'MemoryVideoDetector wraps two-stage, single-stage and DETR-family mmdet '
                f'detectors; got {type(self.detector).__name__}')
        self.pixel_memory = self._build_memory(pixel_memory, 'pixel')
        self.instance_memory = self._build_memory(instance_memory, 'instance')
        self.pixel_levels = None if pixel_levels is None else tuple(pixel_levels)
        self.instance_point = instance_point
        if self.instance_memory is not None:
            if not isinstance(self.detector, TwoStageDetector):
                # DETR-family decoders refine a fixed set of queries whose order
                # carries no object identity between frames, unlike RoI features
                # of the frame's own proposals: there is no per-object input to
                # read memory into before the classifier.
                raise TypeError('instance_memory needs a two-stage detector (RoI features); '
                                f'{type(self.detector).__name__} has none: use pixel_memory')
            self._instance_module()  # fail at build time if the point does not exist
        self.train_cfg = check_cfg_keys(train_cfg, TRAIN_CFG_KEYS, 'MemoryVideoDetector train_cfg')
        self.test_cfg = check_cfg_keys(test_cfg, TEST_CFG_KEYS, 'MemoryVideoDetector test_cfg')
        self.train_non_key_prob = float(self.train_cfg.get('non_key_prob', 0.0))
        self.train_non_key_scale = float(self.train_cfg.get('non_key_scale', 1.0))
        if not 0 <= self.train_non_key_prob <= 1:
            raise ValueError(f'train_cfg.non_key_prob must be in [0, 1], '
                             f'got {self.train_non_key_prob}')
        if not 0 < self.train_non_key_scale <= 1:
            raise ValueError(f'train_cfg.non_key_scale must be in (0, 1], '
                             f'got {self.train_non_key_scale}')
        self.key_frame_interval = int(self.test_cfg.get('key_frame_interval', 1))
        self.non_key_scale = float(self.test_cfg.get('non_key_scale', 1.0))
        if self.key_frame_interval < 1:
            raise ValueError(f'test_cfg.key_frame_interval must be >= 1, got {self.key_frame_interval}')
        if not 0 < self.non_key_scale <= 1:
            raise ValueError(f'test_cfg.non_key_scale must be in (0, 1], got {self.non_key_scale}')
        self.box_propagation: Optional[BoxPropagationConfig] = None
        self.set_box_propagation(self.test_cfg.get('box_propagation'))
        self.state_bank = MemoryStateBank(self.new_point_states)
        self.frozen_modules = tuple(frozen_modules or ())
        for name in self.frozen_modules:
            for param in self._submodule(name, 'frozen_modules').parameters():
                param.requires_grad_(False)

    def _submodule(self, dotted: str, what: str) -> torch.nn.Module:
        """The submodule at a dotted path, with an error naming ``what`` set it."""
        module: torch.nn.Module = self
        for name in dotted.split('.'):
            if not hasattr(module, name) or not isinstance(getattr(module, name),
                                                           torch.nn.Module):
                raise AttributeError(f'{what} {dotted!r}: {type(module).__name__} has no '
                                     f'submodule {name!r}')
            module = getattr(module, name)
        return module

    def train(self, mode: bool = True) -> 'MemoryVideoDetector':
        """Set the mode; frozen modules stay in eval mode."""
        super().train(mode)
        for name in getattr(self, 'frozen_modules', ()):
            self._submodule(name, 'frozen_modules').eval()
        return self

    # ------------------------------------------------------------------ build
    @staticmethod
    def _build_memory(cfg: OptConfigType, level: str) -> Optional[BaseVideoMemory]:
        if cfg is None:
            return None
        cfg = dict(cfg)
        cfg.setdefault('level', level)
        memory = MODELS.build(cfg)
        if not isinstance(memory, BaseVideoMemory):
            raise TypeError(f'{level}_memory must build a BaseVideoMemory, got {type(memory).__name__}')
        if memory.level != level:
            raise ValueError(f'{level}_memory was built with level={memory.level!r}')
        return memory

    def set_box_propagation(self, cfg: Optional[dict]) -> None:
        """Switch the box-propagation baseline on (a config dict) or off (None)."""
        prop = build_box_propagation(cfg)
        if prop is not None and getattr(self.pixel_memory, 'flow_net', None) is None:
            raise ValueError('test_cfg.box_propagation moves boxes with the flow network of the '
                             'pixel memory (MemNetWarper / ClockNetAggregator `flow_net`); this '
                             f'detector has pixel_memory={type(self.pixel_memory).__name__}')
        if prop is not None and self.non_key_scale < 1.0:
            raise ValueError('test_cfg.box_propagation cannot be combined with the speed mode\'s '
                             f'non_key_scale={self.non_key_scale} (boxes and fields would live '
                             'on grids of different sizes)')
        self.box_propagation = prop
        self.test_cfg['box_propagation'] = None if prop is None else dict(prop.__dict__)

    def _instance_module(self) -> torch.nn.Module:
        module: torch.nn.Module = self.detector
        for name in self.instance_point.split('.'):
            if not hasattr(module, name):
                raise AttributeError(
                    f'instance_point {self.instance_point!r}: {type(module).__name__} has no '
                    f'submodule {name!r}')
            module = getattr(module, name)
        if isinstance(module, (torch.nn.ModuleList, torch.nn.ModuleDict)):
            # A container is never called: a hook on it would read nothing
            # (a cascade's per-stage bbox heads live in a ModuleList).
            stages = ', '.join(repr(f'{self.instance_point}.{key}') for key in
                               (module.keys() if isinstance(module, torch.nn.ModuleDict)
                                else range(len(module))))
            raise ValueError(
                f'instance_point {self.instance_point!r} is a {type(module).__name__} of '
                f'{len(module)} heads (e.g. the stages of a cascade), which is never called '
                f'itself: name the head whose input the memory reads, one of {stages}')
        return module

    def _non_key_alignment(self, img: Tensor) -> int:
        """What a down-sampled frame of the full-size input ``img`` is padded to
        (:func:`input_alignment` of the data preprocessor's ``pad_size_divisor``)."""
        divisor = int(getattr(self.data_preprocessor, 'pad_size_divisor', 1) or 1)
        return input_alignment(img.shape[-2], img.shape[-1], divisor)

    @property
    def with_memory(self) -> bool:
        return self.pixel_memory is not None or self.instance_memory is not None

    @property
    def writes_memory(self) -> bool:
        """Whether any memory updates in ``write`` (warp memories do it in read)."""
        return any(getattr(m, 'writes_memory', True)
                   for m in (self.pixel_memory, self.instance_memory) if m is not None)

    def _levels(self, num_levels: int) -> Tuple[int, ...]:
        levels = tuple(range(num_levels)) if self.pixel_levels is None else self.pixel_levels
        for lvl in levels:
            if not 0 <= lvl < num_levels:
                raise ValueError(f'pixel_levels has {lvl}, the detector gives {num_levels} levels')
        return levels

    def new_point_states(self) -> Dict[str, MemoryState]:
        """Fresh states of all memory points, for one video."""
        states: Dict[str, MemoryState] = {}
        if self.pixel_memory is not None:
            levels = self.pixel_levels if self.pixel_levels is not None else (0,)
            for lvl in levels:
                states[f'pixel.{lvl}'] = self.pixel_memory.new_state()
        if self.instance_memory is not None:
            states['instance'] = self.instance_memory.new_state()
        if self.box_propagation is not None:
            states[BOX_TRACK_POINT] = BoxTrackState()
        return states

    def new_video_state(self, video_id=0) -> VideoMemoryState:
        """An empty memory for a new video (for online streams)."""
        return VideoMemoryState(video_id, self.new_point_states)

    def _point_state(self, vstate: VideoMemoryState, name: str) -> MemoryState:
        # Levels beyond the default are created on first use (multi-level necks).
        if name not in vstate.points:
            memory = self.pixel_memory if name.startswith('pixel') else self.instance_memory
            vstate.points[name] = memory.new_state()
        return vstate.points[name]

    # ------------------------------------------------------------- one frame
    def extract_feat(self, batch_inputs: Tensor) -> Tuple[Tensor, ...]:
        """Features of the wrapped detector, without memory."""
        return self.detector.extract_feat(batch_inputs)

    @contextmanager
    def _instance_read(self, vstate: VideoMemoryState, ctx: FrameContext,
                       record: dict) -> Iterator[None]:
        """Read instance memory into the RoI features while the heads run."""
        if self.instance_memory is None:
            yield
            return
        state = self._point_state(vstate, 'instance')
        memory = self.instance_memory

        def pre_hook(module, args):
            roi_feats = args[0]
            if roi_feats.shape[0] == 0:
                record['roi_feats'] = roi_feats
                return None
            read = memory.read(roi_feats, state, ctx)
            record['roi_feats'] = read
            return (read, ) + tuple(args[1:])

        handle = self._instance_module().register_forward_pre_hook(pre_hook)
        try:
            yield
        finally:
            handle.remove()

    def _read_pixels(self, x: Tuple[Tensor, ...], vstate: VideoMemoryState,
                     ctx: FrameContext) -> Tuple[Tensor, ...]:
        if self.pixel_memory is None:
            return x
        out = list(x)
        for lvl in self._levels(len(x)):
            out[lvl] = self.pixel_memory.read(x[lvl], self._point_state(vstate, f'pixel.{lvl}'), ctx)
        return tuple(out)

    def _heads_loss(self, x: Tuple[Tensor, ...], samples: SampleList) -> dict:
        return detector_heads_loss(self.detector, x, samples)

    def _heads_predict(self, x: Tuple[Tensor, ...], samples: SampleList,
                       rescale: bool) -> List[InstanceData]:
        return detector_heads_predict(self.detector, x, samples, rescale)

    @staticmethod
    def _to_input_coords(results: InstanceData, sample: DetDataSample) -> InstanceData:
        """Detections in network-input coordinates (undo ``rescale``)."""
        dets = InstanceData()
        sx, sy = sample.metainfo.get('scale_factor', (1.0, 1.0))
        bboxes = results.bboxes
        dets.bboxes = bboxes * bboxes.new_tensor([sx, sy, sx, sy])
        dets.scores = results.scores
        dets.labels = results.labels
        return dets

    def _make_ctx(self, img: Tensor, sample: DetDataSample, is_key: bool) -> FrameContext:
        meta = sample.metainfo
        return FrameContext(
            img=img, frame_id=int(meta.get('frame_id', 0)), video_id=meta.get('video_id', 0),
            is_key=is_key, img_shape=tuple(meta.get('img_shape', img.shape[-2:]))[:2],
            batch_input_shape=tuple(meta.get('batch_input_shape', img.shape[-2:]))[:2])

    def _write(self, vstate: VideoMemoryState, ctx: FrameContext, feats: Tuple[Tensor, ...],
               read_feats: Tuple[Tensor, ...], record: dict, detections: InstanceData) -> None:
        with torch.no_grad():
            ctx.detections = detections
            # Instance memory counts its size in feature maps of this frame (Deng et al., Table 3).
            ctx.extra['num_locations'] = int(feats[0].shape[-2] * feats[0].shape[-1])
            if self.pixel_memory is not None:
                for lvl in self._levels(len(feats)):
                    ctx.feat, ctx.read_feat = feats[lvl], read_feats[lvl]
                    self.pixel_memory.write(self._point_state(vstate, f'pixel.{lvl}'), ctx)
            ctx.feat = ctx.read_feat = None
            if self.instance_memory is not None and record.get('roi_feats') is not None:
                ctx.roi_feats = record['roi_feats'].detach()
                self.instance_memory.write(self._point_state(vstate, 'instance'), ctx)
                ctx.roi_feats = None

    def _frame_loss(self, img: Tensor, feats: Tuple[Tensor, ...], sample: DetDataSample,
                    vstate: VideoMemoryState, write: bool, frame_id: int,
                    is_key: bool = True) -> dict:
        ctx = self._make_ctx(img, sample, is_key=is_key)
        ctx.frame_id = frame_id
        read_feats = self._read_pixels(feats, vstate, ctx)
        with self._instance_read(vstate, ctx, {}):
            losses = self._heads_loss(read_feats, [sample])
        # Auxiliary terms a memory asks for (e.g. a flow network's photometric loss).
        for key, value in ctx.extra.get('memory_losses', {}).items():
            losses[key if key.startswith('loss') else f'loss_{key}'] = value
        if write and is_key and self.writes_memory:
            record: dict = {}
            with torch.no_grad(), self._instance_read(vstate, ctx, record):
                detached = tuple(f.detach() for f in read_feats)
                results = self._heads_predict(detached, [sample], rescale=True)[0]
            self._write(vstate, ctx, tuple(f.detach() for f in feats), detached, record,
                        self._to_input_coords(results, sample))
        return losses

    def _propagated_placeholder(self, vstate: VideoMemoryState,
                                ctx: FrameContext) -> Optional[Tuple[Tensor, ...]]:
        """Skip the backbone on frames a warp memory propagates without evidence.

        Feature propagation (Vu et al., Sec. 5.2) saves the feature network on
        those frames; the memory only needs the map's shape. Single-level
        pixel memories only; returns None when the backbone must run.
        """
        memory = self.pixel_memory
        if memory is None or self.instance_memory is not None or not hasattr(memory, 'frame_mode'):
            return None
        if self.pixel_levels not in (None, (0,)) or set(vstate.points) != {'pixel.0'}:
            return None
        state = vstate.points['pixel.0']
        last = getattr(state, 'last_output', None)
        if last is None or state.is_empty or memory.frame_mode(state, ctx) == 'evidence':
            return None
        return (last.new_zeros(last.shape), )

    def predict_frame(self, img: Tensor, sample: DetDataSample, vstate: VideoMemoryState,
                      rescale: bool = True) -> DetDataSample:
        """Detect objects in one frame with (and then update) a video's memory.

        Args:
            img (Tensor): (1, 3, H, W) preprocessed network input.
            sample (DetDataSample): its sample, with ``frame_id`` in metainfo.
            vstate (VideoMemoryState): the video's memory, updated in place.
            rescale (bool): boxes in original image coordinates.

        Returns:
            DetDataSample: ``sample`` with ``pred_instances`` set and
            ``memory_stats`` (rows per point) in its metainfo.
        """
        if img.dim() != 4 or img.shape[0] != 1:
            raise ValueError(f'predict_frame takes one frame (1, 3, H, W), got {tuple(img.shape)}')
        frame_id = int(sample.metainfo.get('frame_id', vstate.num_frames_seen))
        vstate.advance(frame_id)
        track = self._box_track(vstate)
        if track is not None and track.ready and not self.box_propagation.has_evidence(frame_id):
            return self._predict_moved_boxes(img, sample, vstate, track, frame_id, rescale)
        is_key = frame_id % self.key_frame_interval == 0
        run_img, run_sample = img, sample
        if not is_key and self.non_key_scale < 1.0:
            run_img, run_sample = resize_frame_input(
                img, sample, self.non_key_scale, pad_size_divisor=self._non_key_alignment(img))
        ctx = self._make_ctx(run_img, run_sample, is_key=is_key)
        feats = self._propagated_placeholder(vstate, ctx)
        if feats is None:
            feats = self.extract_feat(run_img)
        read_feats = self._read_pixels(feats, vstate, ctx)
        record: dict = {}
        with self._instance_read(vstate, ctx, record):
            results = self._heads_predict(read_feats, [run_sample], rescale=True)[0]
        if is_key and self.writes_memory:
            self._write(vstate, ctx, feats, read_feats, record,
                        self._to_input_coords(results, run_sample))
        if track is not None:
            track.record_detection(img, self._to_input_coords(results, run_sample),
                                   feats[0].shape[-2:], frame_id)
        if run_img is not img:
            # Heads that do not clip their boxes (YOLOX, RTMDet, DETR) can place
            # some in the padding of the down-sampled input, beyond the frame.
            _clip_to_frame(results, sample)
        if not rescale:
            results = self._to_input_coords(results, run_sample)
        sample.pred_instances = results
        sample.set_metainfo(dict(memory_stats=vstate.stats(), is_key_frame=is_key))
        if track is not None:
            sample.set_metainfo(dict(frames_since_evidence=0))
        feature_prop = getattr(self.pixel_memory, 'propagation', None) or {}
        if feature_prop.get('delta', 0):
            sample.set_metainfo(dict(frames_since_evidence=frames_since_evidence(
                frame_id, feature_prop['delta'], feature_prop.get('window'))))
        return sample

    # ------------------------------------------------------ box propagation
    def _box_track(self, vstate: VideoMemoryState) -> Optional[BoxTrackState]:
        """The video's box-propagation state, None when the mode is off."""
        if self.box_propagation is None or self.training:
            return None
        if getattr(self.pixel_memory, 'propagation', {}).get('delta', 0):
            raise ValueError('box_propagation and the pixel memory\'s feature propagation '
                             '(propagation.delta > 0) are two baselines: use one at a time')
        if BOX_TRACK_POINT not in vstate.points:  # switched on after the state was made
            vstate.points[BOX_TRACK_POINT] = BoxTrackState()
        return vstate.points[BOX_TRACK_POINT]

    def _predict_moved_boxes(self, img: Tensor, sample: DetDataSample, vstate: VideoMemoryState,
                             track: BoxTrackState, frame_id: int,
                             rescale: bool) -> DetDataSample:
        """A propagated frame: the previous detections moved by the flow, no backbone."""
        prop = self.box_propagation
        ref = track.img
        if ref.shape[-2:] != img.shape[-2:]:
            ref = F.interpolate(ref, size=img.shape[-2:], mode='bilinear', align_corners=False)
        flow = flow_net_field(self.pixel_memory.flow_net, img, ref, track.feat_size,
                              frames=(sample.metainfo.get('video_id', 0), frame_id,
                                      track.frame_id))
        stride = img.shape[-2] / track.feat_size[0]
        img_shape = tuple(sample.metainfo.get('img_shape', img.shape[-2:]))[:2]
        moved = move_detections(track.dets, flow, stride, img_shape if prop.clip else None,
                                prop.num_samples)
        if prop.mode == 'step':
            track.img, track.dets = img, moved
            track.frame_id = frame_id
        track.flows = 1
        track.frames += 1
        results = moved
        if rescale:
            sx, sy = sample.metainfo.get('scale_factor', (1.0, 1.0))
            results = InstanceData(bboxes=moved.bboxes / moved.bboxes.new_tensor([sx, sy, sx, sy]),
                                   scores=moved.scores, labels=moved.labels)
        frame_id = int(sample.metainfo.get('frame_id', 0))
        sample.pred_instances = results
        sample.set_metainfo(dict(memory_stats=vstate.stats(), is_key_frame=False,
                                 frames_since_evidence=prop.gap(frame_id)))
        return sample

    # ----------------------------------------------------------- batch API
    @staticmethod
    def _as_clips(inputs: Tensor, samples: SampleList) -> Tuple[Tensor, List[List[DetDataSample]]]:
        if inputs.dim() == 5:
            if not all(isinstance(s, TrackDataSample) for s in samples):
                raise TypeError('clip inputs (B, T, 3, H, W) need TrackDataSample data samples')
            return inputs, [list(s.video_data_samples) for s in samples]
        if inputs.dim() != 4:
            raise ValueError(f'inputs must be (B, 3, H, W) frames or (B, T, 3, H, W) clips, '
                             f'got {tuple(inputs.shape)}')
        return inputs[:, None], [[s] for s in samples]

    def loss(self, batch_inputs: Tensor, batch_data_samples: SampleList) -> Union[dict, list]:
        """Losses of a batch of clips (or single frames), averaged over frames."""
        clips, frames = self._as_clips(batch_inputs, batch_data_samples)
        num_clips, num_frames = clips.shape[:2]
        non_key = self._draw_non_key_frames(num_clips, num_frames)
        feats = self.extract_feat(clips.flatten(0, 1))
        frame_losses = []
        write = bool(self.train_cfg.get('write_memory', True))
        for b in range(num_clips):
            video_id = frames[b][0].metainfo.get('video_id', b)
            vstate = self.new_video_state(video_id)
            frame_ids = [int(s.metainfo.get('frame_id', t)) for t, s in enumerate(frames[b])]
            if any(later <= earlier for earlier, later in zip(frame_ids, frame_ids[1:])):
                # A DET image repeated as a static clip: its copies are consecutive frames.
                frame_ids = list(range(num_frames))
            for t in range(num_frames):
                idx = b * num_frames + t
                img, sample = clips[b, t:t + 1], frames[b][t]
                if non_key[b][t]:
                    img, sample = resize_frame_input(
                        img, sample, self.train_non_key_scale, with_gt=True,
                        pad_size_divisor=self._non_key_alignment(img))
                    x = self.extract_feat(img)
                else:
                    x = tuple(f[idx:idx + 1] for f in feats)
                frame_losses.append(self._frame_loss(
                    img, x, sample, vstate, write=write and t < num_frames - 1,
                    frame_id=frame_ids[t], is_key=not non_key[b][t]))
        return average_frame_losses(frame_losses)

    def _draw_non_key_frames(self, num_clips: int, num_frames: int) -> List[List[bool]]:
        """Which clip frames train as non-key frames (never the first).

        Their features are computed again at the smaller size; the full-size
        ones computed with the batch are simply not used.
        """
        if self.train_non_key_prob <= 0 or self.train_non_key_scale >= 1.0:
            return [[False] * num_frames for _ in range(num_clips)]
        draws = torch.rand(num_clips, num_frames) < self.train_non_key_prob
        draws[:, 0] = False
        return draws.tolist()

    def predict(self, batch_inputs: Tensor, batch_data_samples: SampleList,
                rescale: bool = True) -> SampleList:
        """Online prediction of a batch of frames, taken in order.

        Consecutive frames of one video may share a batch: they are processed
        one after another, each reading the memory the previous ones wrote.
        """
        clips, frames = self._as_clips(batch_inputs, batch_data_samples)
        outputs = []
        for b, clip_frames in enumerate(frames):
            for t, sample in enumerate(clip_frames):
                meta = sample.metainfo
                if self.with_memory and ('video_id' not in meta or 'frame_id' not in meta):
                    raise KeyError(
                        f"a memory detector needs 'video_id' and 'frame_id' in each frame's "
                        f"metainfo (frame {meta.get('img_path', meta.get('img_id'))}); "
                        'pack them with PackDetInputs meta_keys')
                video_id, frame_id = meta.get('video_id', 0), int(meta.get('frame_id', 0))
                vstate = self.state_bank.open(video_id, frame_id)
                self.predict_frame(clips[b, t:t + 1], sample, vstate, rescale=rescale)
                self.state_bank.maybe_close(video_id, frame_id, meta.get('video_length'))
            outputs.extend(clip_frames)
        return outputs

    def _forward(self, batch_inputs: Tensor, batch_data_samples: OptSampleList = None):
        """Raw head outputs of the wrapped detector on frames (no memory)."""
        return self.detector._forward(batch_inputs, batch_data_samples)
