"""Cluttered backgrounds: gradients, multi-scale noise and static clutter.

The clutter includes hard negatives: parallel lines (stripe-like) and dot
clusters, so that a texture alone is not an object. A background is drawn
once per video, larger than the frame, and the camera pans across it.
"""
import math

import cv2
import numpy as np

from .appearance import random_colour


def _value_noise(size: int, cells: int, channels: int, rng: np.random.Generator) -> np.ndarray:
    coarse = rng.uniform(-1, 1, size=(cells, cells, channels)).astype(np.float32)
    out = cv2.resize(coarse, (size, size), interpolation=cv2.INTER_CUBIC)
    return out.reshape(size, size, channels)


def _muted(rng: np.random.Generator) -> np.ndarray:
    return random_colour(rng, sat=(0.05, 0.6), val=(0.2, 0.95))


def _draw_item(canvas: np.ndarray, rng: np.random.Generator, unit: float) -> None:
    """Draw one clutter item, alpha-blended, onto ``canvas`` in place."""
    size = canvas.shape[0]
    layer = canvas.copy()
    colour = tuple(float(c) for c in _muted(rng))
    centre = rng.uniform(0, size, size=2)
    kind = rng.choice(['line', 'ellipse', 'polygon', 'rect', 'fence', 'dots'],
                      p=[0.22, 0.22, 0.2, 0.14, 0.11, 0.11])
    c = tuple(int(round(v)) for v in centre)
    if kind == 'line':
        end = centre + rng.normal(0, 30 * unit, size=2)
        cv2.line(layer, c, tuple(int(round(v)) for v in end), colour,
                 int(rng.integers(1, 4)), cv2.LINE_AA)
    elif kind == 'ellipse':
        axes = tuple(int(v) for v in rng.uniform(3, 24, size=2) * unit)
        cv2.ellipse(layer, c, axes, float(rng.uniform(0, 180)), 0, 360, colour, -1, cv2.LINE_AA)
    elif kind == 'polygon':
        n = int(rng.integers(4, 8))
        angles = np.sort(rng.uniform(0, 2 * math.pi, size=n))
        radii = rng.uniform(5, 28, size=n) * unit
        pts = centre + np.stack([radii * np.cos(angles), radii * np.sin(angles)], axis=1)
        cv2.fillPoly(layer, [np.round(pts).astype(np.int32)], colour, cv2.LINE_AA)
    elif kind == 'rect':
        half = rng.uniform(3, 20, size=2) * unit
        p0 = tuple(int(v) for v in centre - half)
        p1 = tuple(int(v) for v in centre + half)
        cv2.rectangle(layer, p0, p1, colour, -1)
    elif kind == 'fence':  # parallel lines: stripe-like texture on no object
        angle = rng.uniform(0, math.pi)
        normal = np.array([-math.sin(angle), math.cos(angle)])
        along = np.array([math.cos(angle), math.sin(angle)]) * rng.uniform(10, 35) * unit
        gap = rng.uniform(3, 7) * unit
        for k in range(int(rng.integers(3, 7))):
            base = centre + normal * gap * k
            start, end = (tuple(int(v) for v in p) for p in (base - along, base + along))
            cv2.line(layer, start, end, colour, max(1, int(gap / 2.5)), cv2.LINE_AA)
    else:  # a cluster of dots: dot-like texture on no object
        for _ in range(int(rng.integers(4, 12))):
            p = centre + rng.normal(0, 10 * unit, size=2)
            cv2.circle(layer, tuple(int(v) for v in p), max(1, int(rng.uniform(1, 3) * unit)),
                       colour, -1, cv2.LINE_AA)
    alpha = rng.uniform(0.35, 0.9)
    canvas *= 1 - alpha
    canvas += alpha * layer


def render_background(size: int, image_size: int, rng: np.random.Generator) -> np.ndarray:
    """A cluttered background of ``size x size`` pixels for frames of ``image_size``.

    Args:
        size: Side of the background (frame side plus the pan margin).
        image_size: Frame side; clutter density and item sizes scale with it.
        rng: Random generator of this video.

    Returns:
        ``(size, size, 3)`` float32 BGR in [0, 1].
    """
    unit = image_size / 160.0
    first, second = _muted(rng), _muted(rng)
    angle = rng.uniform(0, 2 * math.pi)
    ramp = (np.arange(size, dtype=np.float32) / size)
    t = np.clip(0.5 + (ramp[None, :] - 0.5) * math.cos(angle) +
                (ramp[:, None] - 0.5) * math.sin(angle), 0, 1)[..., None]
    canvas = (first + (second - first) * t).astype(np.float32)
    luma = (0.12 * _value_noise(size, 4, 1, rng) + 0.07 * _value_noise(size, 10, 1, rng) +
            0.04 * _value_noise(size, 28, 1, rng))
    canvas += luma + 0.04 * _value_noise(size, 6, 3, rng)
    canvas = np.clip(canvas, 0, 1)
    area_ratio = (size / (160.0 * unit))**2
    for _ in range(int(rng.integers(10, 22) * area_ratio)):
        _draw_item(canvas, rng, unit)
    sigma = rng.uniform(0.4, 1.2) * unit
    return np.clip(cv2.GaussianBlur(canvas, (0, 0), sigma), 0, 1).astype(np.float32)
