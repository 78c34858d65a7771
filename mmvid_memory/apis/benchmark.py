"""Run a detector over whole videos online and report speed per module and memory size.

Used by ``tools/analysis_tools/benchmark.py``; importable for scripts that
want the numbers (ms per frame, fps, memory rows over time) as a dict.
"""
import copy
import math
import time
from typing import Any, Dict, Hashable, Iterable, Iterator, List, Optional, Tuple

import numpy as np
import torch
import torch.nn as nn
from mmdet.structures import DetDataSample
from mmengine.config import Config

from ..utils.launch import iter_dataset_cfgs
from .inference import build_test_pipeline, is_memory_detector, pack_frame, predict_packed
from .timing import ModuleTimer, summarize_timings

PackedFrame = Tuple[torch.Tensor, DetDataSample]
Video = Tuple[Hashable, Iterable[PackedFrame]]


def ensure_test_data(cfg: Config) -> None:
    """Generate the SynthVID data of the config's test data set when missing.

    Only the test set's ``synthvid_params`` are looked at (no train data set
    is touched otherwise); a no-op for other data sets.
    """
    if not cfg.get('test_dataloader') or 'dataset' not in cfg.test_dataloader:
        raise KeyError('the config has no test_dataloader.dataset; use --synthetic H W')
    for sub in iter_dataset_cfgs(cfg.test_dataloader.dataset):
        if sub.get('synthvid_params') is not None:
            from mmvid_memory.datasets.synthvid import ensure_synthvid
            ensure_synthvid(sub['data_root'], **dict(sub['synthvid_params']))


def dataset_videos(cfg: Config, max_videos: Optional[int] = None) -> Iterator[Video]:
    """The videos of the config's test data set, in order, as packed frames.

    SynthVID data sets (``synthvid_params``) are generated first when missing.

    Args:
        cfg (Config): with ``test_dataloader.dataset``.
        max_videos (int, optional): stop after this many videos.

    Yields:
        tuple: ``(video_id, frames)``; ``frames`` yields ``(inputs, sample)``
        in frame order, loaded lazily.
    """
    from mmdet.registry import DATASETS

    from mmvid_memory.datasets import video_item_groups
    ensure_test_data(cfg)
    dataset = DATASETS.build(copy.deepcopy(cfg.test_dataloader.dataset))
    groups = video_item_groups(dataset)
    if max_videos is not None:
        groups = groups[:max_videos]

    def frames(indices: np.ndarray) -> Iterator[PackedFrame]:
        for idx in indices:
            item = dataset[int(idx)]
            yield item['inputs'], item['data_samples']

    for group in groups:
        video_id = dataset.get_data_info(int(group[0])).get('video_id', int(group[0]))
        yield video_id, frames(group)


def synthetic_videos(cfg: Config, height: int, width: int, num_videos: int = 2,
                     video_length: int = 10, seed: int = 0) -> Iterator[Video]:
    """Random (H, W, 3) uint8 frames through the config's test pipeline.

    For speed only: no data set needed. Each frame is a smoothed random image
    shifted a little from the previous one, so consecutive frames are alike.
    """
    if height < 1 or width < 1 or num_videos < 1 or video_length < 1:
        raise ValueError(f'synthetic video {height}x{width}, {num_videos} videos of '
                         f'{video_length} frames: all must be >= 1')
    pipeline = build_test_pipeline(cfg, 'array')
    rng = np.random.default_rng(seed)

    def frames(video_id: int) -> Iterator[PackedFrame]:
        base = rng.integers(0, 256, (height + video_length, width + video_length, 3),
                            dtype=np.uint8)
        for t in range(video_length):
            frame = np.ascontiguousarray(base[t:t + height, t:t + width])
            yield pack_frame(pipeline, frame, video_id, t, video_length)

    for v in range(num_videos):
        yield v, frames(v)


