"""An annotated clip with two detectors' results side by side (mp4 or gif)."""
import math
from typing import Any, Optional, Sequence, Tuple

import cv2
import numpy as np
import torch
from mmengine.structures import InstanceData

from mmvid_memory.apis.draw import draw_detections
from mmvid_memory.apis.video_io import VideoSink

from .detections import as_boxes

GT_COLOR = (255, 255, 255)  # BGR
SEPARATOR = 4  # pixels between the panels


def draw_dashed_box(image: np.ndarray, box: Sequence[float], color: Tuple[int, int, int],
                    dash: int = 4, thickness: int = 1) -> None:
    """Draw a dashed rectangle (x1, y1, x2, y2) on a BGR image, in place."""
    if not all(math.isfinite(v) for v in box):
        return
    x1, y1, x2, y2 = (int(round(v)) for v in box)
    edges = (((x1, y1), (x2, y1)), ((x2, y1), (x2, y2)), ((x2, y2), (x1, y2)),
             ((x1, y2), (x1, y1)))
    for (ax, ay), (bx, by) in edges:
        length = max(abs(bx - ax), abs(by - ay))
        for start in range(0, length + 1, 2 * dash):
            stop = min(start + dash, length)
            t0, t1 = start / max(length, 1), stop / max(length, 1)
            p0 = (int(round(ax + (bx - ax) * t0)), int(round(ay + (by - ay) * t0)))
            p1 = (int(round(ax + (bx - ax) * t1)), int(round(ay + (by - ay) * t1)))
            cv2.line(image, p0, p1, color, thickness, cv2.LINE_AA)


def _instances(result: Any, what: str) -> InstanceData:
    bboxes, scores, labels = as_boxes(result, what)
    out = InstanceData()
    out.bboxes = torch.as_tensor(bboxes, dtype=torch.float32).reshape(-1, 4)
    out.scores = torch.as_tensor(scores, dtype=torch.float32)
    out.labels = torch.as_tensor(labels, dtype=torch.long)
    return out


def _title_bar(width: int, text: str, height: int) -> np.ndarray:
    bar = np.full((height, width, 3), 30, dtype=np.uint8)
    scale = max(0.35, height / 40.0)
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    if tw > width - 4:  # shrink a long title to the panel rather than cut it off
        scale *= (width - 4) / tw
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    x = max(2, (width - tw) // 2)
    cv2.putText(bar, text, (x, (height + th) // 2), cv2.FONT_HERSHEY_SIMPLEX, scale,
                (255, 255, 255), 1, cv2.LINE_AA)
    return bar


def compose_side_by_side(frame: np.ndarray, result_a: Any, result_b: Any,
                         class_names: Optional[Sequence[str]], titles: Sequence[str],
                         score_thr: float = 0.3, gt: Any = None,
                         frame_label: Optional[str] = None) -> np.ndarray:
    """One frame of the clip: (bar + H, 2 W + separator, 3) uint8 BGR.

    Each panel shows the frame with one result's boxes above ``score_thr``
    (solid, class colour, name and score); ground truth, when given, is
    drawn dashed and thin in white on both.
    """
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        raise ValueError(f'frames must be (H, W, 3) uint8 BGR, got shape {frame.shape} '
                         f'dtype {frame.dtype}')
    height, width = frame.shape[:2]
    bar_h = max(14, min(28, height // 8))
    panels = []
    for title, result in zip(titles, (result_a, result_b)):
        base = np.ascontiguousarray(frame.copy())
        if gt is not None:
            gt_boxes, _, _ = as_boxes(gt, 'gt')
            for box in gt_boxes:
                draw_dashed_box(base, box, GT_COLOR, dash=max(2, min(height, width) // 60))
        panel = draw_detections(base, _instances(result, title), class_names, score_thr)
        heading = title if frame_label is None else f'{title}  {frame_label}'
        panels.append(np.concatenate([_title_bar(width, heading, bar_h), panel], axis=0))
    gap = np.full((panels[0].shape[0], SEPARATOR, 3), 255, dtype=np.uint8)
    out = np.concatenate([panels[0], gap, panels[1]], axis=1)
    # Even sizes keep every mp4 encoder happy.
    pad_h, pad_w = out.shape[0] % 2, out.shape[1] % 2
    if pad_h or pad_w:
        out = cv2.copyMakeBorder(out, 0, pad_h, 0, pad_w, cv2.BORDER_CONSTANT, value=0)
    return out


def side_by_side_clip(frames: Sequence[np.ndarray], results_a: Sequence[Any],
                      results_b: Sequence[Any], class_names: Optional[Sequence[str]],
                      out_file: str, titles: Tuple[str, str] = ('R-FCN', 'OGEM'),
                      score_thr: float = 0.3, fps: float = 6,
                      gt: Optional[Sequence[Any]] = None,
                      frame_ids: Optional[Sequence[int]] = None) -> int:
    """Write a clip of two detectors' results on the same frames, side by side.

    Args:
        frames: (H, W, 3) uint8 BGR frames, in order.
        results_a, results_b: per frame, the detections of the two models in
            frame pixels (DetDataSample, InstanceData or dict with
            ``bboxes``, ``scores``, ``labels``).
        class_names (Sequence[str], optional): names by label.
        out_file (str): ``.mp4``/``.avi`` (OpenCV) or ``.gif`` (Pillow).
        titles (tuple): the panels' titles.
        score_thr (float): boxes below it are not drawn.
        fps (float): frames per second of the clip.
        gt (Sequence, optional): per frame, ground truth (``bboxes``,
            ``labels``), drawn dashed.
        frame_ids (Sequence[int], optional): shown in the titles.

    Returns:
        int: frames written.
    """
    frames = list(frames)
    if not frames:
        raise ValueError('side_by_side_clip: no frames')
    if len(titles) != 2:
        raise ValueError(f'titles must name the two panels, got {titles}')
    lengths = dict(frames=len(frames), results_a=len(results_a), results_b=len(results_b))
    if gt is not None:
        lengths['gt'] = len(gt)
    if frame_ids is not None:
        lengths['frame_ids'] = len(frame_ids)
    if len(set(lengths.values())) != 1:
        raise ValueError(f'side_by_side_clip: lengths differ: {lengths}')
    with VideoSink(out_file, fps=fps) as sink:
        for t, frame in enumerate(frames):
            label = None if frame_ids is None else f'frame {frame_ids[t]}'
            sink.write(compose_side_by_side(frame, results_a[t], results_b[t], class_names,
                                            titles, score_thr,
                                            None if gt is None else gt[t], label))
        written = sink.num_frames
    return written
