"""Build a detector from a config and run it online, frame by frame.

A memory detector (:class:`MemoryVideoDetector`) keeps what a video has
accumulated in a :class:`VideoMemoryState`; a :class:`VideoStream` owns one
such state, so several streams can share one model. A plain mmdet detector
works too: its stream detects each frame alone.
"""
import copy
import os.path as osp
import warnings
from collections import deque
from numbers import Integral
from pathlib import Path
from typing import (Any, Callable, Deque, Dict, Hashable, Iterable, List, Optional, Sequence,
                    Tuple, Union)

import numpy as np
import torch
import torch.nn as nn
from mmcv.transforms import Compose
from mmdet.registry import DATASETS, MODELS, TRANSFORMS
from mmdet.structures import DetDataSample
from mmdet.utils import get_test_pipeline_cfg
from mmengine.config import Config
from mmengine.model.utils import revert_sync_batchnorm
from mmengine.registry import init_default_scope

from ..utils.checkpoint import load_model_checkpoint

Frame = Union[np.ndarray, str, Path]
PipelineLike = Union[Compose, Callable[[dict], dict], Sequence[dict]]

# Transforms that read ground truth: an online stream has none.
_ANNOTATION_LOADERS = ('LoadAnnotations', 'LoadTrackAnnotations', 'LoadPanopticAnnotations',
                       'LoadProposals')
_FILE_LOADERS = ('LoadImageFromFile', )
#: Frames whose rows ``VideoStream.stats`` keeps by default (about a minute
#: of 30-fps video, some hundred kB).
DEFAULT_STATS_WINDOW = 2048


def _short_type(step: dict) -> str:
    """``'mmdet.LoadImageFromFile'`` -> ``'LoadImageFromFile'``."""
    type_ = step.get('type', '')
    if not isinstance(type_, str):
        return getattr(type_, '__name__', str(type_))
    return type_.split('.')[-1]


def is_memory_detector(model: nn.Module) -> bool:
    """Whether ``model`` runs frames with an explicit per-video memory state."""
    return callable(getattr(model, 'predict_frame', None)) and callable(
        getattr(model, 'new_video_state', None))


def _wrapped_detector(model: nn.Module) -> nn.Module:
    """The mmdet detector inside a memory detector, or the model itself."""
    return model.detector if is_memory_detector(model) and hasattr(model, 'detector') else model


def _num_classes(model: nn.Module) -> Optional[int]:
    det = _wrapped_detector(model)
    for path in ('roi_head.bbox_head', 'bbox_head'):
        module: Any = det
        for name in path.split('.'):
            module = getattr(module, name, None)
            if module is None:
                break
        if module is not None and hasattr(module, 'num_classes'):
            return int(module.num_classes)
    return None


def _test_dataset_cfg(cfg: Config) -> Optional[dict]:
    """The innermost dataset config of ``cfg.test_dataloader`` (wrappers undone)."""
    loader = cfg.get('test_dataloader')
    if not loader or 'dataset' not in loader:
        return None
    ds = loader['dataset']
    while 'pipeline' not in ds and ('dataset' in ds or 'datasets' in ds):
        ds = ds['dataset'] if 'dataset' in ds else ds['datasets'][0]
    return ds


def config_dataset_meta(cfg: Config) -> Dict[str, Any]:
    """Class names (and palette) of the config's test data set.

    Read from the dataset class's ``METAINFO`` and the config's ``metainfo``;
    when the names come from the annotation file (SynthVID, CocoVID files)
    and that file exists, the data set is built to read them.

    Returns:
        dict: ``classes`` (tuple or None) and any other metainfo found.
    """
    ds_cfg = _test_dataset_cfg(cfg)
    if ds_cfg is None or 'type' not in ds_cfg:
        return {}
    meta: Dict[str, Any] = {}
    ds_cls = DATASETS.get(ds_cfg['type']) if isinstance(ds_cfg['type'], str) else ds_cfg['type']
    if ds_cls is not None:
        meta.update(copy.deepcopy(dict(getattr(ds_cls, 'METAINFO', {}) or {})))
    meta.update(copy.deepcopy(dict(ds_cfg.get('metainfo') or {})))
    if meta.get('classes') is None and 'ann_file' in ds_cfg:
        ann_file = ds_cfg['ann_file']
        if not osp.isabs(ann_file):
            ann_file = osp.join(ds_cfg.get('data_root') or '', ann_file)
        if osp.isfile(ann_file):
            try:
                built = DATASETS.build(dict(copy.deepcopy(ds_cfg), pipeline=[]))
                meta.update(dict(built.metainfo))
            except Exception as err:  # the names are a convenience; detection works without
                warnings.warn(f'could not read class names from {ann_file}: {err}')
    return meta