def _json_number(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _memory_summary(per_video: List[Dict[str, Any]]) -> Dict[str, Dict[str, float]]:
    """Per memory stat: mean and max over all frames, and mean over videos of the last frame."""
    values: Dict[str, List[float]] = {}
    finals: Dict[str, List[float]] = {}
    for video in per_video:
        for row in video['frames']:
            for key, value in row['memory_stats'].items():
                if value is not None and math.isfinite(value):
                    values.setdefault(key, []).append(float(value))
        if video['frames']:
            for key, value in video['frames'][-1]['memory_stats'].items():
                if value is not None and math.isfinite(value):
                    finals.setdefault(key, []).append(float(value))
    return {key: dict(mean=sum(v) / len(v), max=max(v),
                      final_mean=(sum(finals[key]) / len(finals[key]) if key in finals
                                  else None))
            for key, v in sorted(values.items())}


def benchmark_videos(model: nn.Module, videos: Iterable[Video], warmup: int = 5,
                     num_frames: Optional[int] = None) -> Dict[str, Any]:
    """Run whole videos online and time every frame per module.

    Each video gets a fresh memory. The first ``warmup`` frames (over all
    videos) run but are not counted. Data loading (pipeline) is timed apart
    and is not part of the model's time.

    Args:
        model: a memory detector or a plain mmdet detector, in eval mode.
        videos: ``(video_id, frames)`` pairs, e.g. :func:`dataset_videos`.
        warmup (int): frames left out of the timings.
        num_frames (int, optional): stop after this many counted frames.

    Returns:
        dict: ``frames_run``, ``warmup``, ``num_videos``, ``fps``,
        ``ms_per_frame`` (backbone, memory_read, memory_write, heads, other,
        total), ``share``, ``data_ms_per_frame``, ``timed_points`` (the
        methods behind each section), ``per_frame`` (every frame's ms) and
        ``memory`` (``per_video`` rows over time and a ``summary``).
    """
    if warmup < 0:
        raise ValueError(f'warmup must be >= 0, got {warmup}')
    if num_frames is not None and num_frames < 1:
        raise ValueError(f'num_frames must be >= 1, got {num_frames}')
    memory_model = is_memory_detector(model)
    limit = None if num_frames is None else warmup + num_frames
    per_frame: List[Dict[str, Any]] = []
    per_video: List[Dict[str, Any]] = []
    data_ms: List[float] = []
    timer = ModuleTimer(model)
    with timer:
        for video_id, frames in videos:
            if limit is not None and len(per_frame) >= limit:
                break
            vstate = model.new_video_state(video_id) if memory_model else None
            rows: List[Dict[str, Any]] = []
            per_video.append(dict(video_id=video_id, frames=rows))
            frame_iter = iter(frames)
            while limit is None or len(per_frame) < limit:
                start = time.perf_counter()
                try:
                    inputs, sample = next(frame_iter)
                except StopIteration:
                    break
                data_ms.append((time.perf_counter() - start) * 1000.0)
                with timer.frame():
                    result = predict_packed(model, inputs, sample, vstate)
                frame_id = int(result.metainfo.get('frame_id', len(rows)))
                per_frame.append(dict(video_id=video_id, frame_id=frame_id, **timer.last))
                rows.append(dict(
                    frame_id=frame_id,
                    is_key_frame=bool(result.metainfo.get('is_key_frame', True)),
                    memory_stats={k: _json_number(float(v)) for k, v in
                                  result.metainfo.get('memory_stats', {}).items()}))
            if vstate is not None:
                vstate.reset()
    if len(per_frame) <= warmup:
        raise ValueError(f'only {len(per_frame)} frames were run, not more than the warm-up of '
                         f'{warmup}: use more videos or a smaller --warmup')
    summary = summarize_timings(timer.records, warmup=warmup)
    return dict(
        num_videos=len(per_video),
        frames_run=len(per_frame),
        warmup=warmup,
        frames_timed=summary['frames'],
        fps=_json_number(summary['fps']),
        ms_per_frame=summary['ms_per_frame'],
        share=summary['share'],
        data_ms_per_frame=sum(data_ms[warmup:]) / max(1, len(data_ms[warmup:])),
        device=str(next(model.parameters()).device),
        timed_points={section: [f'{type(m).__name__}.{name}' for m, name in methods]
                      for section, methods in timer.points.items()},
        per_frame=per_frame,
        memory=dict(per_video=per_video, summary=_memory_summary(per_video)))


def _short_number(value: Optional[float]) -> str:
    if value is None:
        return '-'
    return f'{value:.1f}' if abs(value) >= 10 else f'{value:.3g}'


def format_benchmark_table(report: Dict[str, Any]) -> str:
    """A plain-text table of :func:`benchmark_videos`'s report."""
    ms = report['ms_per_frame']
    share = report['share']
    lines = [f"{report['frames_timed']} frames timed over {report['num_videos']} videos "
             f"(after {report['warmup']} warm-up frames) on {report['device']}",
             f"{'module':<14}{'ms/frame':>10}{'share':>9}",
             '-' * 33]
    for key in [k for k in ms if k not in ('total', )]:
        lines.append(f'{key:<14}{ms[key]:>10.2f}{100 * share[key]:>8.1f}%')
    lines.append('-' * 33)
    lines.append(f"{'total':<14}{ms['total']:>10.2f}{'100.0%':>9}")
    fps = report['fps']
    lines.append(f"fps {'-' if fps is None else f'{fps:.2f}'}   data loading "
                 f"{report['data_ms_per_frame']:.2f} ms/frame (not in total)")
    mem = report['memory']['summary']
    if mem:
        lines.append('')
        lines.append(f"{'memory stat':<28}{'mean':>10}{'max':>10}{'last':>10}")
        for key, stat in mem.items():
            cells = [_short_number(stat[k]) for k in ('mean', 'max', 'final_mean')]
            lines.append(f'{key:<28}' + ''.join(f'{c:>10}' for c in cells))
    return '\n'.join(lines)
