"""The pictures of ``make demo`` (``tools/run_demo.py``), from its result rows.

* ``speed_accuracy.png``: mAP against ms per frame, one marker per model,
  by family (Vu et al., Fig. 6 in spirit);
* ``memory_size.png``: the OGEM model's memory size per frame over one val
  video (Deng et al., Fig. 3a: rows and size of the pixel and instance memory);
* ``side_by_side.gif`` (and ``.mp4`` when OpenCV writes it): the baseline's
  and the best memory model's detections on that video, side by side.

Inference is cheap on purpose: one video (by default the SynthVID val video
with most fast motion), its first ``max_frames`` frames, each model loaded
once and run online under ``torch.no_grad()``.
"""
import os
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
import torch

from .clip import side_by_side_clip
from .detections import as_boxes
from .memory_size_plot import plot_memory_size
from .speed_accuracy_plot import plot_speed_accuracy
from .val_video import ValVideo, load_val_video

ROW_KEYS = ('name', 'family', 'config', 'checkpoint', 'mAP', 'ms_per_frame')
BASELINE_FAMILY = 'baseline'
MEMORY_PLOT_FAMILY = 'OGEM'
CLIP_FPS = 6.0


def _say(message: str) -> None:
    print(f'    demo figures: {message}', flush=True)


def check_rows(rows: Sequence[Dict[str, Any]]) -> None:
    """Raise a clear error unless every row has the keys the figures use."""
    if not rows:
        raise ValueError('write_demo_figures: no result rows')
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise TypeError(f'result row {i} must be a dict, got {type(row).__name__}')
        missing = [k for k in ROW_KEYS if k not in row]
        if missing:
            raise KeyError(f'result row {i} ({row.get("name", "?")}) lacks {missing}')


def check_model_files(row: Dict[str, Any]) -> None:
    """The row's config and checkpoint exist (FileNotFoundError naming them)."""
    for what in ('config', 'checkpoint'):
        path = row.get(what)
        if not path or not osp.isfile(str(path)):
            raise FileNotFoundError(f'model {row["name"]!r}: {what} {path!r} does not exist '
                                    f'(train it first, or fix the row\'s {what!r})')


def pick_models(rows: Sequence[Dict[str, Any]]
                ) -> Tuple[Optional[Dict], Optional[Dict], Optional[Dict]]:
    """(OGEM row, baseline row, best memory row); None where there is none.

    The OGEM row is the first of family 'OGEM', the baseline the first of
    family 'baseline', the best memory model the non-baseline row of highest
    mAP (the first of equals).
    """
    ogem = next((r for r in rows if r['family'] == MEMORY_PLOT_FAMILY), None)
    baseline = next((r for r in rows if r['family'] == BASELINE_FAMILY), None)
    memory_rows = [r for r in rows if r['family'] != BASELINE_FAMILY]
    best = max(memory_rows, key=lambda r: float(r['mAP'])) if memory_rows else None
    return ogem, baseline, best


def run_model(row: Dict[str, Any], video: ValVideo, device: str = 'cpu'
              ) -> Dict[str, Any]:
    """Run a row's model online over the video.

    Returns:
        dict: ``results`` (per frame ``bboxes`` (N, 4), ``scores`` (N,),
        ``labels`` (N,) numpy, frame pixels), ``stats`` (per frame
        ``frame_id``, ``is_key_frame``, ``memory_stats``, as
        ``VideoStream.stats``) and ``classes`` (names by label).
    """
    from mmvid_memory.apis import init_detector, open_stream
    check_model_files(row)
    model = init_detector(row['config'], row['checkpoint'], device=device)
    results = []
    # The whole (short) video's rows: the memory-size figure plots every frame.
    stream = open_stream(model, video_id=video.video_id, stats_window=len(video.img_paths))
    with torch.no_grad(), stream:
        for path, frame_id in zip(video.img_paths, video.frame_ids):
            bboxes, scores, labels = as_boxes(stream.push(path, frame_id=frame_id), row['name'])
            results.append(dict(bboxes=bboxes, scores=scores, labels=labels))
        stats = stream.stats
    classes = tuple(model.dataset_meta.get('classes') or ()) or None
    del model
    return dict(results=results, stats=stats, classes=classes)


def scale_boxes(result: Dict[str, np.ndarray], factor: float) -> Dict[str, np.ndarray]:
    """A copy of ``result`` whose (N, 4) ``bboxes`` are multiplied by ``factor``."""
    return dict(result, bboxes=np.asarray(result['bboxes'], dtype=np.float64) * factor)


