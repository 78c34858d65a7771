"""Per-frame deterioration: defocus, camera shake, long exposure, darkness, noise.

Each effect runs in *episodes* of a few frames that start at random, so a
track has clear frames on both sides of its bad ones, the situation a memory
is meant for. Episode rates scale with a per-video difficulty times the
generator's ``degradation`` knob (0 gives clean videos: no episodes, no
noise). Pixel quantities are given for a 160-pixel frame and scale with the
frame size. Smooth lighting drift (gain, colour cast, a moving light
gradient) runs on every frame.
"""
import math
from dataclasses import dataclass
from typing import Tuple

import cv2
import numpy as np


@dataclass
class FrameConditions:
    """Per-frame camera and lighting state of one video (arrays over T frames).

    Attributes:
        defocus: ``(T,)`` defocus disk radius, pixels (0: sharp).
        shake_blur: ``(T,)`` length of the global motion-blur streak, pixels.
        shake_angle: ``(T,)`` its direction, radians.
        shake_offset: ``(T, 2)`` camera jitter added to every layer, pixels.
        exposure: ``(T,)`` object motion-blur length per pixel of motion.
        gain: ``(T,)`` global brightness factor.
        cast: ``(T, 3)`` per-channel (BGR) colour factor.
        light: ``(T, 3)`` moving light gradient ``(dir_x, dir_y, amplitude)``.
        noise: ``(T,)`` sensor-noise sigma, in [0, 1] intensity units.
    """
    defocus: np.ndarray
    shake_blur: np.ndarray
    shake_angle: np.ndarray
    shake_offset: np.ndarray
    exposure: np.ndarray
    gain: np.ndarray
    cast: np.ndarray
    light: np.ndarray
    noise: np.ndarray


def episode_envelope(num_frames: int, rate: float, length: Tuple[int, int],
                     peak: Tuple[float, float], rng: np.random.Generator) -> np.ndarray:
    """A ``(T,)`` signal that is 0 outside episodes and up to a random peak inside.

    Args:
        num_frames: T.
        rate: Probability that an episode starts at a given frame.
        length: Inclusive range of episode lengths in frames.
        peak: Range of the episode's peak value.
        rng: Random generator.

    Returns:
        The maximum over episodes; the first and last frame of an episode of
        three or more frames get half the peak (onset and recovery).
    """
    out = np.zeros(num_frames)
    for start in np.flatnonzero(rng.uniform(size=num_frames) < rate):
        n = int(rng.integers(length[0], length[1] + 1))
        profile = np.ones(n)
        if n >= 3:
            profile[[0, -1]] = 0.5
        value = rng.uniform(*peak) * profile[:max(0, min(n, num_frames - start))]
        out[start:start + len(value)] = np.maximum(out[start:start + len(value)], value)
    return out


def _smooth_walk(num_frames: int, sigma: float, rng: np.random.Generator, size=None) -> np.ndarray:
    """A slowly drifting signal around 0 (AR(1) with coefficient 0.9)."""
    shape = (num_frames, ) if size is None else (num_frames, size)
    steps = rng.normal(0, sigma, size=shape)
    out = np.empty(shape)
    value = steps[0] * 3
    for t in range(num_frames):
        value = 0.9 * value + steps[t]
        out[t] = value
    return out


def sample_conditions(num_frames: int, image_size: int, strength: float,
                      rng: np.random.Generator) -> FrameConditions:
    """Sample the degradation schedule of one video.

    Args:
        num_frames: T.
        image_size: Frame side in pixels (pixel quantities scale with it).
        strength: The generator's ``degradation`` knob times this video's
            difficulty; 0 turns every episode and the noise off.
        rng: Random generator of this video.
    """
    unit = image_size / 160.0
    t = num_frames
    defocus = episode_envelope(t, 0.045 * strength, (2, 6), (3.0 * unit, 9.0 * unit), rng)
    shake = episode_envelope(t, 0.025 * strength, (1, 3), (8 * unit, 18 * unit), rng)
    shake_angle = rng.uniform(0, math.pi, size=t)
    shake_offset = rng.normal(0, 2.0 * unit, size=(t, 2)) * (shake > 0)[:, None]
    # Streak length per pixel of motion: above 1 the streak is longer than the
    # frame-to-frame displacement (a stylised long shutter), so that fast objects
    # smear beyond recognition in their blur episodes.
    base_exposure = rng.uniform(1.0, 2.5) if strength > 0 else 0.0
    exposure = base_exposure * (1 + episode_envelope(t, 0.05 * strength, (2, 5), (1.0, 2.5), rng))
    dark = episode_envelope(t, 0.02 * strength, (3, 8), (0.6, 0.8), rng)
    gain = np.clip(1.0 + _smooth_walk(t, 0.02, rng), 0.8, 1.15) * (1 - dark)
    cast = 1.0 + np.clip(_smooth_walk(t, 0.01, rng, 3), -0.08, 0.08)
    light_dir = rng.uniform(0, 2 * math.pi) + np.cumsum(rng.normal(0, 0.05, size=t))
    light = np.stack([np.cos(light_dir), np.sin(light_dir),
                      np.full(t, rng.uniform(0.0, 0.25))], axis=1)
    noise = (rng.uniform(0.004, 0.015) + 0.05 * dark +
             episode_envelope(t, 0.025 * strength, (2, 6), (0.06, 0.12), rng))
    if strength <= 0:
        noise = np.zeros(t)
    return FrameConditions(defocus=defocus, shake_blur=shake, shake_angle=shake_angle,
                           shake_offset=shake_offset, exposure=exposure, gain=gain, cast=cast,
                           light=light, noise=noise)


