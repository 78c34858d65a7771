"""Sampling and rendering of one SynthVID video.

A frame is composed back to front: the panned background, then the objects
and distractors in depth order (each warped from its sprite and streaked
along its motion), then the camera (lighting, defocus, shake, noise). Boxes
are the extent of an object's sharp silhouette inside the frame; an object
covered by layers in front of it is ``occluded`` and loses its box when
almost nothing of it shows.
"""
import math
import os
import os.path as osp
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import cv2
import numpy as np

from .appearance import SPRITE_EXTENT, Sprite, render_class_sprite, render_distractor_sprite
from .background import render_background
from .classes import SYNTHVID_CLASSES
from .degradation import FrameConditions, apply_camera, line_kernel, sample_conditions
from .motion import Trajectory, camera_path, distractor_trajectory, object_trajectory

#: A box needs at least this many pixels of width and height inside the frame.
MIN_BOX_SIDE = 4
#: Fraction of an object's in-frame silhouette hidden by layers in front of it
#: from which it is flagged ``occluded``, and from which it has no box.
OCCLUDED_FRACTION = 0.35
HIDDEN_FRACTION = 0.9
#: Blur (Gaussian-equivalent sigma) above this fraction of a pattern's feature
#: size makes the pattern unreadable or misleading (blurred dots turn into
#: stripes), judged on contact sheets of crops.
UNREADABLE_BLUR = 0.45


@dataclass
class VideoConfig:
    """Generator knobs that shape one video (see ``generate_synthvid``)."""
    image_size: int = 160
    max_frames: int = 36
    frame_jitter: float = 0.25
    objects: Tuple[int, int] = (1, 3)
    object_size: Tuple[float, float] = (24.0, 84.0)
    distractors: Tuple[int, int] = (0, 3)
    degradation: float = 1.0
    jpeg_quality: int = 90


@dataclass
class Layer:
    """An object (``category_id`` set) or a distractor drawn over the frames."""
    sprite: Sprite
    trajectory: Trajectory
    depth: float
    category_id: Optional[int] = None
    track_key: int = -1


@dataclass
class BoxRecord:
    """One annotation of a frame, plus facts used only for statistics.

    Attributes:
        track_key: Index of the object in its video.
        category_id: 1-based class id.
        bbox: ``[x, y, w, h]`` in pixels.
        occluded: Flag of the annotation.
        regime: Speed regime the track was drawn from.
        blur_ratio: Gaussian-equivalent blur sigma (defocus, shake and the
            object's own streak) over the pattern's feature size in pixels.
        hard: Reasons the object cannot be recognised in this frame alone
            (``blur``, ``dark``, ``noise``, ``occlusion``), empty if clear.
    """
    track_key: int
    category_id: int
    bbox: List[int]
    occluded: bool
    regime: str
    blur_ratio: float = 0.0
    hard: List[str] = field(default_factory=list)


@dataclass
class VideoResult:
    """What a worker returns for one video (the frames are already on disk)."""
    name: str
    width: int
    height: int
    file_names: List[str]
    boxes: List[List[BoxRecord]]
    conditions: List[Dict[str, float]]


