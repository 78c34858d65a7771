"""Bilinear sampling of feature maps by displacement fields (Vu et al., Eq. 1).

Conventions used by every warp in this package:

* A displacement field ``flow`` of shape (N, 2, H, W) is given in pixels of
  the grid it lives on; channel 0 is the x (column) component, channel 1 the
  y (row) component.
* Warping is *backward*, as in FGFA and DFF: ``out[p] = feat[p + flow[p]]``.
  ``D_{t,s}`` (the field the flow network predicts from the pair
  ``(I_t, I_s)``) lives on the grid of frame t and points, for each location
  of frame t, to where that content was in frame s; warping ``M_s`` by it
  brings the memory to frame t.
* Pixel p = (x, y) is the centre of cell (row y, column x); locations outside
  [0, W-1] x [0, H-1] read zeros (``flow_warp``) or the nearest border value
  (``sample_field``, used for fields, where a zero would be a fake motion).

``flow_warp`` uses ``grid_sample(align_corners=True)``, whose normalised
[-1, 1] grid is a trap: with the usual ``2 x / (W - 1) - 1`` the normalise /
un-normalise round trip is inexact, so an integer shift picks up bilinear
weight from a neighbour (up to 1e-5 on a 38x63 map, and values leak into
the zero border) and a map of width or height 1 cannot be shifted at all
(measured with torch 2.13). Here the map is zero-padded on the right and
bottom to ``2**k + 1`` columns and rows: then ``W' - 1`` is a power of two,
both conversions are exact for integer positions, an integer shift is
bit-exact, zero flow is the identity, and the padding reads as the zeros
outside. ``sample_field``/``sample_points`` index the four neighbours
directly (floor + gather), exact as well, with border clamping.
"""
import math
from typing import Tuple

import torch
import torch.nn.functional as F
from torch import Tensor


def _check_field(feat: Tensor, flow: Tensor, name: str = 'flow') -> None:
    if feat.dim() != 4:
        raise ValueError(f'feat must be (N, C, H, W), got shape {tuple(feat.shape)}')
    n, _, h, w = feat.shape
    if flow.dim() != 4 or flow.shape[1] != 2:
        raise ValueError(f'{name} must be (N, 2, H, W), got shape {tuple(flow.shape)}')
    if flow.shape[0] != n or tuple(flow.shape[-2:]) != (h, w):
        raise ValueError(
            f'{name} {tuple(flow.shape)} does not match feat {tuple(feat.shape)}: '
            'need the same N, H and W')


def _bilinear_sample(feat: Tensor, x: Tensor, y: Tensor, padding: str) -> Tensor:
    """Sample ``feat`` at real-valued pixel positions.

    Args:
        feat (Tensor): (N, C, H, W).
        x (Tensor): (N, P) column positions, pixel units.
        y (Tensor): (N, P) row positions, pixel units.
        padding (str): 'zeros' (outside corners contribute 0) or 'border'
            (positions are clamped onto the map first).

    Returns:
        Tensor: (N, C, P), differentiable w.r.t. ``feat``, ``x`` and ``y``.
    """
    n, c, h, w = feat.shape
    if padding == 'border':
        x = x.clamp(0, w - 1)
        y = y.clamp(0, h - 1)
    elif padding != 'zeros':
        raise ValueError(f"padding must be 'zeros' or 'border', got {padding!r}")
    x0 = torch.floor(x)
    y0 = torch.floor(y)
    wx1 = x - x0
    wy1 = y - y0
    flat = feat.reshape(n, c, h * w)
    out = None
    for dx, wx in ((0, 1 - wx1), (1, wx1)):
        for dy, wy in ((0, 1 - wy1), (1, wy1)):
            xi = x0 + dx
            yi = y0 + dy
            inside = (xi >= 0) & (xi <= w - 1) & (yi >= 0) & (yi <= h - 1)
            index = (yi.clamp(0, h - 1) * w + xi.clamp(0, w - 1)).long()
            values = flat.gather(2, index[:, None, :].expand(n, c, index.shape[1]))
            # Corners outside the map read a clamped index; their weight is 0.
            weight = torch.where(inside, wx * wy, torch.zeros_like(wx))
            term = values * weight[:, None, :]
            out = term if out is None else out + term
    return out


def pixel_grid(height: int, width: int, like: Tensor) -> Tuple[Tensor, Tensor]:
    """Pixel-centre coordinates of an (H, W) map, each (H, W), x then y."""
    ys = torch.arange(height, dtype=like.dtype, device=like.device)
    xs = torch.arange(width, dtype=like.dtype, device=like.device)
    grid_y, grid_x = torch.meshgrid(ys, xs, indexing='ij')
    return grid_x, grid_y


