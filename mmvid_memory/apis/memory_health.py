"""Is a memory engaged? Figures of a memory detector's mechanism, frame by frame.

A memory can be implemented faithfully and still do nothing: an object
guided memory whose attention is uniform copies a global average into every
location, one whose write threshold no detection passes stores only
background, a warped memory whose flow network is the identity copies the
past in place. This module measures, over test videos and over training
clips, what tells these apart:

* object guided memory (Deng et al., ICCV 2019), per memory point: lambda,
  the normalised entropy of each memory row's attention over the input
  locations (1 is uniform), the distributions of theta and beta (Eq. 5;
  beta = 1/2 where memory is fully read in, 1 where nothing is), rows held,
  objects held, objects written, deleted as similar (Eq. 8) and evicted;
* warped memories (Vu et al., Memory Warps): the weight of the frame's own
  features in the output and the age of each memory (frames since its last
  update), which show whether the test-time state was trained.

The flow network's end-point error against the zero field is measured on
SynthVID-Flow by :mod:`.flow_eval`.
"""
import math
from collections import defaultdict
from typing import Any, Dict, Iterable, List, Optional, Tuple

import numpy as np
import torch.nn as nn
from torch import Tensor

from ..models.memory.ogem_aggregator import ExternalMemoryAggregator
from ..models.memory.ogem_read import ogem_scales
from ..models.memory.ogem_state import InstanceMemoryState, PixelMemoryState
from ..models.memory.warp_state import WarpMemoryState

#: Thresholds of "engaged" used by :func:`engagement`.
ENGAGED_MAX_ENTROPY = 0.85
ENGAGED_MIN_OBJECTS = 0.5
_PERCENTILES = (5, 25, 50, 75, 95)


def normalised_attention_entropy(attn: Tensor) -> float:
    """Mean entropy of the memory rows' attention over the input locations,
    over log n (1 for uniform attention, 0 for one location each).

    Args:
        attn (Tensor): (N, l, n) per-head weights of Eq. 1, each row summing
            to 1 over the n locations.

    Returns:
        float: the mean over heads and rows; NaN when l = 0 or n < 2.
    """
    if attn.dim() != 3:
        raise ValueError(f'attn must be (N, l, n), got {tuple(attn.shape)}')
    num_rows, n = attn.shape[1], attn.shape[2]
    if num_rows == 0 or n < 2:
        return float('nan')
    p = attn.double().clamp(min=1e-30)
    entropy = -(p * p.log()).sum(dim=-1) / math.log(n)
    return float(entropy.mean())


def ogem_read_figures(attn: Tensor) -> Dict[str, Any]:
    """Entropy, theta and beta of one read.

    Args:
        attn (Tensor): (N, l, n) attention of the read.

    Returns:
        dict: ``entropy`` (float), ``theta`` and ``beta`` ((n,) numpy arrays,
        empty when the memory was empty).
    """
    if attn.shape[1] == 0:
        return dict(entropy=float('nan'), theta=np.zeros(0), beta=np.zeros(0))
    theta, beta = ogem_scales(attn.mean(dim=0))
    return dict(entropy=normalised_attention_entropy(attn), theta=theta.double().cpu().numpy(),
                beta=beta.double().cpu().numpy())


def memory_temperatures(model: nn.Module) -> Dict[str, float]:
    """lambda of every object guided memory module, by module name."""
    return {name: float(module.attention_temperature().detach())
            for name, module in model.named_modules()
            if isinstance(module, ExternalMemoryAggregator)}