def init_detector(config: Union[str, Path, Config],
                  checkpoint: Optional[str] = None,
                  device: str = 'cpu',
                  cfg_options: Optional[dict] = None,
                  strict: Optional[bool] = None) -> nn.Module:
    """Build a detector (memory or plain mmdet) for inference.

    Args:
        config (str | Path | Config): config file or object; not modified.
        checkpoint (str, optional): weights, read safely (a published
            checkpoint is checked against its hash suffix; see
            :func:`mmvid_memory.utils.load_checkpoint_file`).
        device (str): e.g. 'cpu', 'cuda:0'.
        cfg_options (dict, optional): overrides merged into the config.
        strict (bool, optional): refuse a checkpoint whose keys or shapes
            differ from the model's (``CheckpointMismatchError`` naming them);
            False loads what fits. Default: the config's ``strict_load``
            (True when absent).

    Returns:
        nn.Module: the model in eval mode on ``device``, with ``cfg`` (the
        config) and ``dataset_meta`` (``classes``: from the checkpoint's meta,
        else the config's test data set, else ``class_0..``).
    """
    if isinstance(config, (str, Path)):
        cfg = Config.fromfile(str(config))
    elif isinstance(config, Config):
        cfg = copy.deepcopy(config)
    else:
        raise TypeError(f'config must be a file path or an mmengine Config, got {type(config)}')
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if 'model' not in cfg:
        raise KeyError(f'the config {getattr(cfg, "filename", None)} has no `model`')
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    model = revert_sync_batchnorm(MODELS.build(cfg.model))

    dataset_meta: Dict[str, Any] = {}
    if checkpoint is not None:
        if strict is None:
            strict = bool(cfg.get('strict_load', True))
        ckpt = load_model_checkpoint(model, checkpoint, strict=strict, map_location='cpu')
        ckpt_meta = ckpt.get('meta', {}) if isinstance(ckpt, dict) else {}
        if 'dataset_meta' in ckpt_meta:
            dataset_meta = {k.lower(): v for k, v in ckpt_meta['dataset_meta'].items()}
        elif 'CLASSES' in ckpt_meta:
            dataset_meta = {'classes': ckpt_meta['CLASSES']}
    if dataset_meta.get('classes') is None:
        from_cfg = config_dataset_meta(cfg)
        dataset_meta = {**from_cfg, **{k: v for k, v in dataset_meta.items() if v is not None}}
    if dataset_meta.get('classes') is None:
        num_classes = _num_classes(model)
        if num_classes is not None:
            warnings.warn('no class names in the checkpoint or the config; using class_<i>')
            dataset_meta['classes'] = tuple(f'class_{i}' for i in range(num_classes))
    dataset_meta['classes'] = tuple(dataset_meta.get('classes') or ())
    model.dataset_meta = dataset_meta
    model.cfg = cfg
    model.to(device)
    model.eval()
    return model


def build_test_pipeline(cfg: Config, source: str = 'array') -> Compose:
    """The config's test pipeline, for frames that come without annotations.

    The annotation loaders are dropped; for ``source='array'`` the image
    loading step becomes ``LoadImageFromNDArray`` (the frame is in
    ``results['img']``), for ``source='file'`` it stays (``results['img_path']``).

    Args:
        cfg (Config): a config with ``test_dataloader.dataset.pipeline``
            (dataset wrappers are looked through).
        source (str): 'array' or 'file'.

    Returns:
        Compose: the pipeline; it returns ``inputs`` and ``data_samples``.
    """
    if source not in ('array', 'file'):
        raise ValueError(f"source must be 'array' or 'file', got {source!r}")
    try:
        steps = [dict(step) for step in copy.deepcopy(get_test_pipeline_cfg(cfg))]
    except (AttributeError, KeyError, RuntimeError) as err:
        raise KeyError(f'the config has no test_dataloader.dataset.pipeline ({err}); '
                       'pass test_pipeline= explicitly') from err
    steps = [step for step in steps if _short_type(step) not in _ANNOTATION_LOADERS]
    load_idx = next((i for i, step in enumerate(steps)
                     if _short_type(step).startswith('LoadImageFrom')), None)
    if load_idx is None:
        raise ValueError('the test pipeline has no image loading step (LoadImageFrom...); '
                         f'its steps are {[_short_type(s) for s in steps]}')
    if source == 'array':
        load = steps[load_idx]
        if _short_type(load) in _FILE_LOADERS:
            steps[load_idx] = dict(load, type='mmdet.LoadImageFromNDArray')
        else:
            steps[load_idx] = dict(type='mmdet.LoadImageFromNDArray',
                                   to_float32=load.get('to_float32', False))
    return Compose([TRANSFORMS.build(step) for step in steps])