def clip_frames(video: ValVideo, size: int) -> Tuple[List[np.ndarray], float]:
    """The video's frames resized so that their longer side is ``size``
    pixels, and the factor applied to them (boxes are scaled by it too)."""
    frames, factor = [], 1.0
    for path in video.img_paths:
        image = cv2.imread(path, cv2.IMREAD_COLOR)
        if image is None:
            raise IOError(f'cannot read frame {path!r}')
        factor = size / max(image.shape[:2])
        if factor != 1.0:
            new_wh = (max(1, round(image.shape[1] * factor)),
                      max(1, round(image.shape[0] * factor)))
            image = cv2.resize(image, new_wh, interpolation=cv2.INTER_AREA)
        frames.append(image)
    return frames, factor


def write_clip(video: ValVideo, left: Dict[str, Any], right: Dict[str, Any],
               titles: Tuple[str, str], out_dir: str, size: int = 160,
               score_thr: float = 0.3) -> List[str]:
    """``side_by_side.gif`` and, when OpenCV can encode it, ``side_by_side.mp4``."""
    frames, factor = clip_frames(video, size)
    results_a = [scale_boxes(r, factor) for r in left['results']]
    results_b = [scale_boxes(r, factor) for r in right['results']]
    gt = [scale_boxes(g, factor) for g in video.gt]
    classes = right['classes'] or left['classes']
    written = []
    for ext in ('.gif', '.mp4'):
        out_file = osp.join(out_dir, f'side_by_side{ext}')
        try:
            side_by_side_clip(frames, results_a, results_b, classes, out_file, titles=titles,
                              score_thr=score_thr, fps=CLIP_FPS, gt=gt,
                              frame_ids=video.frame_ids)
        except IOError as err:  # no mp4 encoder in this OpenCV build: the gif is enough
            if ext == '.gif':
                raise
            if osp.exists(out_file):
                os.remove(out_file)
            _say(f'no {ext} clip: {err}')
            continue
        written.append(out_file)
    return written


def write_demo_figures(rows: Sequence[Dict[str, Any]], out_dir: str,
                       data_root: str = 'data/synthvid', video_index: Optional[int] = None,
                       max_frames: int = 36, clip_size: int = 160, device: str = 'cpu',
                       score_thr: float = 0.3) -> List[str]:
    """Write the demo's pictures into ``out_dir``.

    Args:
        rows: ``run_demo.result_row`` dicts (``name``, ``family``,
            ``config``, ``checkpoint``, ``mAP`` in %, ``ms_per_frame``,
            optional ``mAP_slow/medium/fast`` and ``memory_size``).
        out_dir (str): folder of the pictures (created).
        data_root (str): SynthVID root (``annotations/synthvid_val.json``,
            ``Data/``).
        video_index (int, optional): val video for the memory plot and the
            clip; default the one with most fast motion.
        max_frames (int): frames of it that are run (from the first).
        clip_size (int): longer side of each clip panel in pixels.
        device (str): where the models run.
        score_thr (float): detections drawn above it.

    Returns:
        list[str]: the files written. A figure whose models are missing
        from ``rows`` (no OGEM row; no baseline or no memory row) is
        skipped with a printed reason.

    Raises:
        FileNotFoundError: a needed model's config or checkpoint, or the
            val data, is missing (checked before any picture is drawn).
    """
    check_rows(rows)
    if max_frames < 1 or clip_size < 16:
        raise ValueError(f'max_frames must be >= 1 and clip_size >= 16, got {max_frames} and '
                         f'{clip_size}')
    ogem, baseline, best = pick_models(rows)
    want_clip = baseline is not None and best is not None
    needed = [r for r in (ogem, baseline if want_clip else None, best if want_clip else None)
              if r is not None]
    for row in needed:
        check_model_files(row)
    video = load_val_video(data_root, video_index, max_frames) if needed else None
    os.makedirs(out_dir, exist_ok=True)

    written = []
    scatter = osp.join(out_dir, 'speed_accuracy.png')
    plot_speed_accuracy(rows, scatter, mAP_in='percent',
                        title='SynthVID val: accuracy against runtime')
    written.append(scatter)

    runs: Dict[Tuple[str, str], Dict[str, Any]] = {}  # each model once

    def run(row: Dict[str, Any]) -> Dict[str, Any]:
        key = (str(row['config']), str(row['checkpoint']))
        if key not in runs:
            runs[key] = run_model(row, video, device)
        return runs[key]

    if ogem is None:
        _say('no memory_size.png: no model of family OGEM among the rows')
    else:
        out_file = osp.join(out_dir, 'memory_size.png')
        plot_memory_size(run(ogem)['stats'], out_file,
                         title=f'{ogem["name"]}: memory size per frame, val video {video.name}')
        written.append(out_file)

    if not want_clip:
        _say('no side-by-side clip: it needs a baseline row and a memory-model row')
    else:
        titles = (str(baseline['name']), str(best['name']))
        written += write_clip(video, run(baseline), run(best), titles, out_dir, clip_size,
                              score_thr)
    return written
