"""Draw detections and a few lines of text on a BGR frame (OpenCV only, fast)."""
import colorsys
import math
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
from mmengine.structures import InstanceData


def class_color(label: int) -> Tuple[int, int, int]:
    """A distinct, stable BGR colour per class (hues spaced by the golden ratio)."""
    hue = (int(label) * 0.618033988749895) % 1.0
    r, g, b = colorsys.hsv_to_rgb(hue, 0.85, 1.0)
    return int(b * 255), int(g * 255), int(r * 255)


def _font_scale(image: np.ndarray) -> float:
    return max(0.3, min(image.shape[:2]) / 600.0)


def _put_label(image: np.ndarray, text: str, x: int, y: int, color: Tuple[int, int, int],
               scale: float) -> None:
    """Text on a filled box whose bottom-left corner is (x, y), kept inside the image."""
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    h, w = image.shape[:2]
    x = min(max(0, x), max(0, w - tw))
    y = min(max(th + base, y), h)
    cv2.rectangle(image, (x, y - th - base), (x + tw, y), color, -1)
    luminance = 0.114 * color[0] + 0.587 * color[1] + 0.299 * color[2]
    text_color = (0, 0, 0) if luminance > 128 else (255, 255, 255)
    cv2.putText(image, text, (x, y - base), cv2.FONT_HERSHEY_SIMPLEX, scale, text_color, 1,
                cv2.LINE_AA)


def draw_detections(image: np.ndarray, instances: InstanceData,
                    class_names: Optional[Sequence[str]] = None, score_thr: float = 0.3,
                    text_lines: Optional[List[str]] = None) -> np.ndarray:
    """An annotated copy of a frame: boxes, class names, scores, and text lines.

    Args:
        image (np.ndarray): (H, W, 3) uint8 BGR frame.
        instances (InstanceData): ``bboxes`` (N, 4) x1y1x2y2 in the frame's
            pixels, ``scores`` (N,), ``labels`` (N,).
        class_names (Sequence[str], optional): names by label.
        score_thr (float): boxes scoring below it are not drawn.
        text_lines (list[str], optional): written top-left (e.g. memory rows).

    Returns:
        np.ndarray: (H, W, 3) uint8 BGR.
    """
    canvas = np.ascontiguousarray(image.copy())
    scale = _font_scale(canvas)
    bboxes = instances.bboxes.detach().cpu().numpy() if len(instances) else np.zeros((0, 4))
    scores = instances.scores.detach().cpu().numpy() if len(instances) else np.zeros(0)
    labels = instances.labels.detach().cpu().numpy() if len(instances) else np.zeros(0, int)
    order = np.argsort(scores)  # highest score drawn last, on top
    for idx in order:
        if scores[idx] < score_thr:
            continue
        label = int(labels[idx])
        color = class_color(label)
        x1, y1, x2, y2 = (int(round(v)) if math.isfinite(v) else 0 for v in bboxes[idx])
        cv2.rectangle(canvas, (x1, y1), (x2, y2), color, 1 if scale < 0.5 else 2)
        name = (class_names[label] if class_names is not None and 0 <= label < len(class_names)
                else str(label))
        _put_label(canvas, f'{name} {scores[idx]:.2f}', x1, y1, color, scale)
    if text_lines:
        (_, th), base = cv2.getTextSize('Ag', cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
        for row, line in enumerate(text_lines):
            _put_label(canvas, line, 0, (row + 1) * (th + base + 2), (40, 40, 40), scale)
    return canvas


def memory_text_lines(memory_stats: Dict[str, float],
                      keys: Sequence[str] = ('rows', 'memory_maps')) -> List[str]:
    """'pixel.0 rows 123'-style lines from a frame's ``memory_stats``.

    Args:
        memory_stats (dict): ``'<point>.<stat>' -> value``.
        keys (Sequence[str]): which stats to show (default: OGEM's rows and
            the warped memories' stored maps); empty shows all.
    """
    lines = []
    for name, value in sorted(memory_stats.items()):
        point, _, stat = name.rpartition('.')
        if keys and stat not in keys:
            continue
        shown = f'{value:.0f}' if float(value).is_integer() else f'{value:.3g}'
        lines.append(f'{point} {stat} {shown}')
    return lines
