"""Trajectories of objects and distractors.

Object speeds are drawn per track from three regimes sized to land in FGFA's
motion-IoU bins (an object's motion IoU is its mean box IoU with the same
track in frames t-10..t+10): for a box of side ``s`` moving ``k * s`` pixels a
frame, the mean IoU over the 20 neighbours is about ``1 - 11 k``, so

- slow (IoU > 0.9):       k <= 0.005, nearly no scale change or spin;
- medium (0.7..0.9):      k in [0.009, 0.018], mild scale change and spin;
- fast (IoU < 0.7):       k in [0.035, 0.12], strong scale change and spin.

Medium and fast objects may enter the frame from a border and may leave it
(no bounce); the others bounce off the borders.
"""
import math
from dataclasses import dataclass
from typing import Dict, Tuple

import numpy as np

#: regime -> (probability, relative speed range, max |log-scale rate| per
#: frame, max spin in degrees per frame, heading random-walk sigma in rad).
SPEED_REGIMES: Dict[str, Tuple[float, Tuple[float, float], float, float, float]] = {
    'slow': (0.38, (0.0, 0.005), 0.0015, 0.25, 0.05),
    'medium': (0.30, (0.009, 0.018), 0.005, 0.8, 0.08),
    'fast': (0.32, (0.035, 0.12), 0.02, 3.0, 0.12),
}


@dataclass
class Trajectory:
    """Pose of a sprite over the frames of a video.

    Attributes:
        centers: ``(T, 2)`` sprite origin in image pixels (continuous
            coordinates, pixel i spans [i, i+1)).
        scales: ``(T,)`` pixels per shape unit.
        angles: ``(T,)`` rotation in radians.
        velocities: ``(T, 2)`` displacement from the previous frame, pixels
            (frame 0 uses frame 0 -> 1), used for motion blur.
        aspect: x/y stretch of the sprite (``sqrt`` applied to each axis).
        regime: ``slow``, ``medium``, ``fast`` or ``distractor``.
        first_frame: The sprite is not drawn before this frame.
    """
    centers: np.ndarray
    scales: np.ndarray
    angles: np.ndarray
    velocities: np.ndarray
    aspect: float
    regime: str
    first_frame: int = 0

    def roughly_visible(self, t: int, image_size: int) -> bool:
        """Whether most of the sprite is inside the frame at ``t`` (for planning)."""
        if t < self.first_frame:
            return False
        margin = 0.3 * self.scales[t]
        return bool(np.all(self.centers[t] >= -margin) and
                    np.all(self.centers[t] <= image_size + margin))


def _velocities(centers: np.ndarray) -> np.ndarray:
    vel = np.diff(centers, axis=0, prepend=centers[:1])
    if len(centers) > 1:
        vel[0] = centers[1] - centers[0]
    return vel


def _scales(num_frames: int, start: float, max_rate: float, bounds: Tuple[float, float],
            rng: np.random.Generator) -> np.ndarray:
    """Exponential growth or shrinking that reflects at the size bounds."""
    rate = rng.uniform(-max_rate, max_rate) if rng.uniform() < 0.7 else 0.0
    log_lo, log_hi = math.log(bounds[0]), math.log(bounds[1])
    log_s = math.log(start)
    out = np.empty(num_frames)
    for t in range(num_frames):
        out[t] = math.exp(log_s)
        log_s += rate
        if not log_lo <= log_s <= log_hi:
            rate, log_s = -rate, min(max(log_s, log_lo), log_hi)
    return out