def _pow2_plus_one(size: int) -> int:
    """Smallest ``2**k + 1 >= size`` (k >= 0)."""
    return 2**math.ceil(math.log2(max(size - 1, 1))) + 1


def flow_warp(feat: Tensor, flow: Tensor) -> Tensor:
    """Backward-warp a feature map: ``out[p] = feat[p + flow[p]]``.

    Bilinear sampling (Vu et al., Eq. 1, the phi of FGFA/DFF) with zeros
    outside the map. Differentiable w.r.t. both inputs.

    Args:
        feat (Tensor): (N, C, H, W) feature map (or memory) of the source
            frame.
        flow (Tensor): (N, 2, H, W) displacement field on the target grid,
            in feature-map pixels; channel 0 = x, 1 = y.

    Returns:
        Tensor: (N, C, H, W) the feature map aligned to the target frame.
    """
    _check_field(feat, flow)
    _, _, h, w = feat.shape
    flow = flow.to(feat.dtype)
    # Pad to 2**k + 1 so that grid_sample's (un)normalisation by (size - 1)
    # is a power-of-two scaling, exact for integer positions.
    h_pad, w_pad = _pow2_plus_one(h), _pow2_plus_one(w)
    padded = F.pad(feat, (0, w_pad - w, 0, h_pad - h))
    grid_x, grid_y = pixel_grid(h, w, feat)
    x = (grid_x + flow[:, 0]) * (2.0 / (w_pad - 1)) - 1.0
    y = (grid_y + flow[:, 1]) * (2.0 / (h_pad - 1)) - 1.0
    return F.grid_sample(padded, torch.stack([x, y], dim=-1), mode='bilinear',
                         padding_mode='zeros', align_corners=True)


def sample_field(field: Tensor, flow: Tensor) -> Tensor:
    """Like :func:`flow_warp` but clamps positions to the border.

    Used to move displacement fields themselves (aligning the older field for
    anticipation), where reading zeros outside would invent motion.

    Args:
        field (Tensor): (N, C, H, W), e.g. a displacement field (C = 2).
        flow (Tensor): (N, 2, H, W) displacement field, pixels of this grid.

    Returns:
        Tensor: (N, C, H, W), ``field[clamp(p + flow[p])]``.
    """
    _check_field(field, flow)
    n, c, h, w = field.shape
    flow = flow.to(field.dtype)
    grid_x, grid_y = pixel_grid(h, w, field)
    x = (grid_x + flow[:, 0]).reshape(n, h * w)
    y = (grid_y + flow[:, 1]).reshape(n, h * w)
    return _bilinear_sample(field, x, y, padding='border').reshape(n, c, h, w)


def sample_points(field: Tensor, x: Tensor, y: Tensor) -> Tensor:
    """Bilinear values of a map at arbitrary points, border-clamped.

    Args:
        field (Tensor): (C, H, W) map.
        x (Tensor): (P,) column positions in pixels of the map.
        y (Tensor): (P,) row positions.

    Returns:
        Tensor: (C, P).
    """
    if field.dim() != 3:
        raise ValueError(f'field must be (C, H, W), got shape {tuple(field.shape)}')
    if x.shape != y.shape or x.dim() != 1:
        raise ValueError(f'x and y must be (P,) each, got {tuple(x.shape)} and {tuple(y.shape)}')
    return _bilinear_sample(field[None], x[None].to(field.dtype), y[None].to(field.dtype),
                            padding='border')[0]


def resize_flow(flow: Tensor, size: Tuple[int, int]) -> Tensor:
    """Resample a displacement field to another grid of the same image.

    Both grids are assumed to cover the same image extent; vectors are
    rescaled so that they stay in pixels of the new grid.

    Args:
        flow (Tensor): (N, 2, h, w), pixels of the (h, w) grid.
        size (tuple[int, int]): target (H, W).

    Returns:
        Tensor: (N, 2, H, W), pixels of the (H, W) grid (``flow`` itself
        when the size already matches).
    """
    if flow.dim() != 4 or flow.shape[1] != 2:
        raise ValueError(f'flow must be (N, 2, H, W), got shape {tuple(flow.shape)}')
    height, width = int(size[0]), int(size[1])
    h, w = flow.shape[-2:]
    if (h, w) == (height, width):
        return flow
    resized = F.interpolate(flow, size=(height, width), mode='bilinear', align_corners=False)
    scale = resized.new_tensor([width / w, height / h]).view(1, 2, 1, 1)
    return resized * scale