def _as_pipeline(test_pipeline: PipelineLike) -> Callable[[dict], dict]:
    if isinstance(test_pipeline, (list, tuple)):
        return Compose([TRANSFORMS.build(step) if isinstance(step, dict) else step
                        for step in test_pipeline])
    if not callable(test_pipeline):
        raise TypeError(f'test_pipeline must be a Compose, a callable or a list of transform '
                        f'configs, got {type(test_pipeline).__name__}')
    return test_pipeline


def check_frame(frame: Any) -> None:
    """Raise a clear error unless ``frame`` is an (H, W, 3) uint8 BGR image or a path."""
    if isinstance(frame, (str, Path)):
        # Remote paths (backend_args, e.g. s3://) are left to the loader.
        if '://' not in str(frame) and not osp.isfile(str(frame)):
            raise FileNotFoundError(f'frame file {str(frame)!r} does not exist')
        return
    if not isinstance(frame, np.ndarray):
        raise TypeError(f'a frame must be an (H, W, 3) uint8 BGR numpy array or an image path, '
                        f'got {type(frame).__name__}')
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        raise ValueError(f'a frame must be an (H, W, 3) uint8 BGR array, got shape '
                         f'{tuple(frame.shape)} dtype {frame.dtype}')
    if frame.shape[0] == 0 or frame.shape[1] == 0:
        raise ValueError(f'empty frame of shape {tuple(frame.shape)}')


def _run_pipeline(pipeline: Callable[[dict], dict], results: dict, what: str) -> Any:
    """Run a test pipeline step by step, so that a failure names the step and the frame.

    An odd frame (e.g. 1 x 500 pixels, which a keep-ratio ``Resize`` rounds to
    zero rows) otherwise surfaces as a bare OpenCV assertion.
    """
    steps = pipeline.transforms if isinstance(pipeline, Compose) else [pipeline]
    for step in steps:
        try:
            results = step(results)
        except Exception as err:
            name = getattr(step, '__name__', type(step).__name__)
            first = (str(err).strip().splitlines() or [type(err).__name__])[-1].strip()
            hint = ''
            shape = results.get('img_shape') or getattr(results.get('img'), 'shape', None)
            if shape is not None and min(shape[:2]) > 0 and \
                    max(shape[:2]) / min(shape[:2]) >= 20:
                hint = (f'; its aspect ratio {shape[0]}:{shape[1]} is extreme (a resize may '
                        'round a side to 0 pixels): crop or pad it first')
            raise ValueError(f'{what}: the test pipeline step {name} failed '
                             f'({type(err).__name__}: {first}){hint}') from err
        if results is None:
            return None
    return results


def pack_frame(pipeline: Callable[[dict], dict], frame: Frame, video_id: Hashable,
               frame_id: int, video_length: Optional[int] = None
               ) -> Tuple[torch.Tensor, DetDataSample]:
    """Run one frame through a test pipeline and tag it with its place in the video.

    Args:
        pipeline: a test pipeline (see :func:`build_test_pipeline`) whose
            loader matches the frame (array or file).
        frame: (H, W, 3) uint8 BGR array or an image path.
        video_id: the video's id.
        frame_id (int): index of the frame in its video, from 0.
        video_length (int, optional): frames in the video; None online.

    Returns:
        tuple: ``inputs`` (3, H', W') uint8 tensor and its DetDataSample with
        ``video_id``, ``frame_id`` and ``video_length`` in the metainfo.
    """
    check_frame(frame)
    video_meta = dict(video_id=video_id, frame_id=int(frame_id), video_length=video_length)
    if isinstance(frame, np.ndarray):
        results: Dict[str, Any] = dict(img=frame)
    else:
        results = dict(img_path=str(frame))
    results.update(img_id=int(frame_id), **video_meta)
    packed = _run_pipeline(pipeline, results, f'frame {frame_id} of video {video_id!r}'
                           + (f' ({frame.shape[0]}x{frame.shape[1]} pixels)'
                              if isinstance(frame, np.ndarray) else f' ({frame})'))
    if packed is None or 'inputs' not in packed or 'data_samples' not in packed:
        raise RuntimeError(f'the test pipeline returned no inputs/data_samples for frame '
                           f'{frame_id} of video {video_id!r} (does it end with a Pack step?)')
    sample: DetDataSample = packed['data_samples']
    sample.set_metainfo(video_meta)
    return packed['inputs'], sample