def object_trajectory(num_frames: int, image_size: int, size_px: float, rng: np.random.Generator,
                      size_bounds: Tuple[float, float], first_frame: int = 0) -> Trajectory:
    """Sample the trajectory of one object.

    Args:
        num_frames: Video length T.
        image_size: Frame side S in pixels.
        size_px: Initial object size (~ its box side) in pixels.
        rng: Random generator of this video.
        size_bounds: ``(min, max)`` object size in pixels.
        first_frame: 0 for an object of the first frame; a later frame makes a
            medium or fast object that enters from a border right after it.

    Returns:
        The trajectory; ``scales`` is ``size / 2`` (shapes span ~2 units).
    """
    names = list(SPEED_REGIMES)
    probs = np.array([SPEED_REGIMES[n][0] for n in names])
    if first_frame > 0:
        probs[names.index('slow')] = 0.0
    regime = names[rng.choice(len(names), p=probs / probs.sum())]
    _, speed_range, max_rate, max_spin, turn_sigma = SPEED_REGIMES[regime]
    sizes = _scales(num_frames, size_px, max_rate, size_bounds, rng)
    rel_speed = rng.uniform(*speed_range)
    heading = rng.uniform(0, 2 * math.pi)
    enters = first_frame > 0 or (regime != 'slow' and rng.uniform() < 0.3)
    bounces = regime == 'slow' or rng.uniform() < 0.4
    half = sizes[0] / 2
    if enters:
        # Heading inwards with the centre outside a border by the distance it
        # covers in `frames_outside` frames: the object is half in at that time.
        side = int(rng.integers(4))
        inward = (0.0, math.pi / 2, math.pi, -math.pi / 2)[side]  # from left, top, right, bottom
        heading = inward + rng.uniform(-math.pi / 6, math.pi / 6)
        frames_outside = rng.uniform(0, 2) if first_frame else rng.uniform(0, 0.5 * num_frames)
        depth = rel_speed * sizes[0] * frames_outside * math.cos(heading - inward)
        along = rng.uniform(half, image_size - half)
        start = {0: (-depth, along), 1: (along, -depth),
                 2: (image_size + depth, along), 3: (along, image_size + depth)}[side]
        pos = np.array(start, float)
    else:  # anywhere with at least ~70 % of the object in the frame
        pos = rng.uniform(0.3 * sizes[0], image_size - 0.3 * sizes[0], size=2)
    centers = np.empty((num_frames, 2))
    centers[:first_frame] = pos  # not drawn before first_frame
    wanders = not enters  # an entering object comes straight in, then wanders
    for t in range(first_frame, num_frames):
        centers[t] = pos
        margin = sizes[t] / 2
        if wanders:
            heading += rng.normal(0, turn_sigma)
            if bounces:  # turn back when heading out past the border margin
                cos_h, sin_h = math.cos(heading), math.sin(heading)
                if (pos[0] < margin and cos_h < 0) or (pos[0] > image_size - margin and cos_h > 0):
                    cos_h = -cos_h
                if (pos[1] < margin and sin_h < 0) or (pos[1] > image_size - margin and sin_h > 0):
                    sin_h = -sin_h
                heading = math.atan2(sin_h, cos_h)
        pos = pos + rel_speed * sizes[t] * np.array([math.cos(heading), math.sin(heading)])
        wanders = wanders or bool(np.all(pos >= margin) and np.all(pos <= image_size - margin))
    spin = math.radians(rng.uniform(-max_spin, max_spin))
    angles = rng.uniform(0, 2 * math.pi) + spin * np.arange(num_frames)
    return Trajectory(centers=centers, scales=sizes / 2, angles=angles,
                      velocities=_velocities(centers), aspect=float(rng.uniform(0.85, 1.18)),
                      regime=regime, first_frame=first_frame)


def distractor_trajectory(num_frames: int, image_size: int, rng: np.random.Generator) -> Trajectory:
    """A distractor crossing the frame along a nearly straight line.

    It enters from a border at a random time (possibly before the video
    starts) and moves at 1.5-5 px/frame (scaled to a 160-pixel frame).
    """
    unit = image_size / 160.0
    size = rng.uniform(22, 70) * unit
    speed = rng.uniform(1.5, 5.0) * unit
    side = int(rng.integers(4))
    inward = (0.0, math.pi / 2, math.pi, -math.pi / 2)[side]
    heading = inward + rng.uniform(-math.pi / 6, math.pi / 6)
    t_enter = rng.uniform(-0.4, 0.8) * num_frames
    along = rng.uniform(0, image_size)
    edge = {0: (-size / 2, along), 1: (along, -size / 2), 2: (image_size + size / 2, along),
            3: (along, image_size + size / 2)}[side]
    direction = np.array([math.cos(heading), math.sin(heading)])
    times = np.arange(num_frames) - t_enter
    centers = np.asarray(edge) + speed * times[:, None] * direction
    spin = math.radians(rng.uniform(-2.0, 2.0))
    angles = rng.uniform(0, 2 * math.pi) + spin * np.arange(num_frames)
    return Trajectory(centers=centers, scales=np.full(num_frames, size / 2.4), angles=angles,
                      velocities=_velocities(centers), aspect=1.0, regime='distractor')


def camera_path(num_frames: int, margin: float, rng: np.random.Generator) -> np.ndarray:
    """Background crop offsets ``(T, 2)`` in ``[0, 2 * margin]``: a slow smooth pan."""
    pos = rng.uniform(0, 2 * margin, size=2)
    vel = rng.normal(0, 0.6, size=2) * (margin / 32)
    out = np.empty((num_frames, 2))
    for t in range(num_frames):
        out[t] = pos
        vel = 0.9 * vel + rng.normal(0, 0.15, size=2) * (margin / 32)
        pos = pos + vel
        for axis in range(2):
            if not 0 <= pos[axis] <= 2 * margin:
                pos[axis] = min(max(pos[axis], 0), 2 * margin)
                vel[axis] = -vel[axis]
    return out
