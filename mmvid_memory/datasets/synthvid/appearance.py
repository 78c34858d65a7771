"""Sprites: the appearance of an object or a distractor, fixed along its track.

A sprite is drawn once, analytically, on a supersampled master grid in *shape
units* (the shape fits in ``[-1.25, 1.25]^2``), and kept as a small pyramid of
premultiplied BGRA float images. Each frame then warps the pyramid level
closest above the needed resolution, so the appearance is identical along the
track and rendering a frame costs a few small ``cv2.warpAffine`` calls.
"""
import colorsys
import math
from typing import Dict, Tuple

import cv2
import numpy as np

from .classes import SynthClass

#: Half-width of the square the sprite covers, in shape units.
SPRITE_EXTENT = 1.25
#: Pixels per shape unit of the stored pyramid levels.
LEVEL_DENSITIES = (12, 17, 24, 34, 48)
#: Pixels per shape unit of the master grid (supersampling for anti-aliasing).
MASTER_DENSITY = 96

#: Feature size (shape units) of each pattern: stripe half-period, checker
#: cell, half the dot spacing, ring half-period. Blur (sigma) of about half of
#: it makes the pattern unreadable. A 24-pixel object has ~12 pixels per unit.
PATTERN_FEATURE = {'stripes': 0.30, 'checker': 0.36, 'dots': 0.28, 'rings': 0.27}

Grid = Tuple[np.ndarray, np.ndarray]


class Sprite:
    """A premultiplied BGRA pyramid of one appearance.

    Args:
        levels: pixels-per-unit -> ``(H, W, 4)`` float32 image, premultiplied
            colour in channels 0-2 and alpha in channel 3, the shape-unit
            origin at the image centre.
        feature_size: Pattern feature size in shape units (``inf`` when the
            sprite has no pattern).
    """

    def __init__(self, levels: Dict[int, np.ndarray], feature_size: float) -> None:
        self.levels = levels
        self.feature_size = feature_size

    def level_for(self, px_per_unit: float) -> Tuple[int, np.ndarray]:
        """The coarsest level with at least ``px_per_unit`` (else the finest)."""
        for density in sorted(self.levels):
            if density >= px_per_unit:
                return density, self.levels[density]
        density = max(self.levels)
        return density, self.levels[density]


def _master_grid() -> Grid:
    """Pixel-centre coordinates of the master grid, in shape units."""
    n = int(round(2 * SPRITE_EXTENT * MASTER_DENSITY))
    axis = (np.arange(n, dtype=np.float32) + 0.5) / MASTER_DENSITY - SPRITE_EXTENT
    return np.meshgrid(axis, axis)  # u grows to the right, v grows downwards


def _polygon_mask(vertices: np.ndarray) -> np.ndarray:
    """Filled polygon (vertices in shape units) on the master grid."""
    n = int(round(2 * SPRITE_EXTENT * MASTER_DENSITY))
    pixels = np.round((vertices + SPRITE_EXTENT) * MASTER_DENSITY * 16).astype(np.int32)
    mask = np.zeros((n, n), np.uint8)
    cv2.fillPoly(mask, [pixels], 1, lineType=cv2.LINE_8, shift=4)
    return mask.astype(bool)


def _regular_polygon(radii, start_angle: float) -> np.ndarray:
    angles = start_angle + np.arange(len(radii)) * 2 * math.pi / len(radii)
    return np.stack([radii * np.cos(angles), radii * np.sin(angles)], axis=1)


def shape_mask(shape: str, grid: Grid) -> np.ndarray:
    """Silhouette of a class shape on the master grid (similar areas, ~2.2 units^2).

    Args:
        shape: ``disc``, ``square``, ``triangle`` or ``star``.
        grid: ``(u, v)`` from :func:`_master_grid`.

    Returns:
        ``(N, N)`` bool mask.
    """
    u, v = grid
    if shape == 'disc':
        return u * u + v * v <= 0.88**2
    if shape == 'square':
        return (np.abs(u) <= 0.78) & (np.abs(v) <= 0.78)
    if shape == 'triangle':
        return _polygon_mask(_regular_polygon(np.full(3, 1.22), -math.pi / 2))
    if shape == 'star':
        radii = np.tile([1.22, 0.55], 5)
        return _polygon_mask(_regular_polygon(radii, -math.pi / 2))
    raise ValueError(f'unknown shape {shape!r}')


def _rotated(grid: Grid, angle: float) -> Grid:
    u, v = grid
    c, s = math.cos(angle), math.sin(angle)
    return c * u + s * v, -s * u + c * v


def pattern_mask(pattern: str, grid: Grid, rng: np.random.Generator) -> np.ndarray:
    """Where the foreground colour of a class pattern goes, on the master grid.

    The orientation and phase are random per object; the feature sizes are
    :data:`PATTERN_FEATURE`.
    """
    size = PATTERN_FEATURE[pattern]
    phase = rng.uniform(0, 2 * math.pi, size=2)
    u, v = _rotated(grid, rng.uniform(0, math.pi))
    if pattern == 'stripes':
        return np.sin(math.pi * u / size + phase[0]) > 0
    if pattern == 'checker':
        return np.sin(math.pi * u / size + phase[0]) * np.sin(math.pi * v / size + phase[1]) > 0
    if pattern == 'dots':  # lattice spacing 2 * size, dot diameter 0.64 * spacing
        du = np.mod(u / (2 * size) + phase[0] / (2 * math.pi), 1.0) - 0.5
        dv = np.mod(v / (2 * size) + phase[1] / (2 * math.pi), 1.0) - 0.5
        return du * du + dv * dv <= 0.32**2
    if pattern == 'rings':
        u0, v0 = grid
        return np.sin(math.pi * np.sqrt(u0 * u0 + v0 * v0) / size + phase[0]) > 0
    raise ValueError(f'unknown pattern {pattern!r}')


