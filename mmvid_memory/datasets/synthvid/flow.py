"""Exact displacement fields between two frames of a SynthVID scene.

The generator knows every layer's pose, so the field that FlowNet learns from
Flying Chairs can be written down here: for each pixel of frame t, where its
content was in frame s. It is the backward field ``D_{t,s}`` of
``docs/memory_warps.md`` (``I_t(p) ~ I_s(p + D[p])``), in image pixels,
channel 0 along x.

* Background pixels move with the camera: the frame shows the background
  crop at ``camera[t] + shake[t]``, so ``D = (camera[t] + shake[t]) -
  (camera[s] + shake[s])`` everywhere.
* A pixel covered by a layer's sharp silhouette (the front-most one wins, as
  in rendering) maps through that layer's affine pose:
  ``P_s = A_s A_t^-1 (P_t - c_t) + c_s``.

Content that is hidden or outside frame s still gets the displacement of its
layer (FlowNet's ground truth does the same for occluded pixels).
"""
from typing import Tuple

import numpy as np

from .video import Scene, _affine, _paste, place_sprite


def _pixel_centres(size: int) -> Tuple[np.ndarray, np.ndarray]:
    # Pixel i spans [i, i + 1) in the generator's continuous coordinates.
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float64) + 0.5
    return xs, ys


def layer_displacement(scene: Scene, layer_index: int, t: int, s: int, xs: np.ndarray,
                       ys: np.ndarray) -> np.ndarray:
    """Displacement from frame t to frame s of points on one layer.

    Args:
        scene: The video's scene.
        layer_index: Index into ``scene.layers``.
        t: Frame of the points.
        s: Frame they are followed to.
        xs: ``(k,)`` x of the points in frame t (continuous coordinates).
        ys: ``(k,)`` y of the points.

    Returns:
        ``(k, 2)`` float64: position in frame s minus position in frame t.
    """
    traj = scene.layers[layer_index].trajectory
    lin_t, centre_t = _affine(traj, t, scene.cond.shake_offset[t])
    lin_s, centre_s = _affine(traj, s, scene.cond.shake_offset[s])
    points = np.stack([xs, ys], axis=1)
    units = (points - centre_t) @ np.linalg.inv(lin_t).T
    return units @ lin_s.T + centre_s - points


def frame_flow(scene: Scene, t: int, s: int) -> np.ndarray:
    """The backward field ``D_{t,s}`` of a scene in image pixels.

    Args:
        scene: A scene from :func:`.video.sample_scene` (rendering its frames
            is not needed: only poses are used).
        t: Frame whose grid the field lives on.
        s: Reference frame.

    Returns:
        ``(S, S, 2)`` float32, ``[..., 0]`` along x.

    Raises:
        IndexError: ``t`` or ``s`` outside the video.
    """
    for name, frame in (('t', t), ('s', s)):
        if not 0 <= frame < scene.num_frames:
            raise IndexError(f'frame_flow: {name}={frame} outside the video of '
                             f'{scene.num_frames} frames')
    size = scene.cfg.image_size
    cond = scene.cond
    background = (scene.camera[t] + cond.shake_offset[t]) - (scene.camera[s] + cond.shake_offset[s])
    flow = np.empty((size, size, 2), np.float64)
    flow[...] = background
    xs, ys = _pixel_centres(size)
    scratch = np.zeros((size, size, 3), np.float32)
    for index, layer in enumerate(scene.layers):  # back to front: later layers overwrite
        placed = place_sprite(layer, t, cond.shake_offset[t], size, cond.exposure[t])
        if placed is None:
            continue
        mask = np.zeros((size, size), bool)
        _paste(scratch, mask, *placed)
        if not mask.any():
            continue
        flow[mask] = layer_displacement(scene, index, t, s, xs[mask], ys[mask])
    return flow.astype(np.float32)