def point_figures(state: Any, frame_id: int) -> Tuple[Dict[str, float], Dict[str, np.ndarray]]:
    """Scalar figures of one memory point after a frame, and its theta/beta.

    Args:
        state: the point's state (OGEM pixel or instance, or a warp state).
        frame_id (int): the frame just processed (reads of other frames are
            not counted).

    Returns:
        tuple: (scalars, arrays); arrays holds ``theta`` and ``beta`` of an
        object guided read of this frame.
    """
    scalars: Dict[str, float] = {}
    arrays: Dict[str, np.ndarray] = {}
    if isinstance(state, (PixelMemoryState, InstanceMemoryState)):
        scalars['rows'] = float(state.num_rows)
        rec = state.last_read
        if rec is not None and rec.frame_id == frame_id:
            read = ogem_read_figures(rec.attn)
            scalars['rows_read'] = float(rec.attn.shape[1])
            scalars['entropy'] = read['entropy']
            if read['beta'].size:
                scalars['beta_mean'] = float(read['beta'].mean())
                scalars['theta_mean'] = float(read['theta'].mean())
            arrays['theta'], arrays['beta'] = read['theta'], read['beta']
        if isinstance(state, PixelMemoryState):
            scalars['objects'] = float(len(state.objects))
            scalars['background_rows'] = float(state.num_background_rows)
            for key, value in state.last_write.items():
                scalars[key] = float(value)
            if state.last_similarity_ratios:
                arrays['similarity_ratio'] = np.asarray(state.last_similarity_ratios)
            state.last_write, state.last_similarity_ratios = {}, []  # counted once
    elif isinstance(state, WarpMemoryState):
        scalars['current_weight'] = float(state.last_current_weight)
        for k, age in enumerate(state.memory_ages()):
            scalars[f'age.{k}'] = float(age)
        if state.last_mode is not None:
            scalars['evidence'] = float(state.last_mode == 'evidence')
    return scalars, arrays