def predict_packed(model: nn.Module, inputs: torch.Tensor, sample: DetDataSample,
                   vstate: Any = None) -> DetDataSample:
    """Preprocess one packed frame and detect, with the video's memory if any.

    Args:
        model: a memory detector (``predict_frame``) or a plain mmdet detector.
        inputs (Tensor): (3, H, W) uint8, as the pipeline packs it.
        sample (DetDataSample): its sample (``frame_id`` in metainfo).
        vstate (VideoMemoryState, optional): the video's memory; required
            for a memory detector, ignored otherwise.

    Returns:
        DetDataSample: with ``pred_instances`` in original image coordinates
        (and ``memory_stats``/``is_key_frame`` for a memory detector).
    """
    with torch.no_grad():
        data = model.data_preprocessor(dict(inputs=[inputs], data_samples=[sample]), False)
        if is_memory_detector(model):
            if vstate is None:
                raise ValueError('a memory detector needs the video state (vstate) of the '
                                 "frame's video: model.new_video_state(video_id)")
            return model.predict_frame(data['inputs'], data['data_samples'][0], vstate)
        return model(**data, mode='predict')[0]


class VideoStream:
    """One video seen online: push frames in order, get detections back.

    The stream owns the video's memory state (for a memory detector), so
    streams on one model are independent. Use as a context manager or call
    :meth:`close` to free the memory.

    Args:
        model: from :func:`init_detector` (it needs ``model.cfg`` unless
            ``test_pipeline`` is given).
        test_pipeline (optional): a Compose/callable or a list of transform
            configs used for every frame as is (its loader must match what is
            pushed). Default: the config's test pipeline without annotation
            loading, with the loader picked per frame (array or path).
        video_id: the video's id (goes into each frame's metainfo).
        stats_window (int): how many of the latest frames :attr:`stats`
            keeps (a stream may run for days: its record must not grow with
            it); :attr:`summary` aggregates over all frames.
    """

    def __init__(self, model: nn.Module, test_pipeline: Optional[PipelineLike] = None,
                 video_id: Hashable = 0, stats_window: int = DEFAULT_STATS_WINDOW) -> None:
        if test_pipeline is None and getattr(model, 'cfg', None) is None:
            raise ValueError('the model has no .cfg to build the test pipeline from: build it '
                             'with init_detector() or pass test_pipeline=')
        if isinstance(stats_window, bool) or not isinstance(stats_window, Integral) or \
                stats_window < 0:
            raise ValueError(f'stats_window must be an int >= 0 (frames kept in '
                             f'VideoStream.stats), got {stats_window!r}')
        if model.training:
            warnings.warn('VideoStream: the model is in training mode; call model.eval() for '
                          'inference (BatchNorm, dropout)')
        self.model = model
        self.video_id = video_id
        self._fixed_pipeline = None if test_pipeline is None else _as_pipeline(test_pipeline)
        self._pipelines: Dict[str, Callable[[dict], dict]] = {}
        self._vstate = model.new_video_state(video_id) if is_memory_detector(model) else None
        self._next_frame_id = 0
        self._last_frame_id: Optional[int] = None
        # The latest rows only, plus running aggregates over the whole stream.
        self._stats: Deque[Dict[str, Any]] = deque(maxlen=int(stats_window))
        self._num_frames = 0
        self._num_key_frames = 0
        self._peak_memory_stats: Dict[str, float] = {}
        self._closed = False

    def _pipeline_for(self, frame: Frame) -> Callable[[dict], dict]:
        if self._fixed_pipeline is not None:
            return self._fixed_pipeline
        source = 'array' if isinstance(frame, np.ndarray) else 'file'
        if source not in self._pipelines:
            self._pipelines[source] = build_test_pipeline(self.model.cfg, source)
        return self._pipelines[source]

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def num_frames(self) -> int:
        """Frames pushed so far."""
        return self._num_frames

    @property
    def stats_window(self) -> int:
        """How many of the latest frames :attr:`stats` keeps."""
        return int(self._stats.maxlen or 0)

    @property
    def stats(self) -> List[Dict[str, Any]]:
        """Per frame, for the latest ``stats_window`` frames pushed (oldest
        first): ``frame_id``, ``is_key_frame`` and the memory rows
        (``memory_stats`` of every memory point, e.g. ``pixel.0.rows``).
        A copy: at most ``stats_window`` rows, whatever the stream's length."""
        return [dict(row, memory_stats=dict(row['memory_stats'])) for row in self._stats]

    @property
    def summary(self) -> Dict[str, Any]:
        """Aggregates over every frame pushed, in constant space:
        ``frames``, ``key_frames``, ``last_frame_id`` (None before the first
        frame) and ``peak_memory_stats`` (the largest value of each
        ``memory_stats`` entry seen)."""
        return dict(frames=self._num_frames, key_frames=self._num_key_frames,
                    last_frame_id=self._last_frame_id,
                    peak_memory_stats=dict(self._peak_memory_stats))

    def _record(self, frame_id: int, result: DetDataSample) -> None:
        is_key = bool(result.metainfo.get('is_key_frame', True))
        memory_stats = dict(result.metainfo.get('memory_stats', {}))
        self._num_frames += 1
        self._num_key_frames += is_key
        self._last_frame_id = frame_id
        for name, value in memory_stats.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                previous = self._peak_memory_stats.get(name)
                self._peak_memory_stats[name] = value if previous is None else max(previous,
                                                                                   value)
        self._stats.append(dict(frame_id=frame_id, is_key_frame=is_key,
                                memory_stats=memory_stats))

    def push(self, frame: Frame, frame_id: Optional[int] = None) -> DetDataSample:
        """Detect objects in the next frame of the video.

        Args:
            frame: (H, W, 3) uint8 BGR array or an image path.
            frame_id (int, optional): its index in the video; default one
                after the previous frame (0 first). Must increase.

        Returns:
            DetDataSample: ``pred_instances`` (bboxes in the frame's pixels,
            scores, labels) and metainfo with ``frame_id``, ``video_id``,
            ``memory_stats`` and ``is_key_frame`` (memory detectors).
        """
        if self._closed:
            raise RuntimeError(f'VideoStream of video {self.video_id!r} is closed (after '
                               f'{self.num_frames} frames); open a new stream to go on')
        if frame_id is None:
            frame_id = self._next_frame_id
        elif self._last_frame_id is not None and frame_id <= self._last_frame_id:
            raise ValueError(f'video {self.video_id!r}: frame_id {frame_id} pushed after frame '
                             f'{self._last_frame_id}; frame ids must increase')
        inputs, sample = pack_frame(self._pipeline_for(frame), frame, self.video_id, frame_id)
        result = predict_packed(self.model, inputs, sample, self._vstate)
        self._next_frame_id = frame_id + 1
        self._record(frame_id, result)
        return result

    def close(self) -> None:
        """Free the video's memory; later pushes raise. Safe to call twice."""
        if self._vstate is not None:
            self._vstate.reset()
            self._vstate = None
        self._pipelines.clear()
        self._closed = True

    def __enter__(self) -> 'VideoStream':
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def __repr__(self) -> str:
        state = 'closed' if self._closed else 'open'
        return (f'VideoStream(video_id={self.video_id!r}, frames={self.num_frames}, {state}, '
                f'model={type(self.model).__name__})')