def sample_layers(num_frames: int, cfg: VideoConfig, first_class: int,
                  rng: np.random.Generator) -> List[Layer]:
    """Objects and distractors of a video, sorted back to front.

    Args:
        num_frames: Video length.
        cfg: Generator knobs.
        first_class: Class index of the first object (the caller cycles it
            over videos to balance classes); later objects draw theirs.
        rng: Random generator of this video.
    """
    layers = []
    lo, hi = cfg.object_size
    unit = cfg.image_size / 160.0
    bounds = (lo * unit * 0.95, hi * unit * 1.05)
    objects: List[Layer] = []

    def add_object(first_frame: int) -> None:
        class_index = first_class if not objects else int(rng.integers(len(SYNTHVID_CLASSES)))
        size = math.exp(rng.uniform(math.log(lo * unit), math.log(hi * unit)))
        objects.append(
            Layer(sprite=render_class_sprite(SYNTHVID_CLASSES[class_index], rng),
                  trajectory=object_trajectory(num_frames, cfg.image_size, size, rng, bounds,
                                               first_frame),
                  depth=rng.uniform(0.2, 0.8), category_id=class_index + 1,
                  track_key=len(objects)))

    for _ in range(int(rng.integers(cfg.objects[0], cfg.objects[1] + 1))):
        add_object(0)
    # Objects that leave are replaced by newcomers entering from a border, so
    # frames keep objects[0]..objects[1] objects most of the time.
    def present(obj: Layer, t: int) -> bool:  # in view, or a newcomer still coming in
        first = obj.trajectory.first_frame
        return obj.trajectory.roughly_visible(t, cfg.image_size) or (0 < first and t - first < 8)

    for t in range(1, num_frames - 3):
        visible = sum(present(o, t) for o in objects)
        if visible < cfg.objects[0] or (visible < cfg.objects[1] and rng.uniform() < 0.05):
            add_object(t)
    layers.extend(objects)
    for _ in range(int(rng.integers(cfg.distractors[0], cfg.distractors[1] + 1))):
        depth = rng.uniform(0.85, 1.0) if rng.uniform() < 0.75 else rng.uniform(0.0, 0.15)
        layers.append(Layer(sprite=render_distractor_sprite(rng),
                            trajectory=distractor_trajectory(num_frames, cfg.image_size, rng),
                            depth=depth))
    return sorted(layers, key=lambda layer: layer.depth)