class HealthRecorder:
    """Collects :func:`point_figures` of every memory point over frames.

    Args:
        name (str): what the frames are (``'test'`` or ``'train_clips'``).
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.scalars: Dict[str, Dict[str, List[float]]] = defaultdict(lambda: defaultdict(list))
        self.arrays: Dict[str, Dict[str, List[np.ndarray]]] = defaultdict(lambda: defaultdict(list))
        self.objects_on_frames_with_gt: Dict[str, List[float]] = defaultdict(list)
        self.num_frames = 0

    def add_frame(self, points: Dict[str, Any], frame_id: int, num_gt: Optional[int]) -> None:
        """Record the states of one video after one of its frames.

        Args:
            points (dict): point name -> state (``VideoMemoryState.points``).
            frame_id (int): the frame.
            num_gt (int, optional): ground-truth boxes in the frame, to count
                objects held on frames with objects.
        """
        self.num_frames += 1
        for name, state in points.items():
            scalars, arrays = point_figures(state, frame_id)
            for key, value in scalars.items():
                self.scalars[name][key].append(value)
            for key, value in arrays.items():
                self.arrays[name][key].append(value)
            if 'objects' in scalars and num_gt:
                self.objects_on_frames_with_gt[name].append(scalars['objects'])

    def summary(self) -> Dict[str, Any]:
        """Per point: the mean of every figure over frames (NaN ignored), the
        totals of the write counts, theta/beta percentiles, objects held on
        frames with objects."""
        out: Dict[str, Any] = dict(frames=self.num_frames, points={})
        for name in sorted(set(self.scalars) | set(self.arrays)):
            point: Dict[str, Any] = {}
            for key, values in sorted(self.scalars[name].items()):
                finite = [v for v in values if math.isfinite(v)]
                point[f'{key}_mean'] = float(np.mean(finite)) if finite else None
                if key in ('objects_written', 'objects_deleted', 'objects_evicted',
                           'rows_deleted'):
                    point[f'{key}_total'] = float(np.sum(finite))
            for key, parts in sorted(self.arrays[name].items()):
                values = np.concatenate(parts) if parts else np.zeros(0)
                if values.size:
                    point[f'{key}_percentiles'] = {
                        str(p): float(v) for p, v in zip(_PERCENTILES,
                                                         np.percentile(values, _PERCENTILES))}
                    if key == 'beta':
                        point['beta_below_0.75'] = float((values < 0.75).mean())
                    if key == 'similarity_ratio':
                        point['same_class_pairs'] = int(values.size)
                        point['similar_pairs'] = int((values > 1).sum())
            held = self.objects_on_frames_with_gt.get(name)
            if held:
                point['objects_on_frames_with_gt_mean'] = float(np.mean(held))
            out['points'][name] = point
        return out


def engagement(summary: Dict[str, Any], flow_epe: Optional[Dict[str, float]] = None
               ) -> Dict[str, Dict[str, Any]]:
    """Whether each memory point shows its mechanism at work.

    Object guided points: mean normalised attention entropy at most
    :data:`ENGAGED_MAX_ENTROPY`; pixel points also at least
    :data:`ENGAGED_MIN_OBJECTS` objects held on frames with objects and at
    least one deletion (Eq. 8). Warped points: the flow network's EPE below
    the zero field's (when ``flow_epe`` is given).

    Args:
        summary (dict): :meth:`HealthRecorder.summary` of the test stream.
        flow_epe (dict, optional): ``epe`` and ``zero_epe`` of the flow network.

    Returns:
        dict: point -> {criterion: {value, bound, ok}} and ``engaged`` (all ok).
    """
    out = {}
    for name, point in summary.get('points', {}).items():
        checks: Dict[str, Any] = {}
        if 'entropy_mean' in point:
            value = point['entropy_mean']
            checks['entropy'] = dict(value=value, bound=f'<= {ENGAGED_MAX_ENTROPY}',
                                     ok=value is not None and value <= ENGAGED_MAX_ENTROPY)
        if 'objects_mean' in point:
            value = point.get('objects_on_frames_with_gt_mean', 0.0)
            checks['objects_on_frames_with_gt'] = dict(
                value=value, bound=f'>= {ENGAGED_MIN_OBJECTS}', ok=value >= ENGAGED_MIN_OBJECTS)
            deleted = point.get('objects_deleted_total', 0.0)
            checks['objects_deleted'] = dict(value=deleted, bound='> 0', ok=deleted > 0)
        if 'current_weight_mean' in point and flow_epe is not None:
            checks['flow_epe'] = dict(value=flow_epe['epe'], bound=f'< {flow_epe["zero_epe"]}',
                                      ok=flow_epe['epe'] < flow_epe['zero_epe'])
        if checks:
            out[name] = dict(checks=checks, engaged=all(c['ok'] for c in checks.values()))
    return out


def run_health(model: nn.Module, videos: Iterable, recorder: HealthRecorder,
               train_mode_memory: bool = False) -> HealthRecorder:
    """Run a memory detector over videos online and record its figures.

    Args:
        model: a :class:`MemoryVideoDetector` in eval mode.
        videos: ``(video_id, frames)`` pairs; ``frames`` yields
            ``(inputs, sample)`` packed frames in order, each video starting
            from an empty memory (a training clip is such a video).
        recorder (HealthRecorder): where figures go.
        train_mode_memory (bool): put the memory modules in training mode
            (warped memories then drop image evidence as in training); the
            detector stays in eval mode.

    Returns:
        HealthRecorder: ``recorder``.
    """
    from .inference import predict_packed
    memories = [m for m in (model.pixel_memory, model.instance_memory) if m is not None]
    for memory in memories:
        memory.train(train_mode_memory)
    try:
        for video_id, frames in videos:
            vstate = model.new_video_state(video_id)
            for inputs, sample in frames:
                num_gt = None
                if 'gt_instances' in sample:
                    num_gt = len(sample.gt_instances)
                out = predict_packed(model, inputs, sample, vstate)
                recorder.add_frame(vstate.points, int(out.metainfo.get('frame_id', 0)), num_gt)
    finally:
        for memory in memories:
            memory.train(False)
    return recorder