def open_stream(model: nn.Module, video_id: Hashable = 0,
                test_pipeline: Optional[PipelineLike] = None,
                stats_window: int = DEFAULT_STATS_WINDOW) -> VideoStream:
    """A new :class:`VideoStream` of ``model`` for the video ``video_id``."""
    return VideoStream(model, test_pipeline=test_pipeline, video_id=video_id,
                       stats_window=stats_window)


def inference_video(model: nn.Module, source: Union[str, Path, Iterable[Frame]],
                    test_pipeline: Optional[PipelineLike] = None,
                    video_id: Hashable = 0) -> List[DetDataSample]:
    """Detect objects in every frame of a video, online (each frame sees only the past).

    Args:
        model: from :func:`init_detector`.
        source: a video file, a folder of frames (natural sort order), or an
            iterable of frames ((H, W, 3) uint8 BGR arrays or image paths).
        test_pipeline (optional): see :class:`VideoStream`.
        video_id: the video's id.

    Returns:
        list[DetDataSample]: one per frame, in order.
    """
    from .video_io import iter_video_frames
    frames = iter_video_frames(source) if isinstance(source, (str, Path)) else source
    with open_stream(model, video_id=video_id, test_pipeline=test_pipeline) as stream:
        return [stream.push(frame) for frame in frames]