def line_kernel(length: float, angle: float) -> np.ndarray:
    """A normalised motion-blur kernel: a streak of ``length`` pixels at ``angle``.

    Returns:
        ``(K, K)`` float32 kernel, K odd, summing to 1.
    """
    half = int(math.ceil(length / 2)) + 1
    size = 2 * half + 1
    kernel = np.zeros((size, size), np.float32)
    steps = np.linspace(-length / 2, length / 2, max(2, int(math.ceil(length * 3))))
    x, y = half + steps * math.cos(angle), half + steps * math.sin(angle)
    x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
    fx, fy = x - x0, y - y0
    # Bilinear splat of evenly spaced samples along the streak.
    for dx, dy, weight in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)),
                           (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):
        np.add.at(kernel, (y0 + dy, x0 + dx), weight)
    return kernel / kernel.sum()


def disk_kernel(radius: float) -> np.ndarray:
    """A normalised defocus (pillbox) kernel of ``radius`` pixels, anti-aliased."""
    half = int(math.ceil(radius)) + 1
    axis = np.arange(-half, half + 1, dtype=np.float32)
    dist = np.sqrt(axis[None, :]**2 + axis[:, None]**2)
    kernel = np.clip(radius + 0.5 - dist, 0, 1)
    return kernel / kernel.sum()


def apply_camera(frame: np.ndarray, cond: FrameConditions, t: int, noise_bank: np.ndarray,
                 rng: np.random.Generator) -> np.ndarray:
    """Apply frame ``t``'s lighting, defocus, shake blur and noise.

    Args:
        frame: ``(S, S, 3)`` float32 BGR in [0, 1], the composed scene.
        cond: The video's conditions.
        t: Frame index.
        noise_bank: ``(2S, 2S, 3)`` float32 standard normal noise of the
            video; a frame takes a random crop (cheaper than fresh draws).
        rng: Picks the crop.

    Returns:
        ``(S, S, 3)`` float32 BGR in [0, 1].
    """
    size = frame.shape[0]
    ramp = np.arange(size, dtype=np.float32) / size - np.float32(0.5)
    dx, dy, amp = (np.float32(v) for v in cond.light[t])
    light = np.float32(1.0) + amp * (dx * ramp[None, :] + dy * ramp[:, None])
    colour = (cond.gain[t] * cond.cast[t]).astype(np.float32)
    frame = frame * (light[..., None] * colour)
    if cond.defocus[t] >= 0.75:
        frame = cv2.filter2D(frame, -1, disk_kernel(cond.defocus[t]), borderType=cv2.BORDER_REFLECT)
    if cond.shake_blur[t] >= 1.0:
        frame = cv2.filter2D(frame, -1, line_kernel(cond.shake_blur[t], cond.shake_angle[t]),
                             borderType=cv2.BORDER_REFLECT)
    if cond.noise[t] > 0:
        y, x = rng.integers(0, noise_bank.shape[0] - size + 1, size=2)
        frame += noise_bank[y:y + size, x:x + size] * np.float32(cond.noise[t])
    return np.clip(frame, 0.0, 1.0, out=frame)


#: A frame is inside a degradation episode when one of its conditions passes
#: its bound: the blur thresholds are those at which :func:`apply_camera`
#: starts to blur, noise and darkness mark the noise and dark episodes, and
#: an exposure above 4 px per pixel of motion is a long-shutter episode
#: (the base exposure is at most 2.5).
DEGRADED_IF = dict(defocus=('>=', 0.75), shake_blur=('>=', 1.0), noise=('>=', 0.05),
                   gain=('<', 0.6), exposure=('>', 4.0))


def is_degraded(cond: dict) -> bool:
    """Whether a frame's conditions (one entry of the generator's conditions
    file) put it inside a degradation episode (:data:`DEGRADED_IF`)."""
    for key, (op, bound) in DEGRADED_IF.items():
        if key not in cond:
            raise KeyError(f'frame conditions {cond.get("id")} have no {key!r}')
        value = float(cond[key])
        if (op == '>=' and value >= bound) or (op == '>' and value > bound) or (
                op == '<' and value < bound):
            return True
    return False


def degradation_frame_groups(conditions: dict) -> dict:
    """``degraded`` and ``clean`` image ids of one split.

    Args:
        conditions (dict): the content of ``synthvid_<split>_conditions.json``
            (``images``: one dict of conditions per image, with its ``id``).

    Returns:
        dict: ``{'degraded': [ids], 'clean': [ids]}``, a frame group mapping
        for the VID metric.
    """
    images = conditions.get('images') if isinstance(conditions, dict) else None
    if not isinstance(images, list):
        raise ValueError('SynthVID conditions must hold a list of per-image conditions '
                         "under 'images'")
    groups = dict(degraded=[], clean=[])
    for cond in images:
        groups['degraded' if is_degraded(cond) else 'clean'].append(int(cond['id']))
    return groups
