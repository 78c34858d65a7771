"""Feature anticipation: extrapolated displacement fields (Vu et al., Sec. 4.3).

Without future images, the next displacement fields are extrapolated from
the last two, ``D_{t,t-1}`` and ``D_{t-1,t-2}``, with a constant-acceleration
model per displacement vector. The older field lives on the grid of frame
t-1, so it is first aligned to frame t by bilinear sampling (the seed's
supplement): ``A[p] = D_{t-1,t-2}[p + D_{t,t-1}[p]]``. Since ``D_{t,t-1}[p]``
is minus the velocity of the content at p, the acceleration in field units
is ``D_{t,t-1} - A`` and, with it constant,
``D_{t+j,t+j-1} = D_{t,t-1} + j (D_{t,t-1} - A)`` for the same content.
Each extrapolated field is moved onto its own frame's grid by sampling it at
``p + D[p]`` (one fixed-point step of following the content), so that it can
warp the memory of the frame before. For a spatially uniform field every
step is exact.
"""
from typing import List, Optional, Tuple

import torch
from torch import Tensor

from .flow_warp import flow_warp, sample_field


def align_previous_flow(flow_prev: Tensor, flow_last: Tensor) -> Tensor:
    """Bring ``D_{t-1,t-2}`` onto the grid of frame t.

    Args:
        flow_prev (Tensor): (N, 2, H, W) ``D_{t-1,t-2}``, grid of frame t-1.
        flow_last (Tensor): (N, 2, H, W) ``D_{t,t-1}``, grid of frame t.

    Returns:
        Tensor: (N, 2, H, W) ``A[p] = flow_prev[p + flow_last[p]]``
        (border-clamped).
    """
    return sample_field(flow_prev, flow_last)


def flow_acceleration(flow_last: Tensor, flow_prev: Tensor) -> Tensor:
    """Per-pixel change of the displacement, ``D_{t,t-1} - aligned D_{t-1,t-2}``.

    Args:
        flow_last (Tensor): (N, 2, H, W) ``D_{t,t-1}``.
        flow_prev (Tensor): (N, 2, H, W) ``D_{t-1,t-2}``.

    Returns:
        Tensor: (N, 2, H, W) on the grid of frame t, field units (minus the
        acceleration of the content, in pixels per frame squared).
    """
    return flow_last - align_previous_flow(flow_prev, flow_last)


def extrapolation_step(flow: Tensor, accel: Tensor,
                       follow_content: bool = True) -> Tuple[Tensor, Tensor]:
    """One frame of the constant-acceleration model.

    Args:
        flow (Tensor): (N, 2, H, W) ``D_{t,t-1}``, grid of frame t.
        accel (Tensor): (N, 2, H, W) acceleration in field units, same grid.
        follow_content (bool): move the new field and the acceleration onto
            the grid of frame t+1 (sample at ``p + D[p]``).

    Returns:
        tuple[Tensor, Tensor]: ``D_{t+1,t}`` and the acceleration, (N, 2, H, W)
        each, on the grid of frame t+1 (of frame t without ``follow_content``).
    """
    nxt = flow + accel
    if follow_content:
        # The content at p of frame t+1 was at about p + nxt[p] in frame t.
        return sample_field(nxt, nxt), sample_field(accel, nxt)
    return nxt, accel


def extrapolate_flows(flow_last: Tensor, flow_prev: Optional[Tensor] = None,
                      num_steps: int = 1, follow_content: bool = True) -> List[Tensor]:
    """Constant-acceleration extrapolation of displacement fields.

    Args:
        flow_last (Tensor): (N, 2, H, W) ``D_{t,t-1}``, grid of frame t.
        flow_prev (Tensor, optional): (N, 2, H, W) ``D_{t-1,t-2}``, grid of
            frame t-1. None: constant velocity (zero acceleration).
        num_steps (int): how many future frames.
        follow_content (bool): move each field (and the acceleration) onto
            the grid of its own frame; False keeps every field on the grid
            of frame t (the plain per-pixel formula
            ``D_{t,t-1} + j (D_{t,t-1} - A)``).

    Returns:
        list[Tensor]: ``num_steps`` fields (N, 2, H, W),
        ``D_{t+j,t+j-1}`` for j = 1 .. num_steps, each on the grid of frame
        t+j: warping the memory of frame t+j-1 by it gives frame t+j.
    """
    if num_steps < 1:
        raise ValueError(f'num_steps must be >= 1, got {num_steps}')
    if flow_prev is None:
        accel = torch.zeros_like(flow_last)
    elif flow_last.shape != flow_prev.shape:
        raise ValueError(f'flow_last {tuple(flow_last.shape)} and flow_prev '
                         f'{tuple(flow_prev.shape)} differ')
    else:
        accel = flow_acceleration(flow_last, flow_prev)
    current = flow_last
    fields = []
    for _ in range(num_steps):
        current, accel = extrapolation_step(current, accel, follow_content)
        fields.append(current)
    return fields


def anticipate_memory(memory: Tensor, flow_last: Tensor, flow_prev: Optional[Tensor] = None,
                      num_steps: int = 1) -> List[Tensor]:
    """Memories (or features) of future frames, warped by extrapolated fields.

    Args:
        memory (Tensor): (N, C, H, W) memory of the last observed frame t.
        flow_last (Tensor): (N, 2, H, W) ``D_{t,t-1}``.
        flow_prev (Tensor, optional): (N, 2, H, W) ``D_{t-1,t-2}``; None
            for constant velocity.
        num_steps (int): how many future frames.

    Returns:
        list[Tensor]: ``num_steps`` maps (N, C, H, W), the anticipated
        memory of frames t+1 .. t+num_steps (one warp per frame).
    """
    out = []
    for field in extrapolate_flows(flow_last, flow_prev, num_steps):
        memory = flow_warp(memory, field)
        out.append(memory)
    return out