def _luma(bgr: np.ndarray) -> float:
    return float(0.114 * bgr[0] + 0.587 * bgr[1] + 0.299 * bgr[2])


def random_colour(rng: np.random.Generator, sat=(0.25, 1.0), val=(0.25, 1.0)) -> np.ndarray:
    """A random BGR colour in ``[0, 1]``."""
    r, g, b = colorsys.hsv_to_rgb(rng.uniform(), rng.uniform(*sat), rng.uniform(*val))
    return np.array([b, g, r], np.float32)


def contrasting_colours(rng: np.random.Generator,
                        min_luma_gap: float = 0.3) -> Tuple[np.ndarray, np.ndarray]:
    """Two random BGR colours whose luma differs by at least ``min_luma_gap``."""
    while True:
        first, second = random_colour(rng), random_colour(rng)
        if abs(_luma(first) - _luma(second)) >= min_luma_gap:
            return first, second


def _pyramid(colour: np.ndarray, alpha: np.ndarray) -> Dict[int, np.ndarray]:
    """Premultiplied BGRA levels, area-averaged down from the master grid."""
    master = np.concatenate([colour * alpha[..., None], alpha[..., None]], axis=2)
    levels = {}
    for density in LEVEL_DENSITIES:
        n = int(round(2 * SPRITE_EXTENT * density))
        levels[density] = cv2.resize(master, (n, n), interpolation=cv2.INTER_AREA)
    return levels


def _shading(grid: Grid, rng: np.random.Generator, strength: float) -> np.ndarray:
    """A soft linear light gradient, so sprites are not perfectly flat."""
    u, v = _rotated(grid, rng.uniform(0, 2 * math.pi))
    return (1.0 + strength * u / SPRITE_EXTENT)[..., None]


def render_class_sprite(cls: SynthClass, rng: np.random.Generator) -> Sprite:
    """The sprite of one object of class ``cls``: its shape with its pattern.

    Args:
        cls: The class (shape and pattern).
        rng: Draws the two colours, the pattern orientation and phase, and the
            shading direction.
    """
    grid = _master_grid()
    alpha = shape_mask(cls.shape, grid).astype(np.float32)
    fg, bg = contrasting_colours(rng)
    fg_mask = pattern_mask(cls.pattern, grid, rng)[..., None]
    colour = np.where(fg_mask, fg, bg) * _shading(grid, rng, 0.12)
    return Sprite(_pyramid(np.clip(colour, 0, 1).astype(np.float32), alpha),
                  PATTERN_FEATURE[cls.pattern])


def _distractor_silhouette(kind: str, grid: Grid, rng: np.random.Generator) -> np.ndarray:
    u, v = _rotated(grid, rng.uniform(0, math.pi))
    if kind == 'bar':  # long and thin: no class is elongated
        half_w = rng.uniform(0.18, 0.32)
        return (np.abs(u) <= 1.2) & (np.abs(v) <= half_w)
    if kind == 'ellipse':
        ratio = rng.uniform(1.8, 3.0)
        return (u / 1.2)**2 + (v * ratio / 1.2)**2 <= 1.0
    if kind == 'blob':  # a lumpy potato: low angular frequencies only, so never star-like
        radius = np.full_like(u, 0.85)
        theta = np.arctan2(v, u)
        for k in (2, 3):
            radius += rng.uniform(0.08, 0.18) * np.cos(k * theta + rng.uniform(0, 2 * math.pi))
        return np.sqrt(u * u + v * v) <= radius
    raise ValueError(f'unknown distractor kind {kind!r}')


def _distractor_fill(fill: str, grid: Grid, rng: np.random.Generator) -> np.ndarray:
    u, v = grid
    n = u.shape[0]
    if fill == 'solid':
        return np.broadcast_to(random_colour(rng), (n, n, 3)) * _shading(grid, rng, 0.2)
    if fill == 'noise':  # blotchy camouflage
        coarse = rng.uniform(0, 1, size=(5, 5, 3)).astype(np.float32)
        return cv2.resize(coarse, (n, n), interpolation=cv2.INTER_CUBIC)
    if fill == 'gradient':
        first, second = contrasting_colours(rng, 0.15)
        t = np.clip((_rotated(grid, rng.uniform(0, 2 * math.pi))[0] + 1.2) / 2.4, 0, 1)
        return first + (second - first) * t[..., None]
    if fill == 'stripes':  # a hard negative: a class pattern on a non-class shape
        first, second = contrasting_colours(rng)
        return np.where(pattern_mask('stripes', grid, rng)[..., None], first, second)
    raise ValueError(f'unknown distractor fill {fill!r}')


DISTRACTOR_KINDS = ('bar', 'ellipse', 'blob')
DISTRACTOR_FILLS = ('solid', 'noise', 'gradient', 'stripes')
DISTRACTOR_FILL_PROBS = (0.35, 0.3, 0.15, 0.2)


def render_distractor_sprite(rng: np.random.Generator) -> Sprite:
    """A moving occluder that belongs to no class (bar, ellipse or blob)."""
    grid = _master_grid()
    kind = DISTRACTOR_KINDS[rng.integers(len(DISTRACTOR_KINDS))]
    fill = DISTRACTOR_FILLS[rng.choice(len(DISTRACTOR_FILLS), p=DISTRACTOR_FILL_PROBS)]
    alpha = _distractor_silhouette(kind, grid, rng).astype(np.float32)
    colour = np.clip(_distractor_fill(fill, grid, rng), 0, 1).astype(np.float32)
    return Sprite(_pyramid(colour, alpha), math.inf)