def _affine(traj: Trajectory, t: int, offset: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Linear part ``(2, 2)`` (pixels per shape unit) and centre of a pose."""
    scale = traj.scales[t]
    c, s = math.cos(traj.angles[t]), math.sin(traj.angles[t])
    stretch = np.diag([scale * math.sqrt(traj.aspect), scale / math.sqrt(traj.aspect)])
    return np.array([[c, -s], [s, c]]) @ stretch, traj.centers[t] + offset


def place_sprite(layer: Layer, t: int, offset: np.ndarray, image_size: int,
                 exposure: float) -> Optional[Tuple[int, int, np.ndarray, np.ndarray]]:
    """Warp a layer's sprite to its pose at frame ``t`` and streak it by its motion.

    Args:
        layer: The object or distractor.
        t: Frame index.
        offset: Camera jitter ``(2,)`` in pixels.
        image_size: Frame side S.
        exposure: Motion-blur length per pixel of motion this frame.

    Returns:
        ``None`` if nothing reaches the frame, else ``(x0, y0, rgba, mask)``:
        the crop's top-left pixel in frame coordinates (may be negative), the
        blurred premultiplied ``(h, w, 4)`` crop and the ``(h, w)`` bool sharp
        silhouette.
    """
    if t < layer.trajectory.first_frame:
        return None
    linear, centre = _affine(layer.trajectory, t, offset)
    aspect = layer.trajectory.aspect
    px_per_unit = layer.trajectory.scales[t] * math.sqrt(max(aspect, 1 / aspect))
    density, level = layer.sprite.level_for(px_per_unit)
    corners = np.array([[sx, sy] for sx in (-1, 1) for sy in (-1, 1)]) * SPRITE_EXTENT
    extent = corners @ linear.T + centre
    velocity = layer.trajectory.velocities[t]
    blur = exposure * float(np.hypot(*velocity))
    pad = blur / 2 + 2
    x0, y0 = (int(math.floor(v - pad)) for v in extent.min(axis=0))
    x1, y1 = (int(math.ceil(v + pad)) for v in extent.max(axis=0))
    if x1 <= 0 or y1 <= 0 or x0 >= image_size or y0 >= image_size:
        return None
    # Sprite pixel i (cv2 centre convention) sits at unit (i + 0.5) / density - extent;
    # frame pixel centres are at continuous coordinate + 0.5.
    a = linear / density
    b = centre - 0.5 + linear @ np.full(2, 0.5 / density - SPRITE_EXTENT) - (x0, y0)
    matrix = np.hstack([a, b[:, None]]).astype(np.float64)
    rgba = cv2.warpAffine(level, matrix, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0, 0))
    mask = rgba[..., 3] > 0.5
    if blur >= 1.0:
        kernel = line_kernel(blur, math.atan2(velocity[1], velocity[0]))
        rgba = cv2.filter2D(rgba, -1, kernel, borderType=cv2.BORDER_CONSTANT)
    return x0, y0, rgba, mask


def _paste(frame: np.ndarray, full_mask: np.ndarray, x0: int, y0: int, rgba: np.ndarray,
           mask: np.ndarray) -> None:
    """Composite a premultiplied crop onto the frame and record its silhouette."""
    size = frame.shape[0]
    h, w = mask.shape
    fx0, fy0, fx1, fy1 = max(x0, 0), max(y0, 0), min(x0 + w, size), min(y0 + h, size)
    crop = rgba[fy0 - y0:fy1 - y0, fx0 - x0:fx1 - x0]
    region = frame[fy0:fy1, fx0:fx1]
    region *= 1.0 - crop[..., 3:]
    region += crop[..., :3]
    full_mask[fy0:fy1, fx0:fx1] = mask[fy0 - y0:fy1 - y0, fx0 - x0:fx1 - x0]


def blur_ratio(layer: Layer, t: int, cond: FrameConditions) -> float:
    """Blur sigma at frame ``t`` over the pattern feature size of ``layer``, in pixels."""
    feature_px = layer.sprite.feature_size * layer.trajectory.scales[t]
    streak = cond.exposure[t] * float(np.hypot(*layer.trajectory.velocities[t]))
    # A pillbox of radius r has sigma r / 2, a streak of length L has L / sqrt(12).
    sigma = math.sqrt((cond.defocus[t] / 2)**2 + (cond.shake_blur[t]**2 + streak**2) / 12)
    return sigma / feature_px


def _hard_reasons(layer: Layer, t: int, cond: FrameConditions, hidden: float) -> List[str]:
    """Why the class of ``layer`` is unreadable in frame ``t`` alone (statistics only)."""
    reasons = []
    if blur_ratio(layer, t, cond) >= UNREADABLE_BLUR:
        reasons.append('blur')
    if cond.gain[t] <= 0.35:
        reasons.append('dark')
    if cond.noise[t] >= 0.08:
        reasons.append('noise')
    if hidden >= 0.5:
        reasons.append('occlusion')
    return reasons


def render_frame(layers: List[Layer], background: np.ndarray, camera: np.ndarray,
                 cond: FrameConditions, noise_bank: np.ndarray, t: int, cfg: VideoConfig,
                 rng: np.random.Generator) -> Tuple[np.ndarray, List[BoxRecord]]:
    """Compose frame ``t`` and measure its boxes (``noise_bank``: see ``apply_camera``).

    Returns:
        The ``(S, S, 3)`` uint8 BGR frame and its boxes in track order.
    """
    size = cfg.image_size
    offset = cond.shake_offset[t]
    shift = np.float64([[1, 0, -(camera[t][0] + offset[0])], [0, 1, -(camera[t][1] + offset[1])]])
    frame = cv2.warpAffine(background, shift, (size, size), flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_REFLECT)
    silhouettes: List[Optional[np.ndarray]] = []
    for layer in layers:
        placed = place_sprite(layer, t, offset, size, cond.exposure[t])
        if placed is None:
            silhouettes.append(None)
            continue
        full_mask = np.zeros((size, size), bool)
        _paste(frame, full_mask, *placed)
        silhouettes.append(full_mask)
    boxes = []
    cover = np.zeros((size, size), bool)
    for layer, mask in zip(reversed(layers), reversed(silhouettes)):
        if mask is None:
            continue
        if layer.category_id is not None:
            area = int(mask.sum())
            ys, xs = np.nonzero(mask.any(axis=1))[0], np.nonzero(mask.any(axis=0))[0]
            hidden = float((mask & cover).sum()) / max(area, 1)
            if area > 0 and hidden < HIDDEN_FRACTION:
                box = [int(xs[0]), int(ys[0]), int(xs[-1] + 1 - xs[0]), int(ys[-1] + 1 - ys[0])]
                if min(box[2], box[3]) >= MIN_BOX_SIDE:
                    boxes.append(
                        BoxRecord(track_key=layer.track_key, category_id=layer.category_id,
                                  bbox=box, occluded=hidden >= OCCLUDED_FRACTION,
                                  regime=layer.trajectory.regime,
                                  blur_ratio=round(blur_ratio(layer, t, cond), 3),
                                  hard=_hard_reasons(layer, t, cond, hidden)))
        cover |= mask
    image = apply_camera(frame, cond, t, noise_bank, rng)
    return (image * 255.0 + 0.5).astype(np.uint8), sorted(boxes, key=lambda b: b.track_key)


@dataclass
class Scene:
    """Everything that fixes one video before its frames are rendered.

    Attributes:
        num_frames: Video length T.
        layers: Objects and distractors, back to front.
        background: The panned background, larger than a frame.
        camera: ``(T, 2)`` background crop offsets.
        cond: Per-frame camera and lighting state.
        noise_bank: Sensor noise source of ``apply_camera``.
        rng: The video's generator, positioned after sampling; rendering frames
            in order draws from it, so frame t depends on frames 0..t-1 having
            been rendered first.
        cfg: Generator knobs.
    """
    num_frames: int
    layers: List[Layer]
    background: np.ndarray
    camera: np.ndarray
    cond: FrameConditions
    noise_bank: np.ndarray
    rng: np.random.Generator
    cfg: VideoConfig


def sample_scene(seed: int, split_code: int, index: int, cfg: VideoConfig) -> Scene:
    """Sample the scene of one video (see :func:`make_video` for the arguments)."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, split_code, index]))
    low = max(1, int(math.ceil(cfg.max_frames * (1 - cfg.frame_jitter))))
    num_frames = int(rng.integers(low, cfg.max_frames + 1))
    margin = int(round(0.2 * cfg.image_size))
    background = render_background(cfg.image_size + 2 * margin, cfg.image_size, rng)
    camera = camera_path(num_frames, margin, rng)
    difficulty = rng.uniform(0.4, 1.2)
    cond = sample_conditions(num_frames, cfg.image_size, cfg.degradation * difficulty, rng)
    layers = sample_layers(num_frames, cfg, (seed + index) % len(SYNTHVID_CLASSES), rng)
    size = cfg.image_size
    noise_bank = rng.standard_normal((2 * size, 2 * size, 3), dtype=np.float32)
    return Scene(num_frames=num_frames, layers=layers, background=background, camera=camera,
                 cond=cond, noise_bank=noise_bank, rng=rng, cfg=cfg)


def render_scene_frame(scene: Scene, t: int) -> Tuple[np.ndarray, List[BoxRecord]]:
    """Frame ``t`` of a scene (frames must be rendered in order, see :class:`Scene`)."""
    return render_frame(scene.layers, scene.background, scene.camera, scene.cond,
                        scene.noise_bank, t, scene.cfg, scene.rng)


def make_video(seed: int, split_code: int, index: int, name: str, frame_dir: str,
               file_prefix: str, cfg: VideoConfig) -> VideoResult:
    """Sample, render and write one video.

    Args:
        seed: Master seed. The video's generator is seeded from
            ``(seed, split_code, index)`` and its output depends on nothing
            else, so any number of workers gives the same data.
        split_code: 0 for train, 1 for val.
        index: Index of the video in its split.
        name: Video name.
        frame_dir: Folder that receives ``NNNNNN.JPEG``.
        file_prefix: ``file_name`` prefix relative to ``Data/``.
        cfg: Generator knobs.

    Returns:
        The video's boxes, file names and per-frame conditions.
    """
    scene = sample_scene(seed, split_code, index, cfg)
    cond = scene.cond
    os.makedirs(frame_dir, exist_ok=True)
    result = VideoResult(name=name, width=cfg.image_size, height=cfg.image_size, file_names=[],
                         boxes=[], conditions=[])
    for t in range(scene.num_frames):
        image, boxes = render_scene_frame(scene, t)
        file = f'{t:06d}.JPEG'
        if not cv2.imwrite(osp.join(frame_dir, file), image,
                           [cv2.IMWRITE_JPEG_QUALITY, cfg.jpeg_quality]):
            raise OSError(f'could not write {osp.join(frame_dir, file)}')
        result.file_names.append(f'{file_prefix}/{file}')
        result.boxes.append(boxes)
        result.conditions.append(
            dict(defocus=round(float(cond.defocus[t]), 3),
                 shake_blur=round(float(cond.shake_blur[t]), 3),
                 exposure=round(float(cond.exposure[t]), 3), gain=round(float(cond.gain[t]), 3),
                 noise=round(float(cond.noise[t]), 4)))
    return result
