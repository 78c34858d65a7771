"""Box propagation, the baseline of Vu et al.'s Tables 2 and 3.

Detections of frame s are moved to frame t by a translation: the mean
displacement inside each box (Vu et al., Sec. 5.2).
"""
import torch
from torch import Tensor

from .flow_warp import sample_points


def mean_flow_in_boxes(boxes: Tensor, flow: Tensor, stride: float,
                       num_samples: int = 7) -> Tensor:
    """Mean displacement inside each box, in image pixels.

    Args:
        boxes (Tensor): (D, 4) boxes (x1, y1, x2, y2) in image pixels.
        flow (Tensor): (2, h, w) or (1, 2, h, w) field in feature-map pixels.
        stride (float): image pixels per feature-map pixel; feature cell j
            covers image pixels [j * stride, (j + 1) * stride).
        num_samples (int): the mean is over ``num_samples**2`` bilinear
            samples on a regular grid inside the box (so boxes smaller than a
            cell still get the field at their position).

    Returns:
        Tensor: (D, 2) mean (dx, dy) in image pixels.
    """
    if flow.dim() == 4:
        if flow.shape[0] != 1:
            raise ValueError(f'flow must be (2, h, w) or (1, 2, h, w), got {tuple(flow.shape)}')
        flow = flow[0]
    if flow.dim() != 3 or flow.shape[0] != 2:
        raise ValueError(f'flow must be (2, h, w) or (1, 2, h, w), got {tuple(flow.shape)}')
    if boxes.dim() != 2 or boxes.shape[1] != 4:
        raise ValueError(f'boxes must be (D, 4), got {tuple(boxes.shape)}')
    if stride <= 0 or num_samples < 1:
        raise ValueError(f'stride ({stride}) and num_samples ({num_samples}) must be positive')
    if boxes.shape[0] == 0:
        return boxes.new_zeros((0, 2))
    boxes = boxes.to(flow.dtype)
    frac = (torch.arange(num_samples, dtype=flow.dtype, device=flow.device) + 0.5) / num_samples
    xs = boxes[:, 0:1] + frac[None] * (boxes[:, 2:3] - boxes[:, 0:1])  # (D, n)
    ys = boxes[:, 1:2] + frac[None] * (boxes[:, 3:4] - boxes[:, 1:2])
    grid_x = xs[:, None, :].expand(-1, num_samples, -1)  # (D, n, n)
    grid_y = ys[:, :, None].expand(-1, -1, num_samples)
    # Image pixel x lies at feature coordinate x / stride - 0.5 (cell centres).
    fx = (grid_x / stride - 0.5).reshape(-1)
    fy = (grid_y / stride - 0.5).reshape(-1)
    values = sample_points(flow, fx, fy)  # (2, D * n * n)
    return values.view(2, boxes.shape[0], -1).mean(dim=2).t() * stride


def propagate_boxes(boxes: Tensor, flow: Tensor, stride: float, direction: str = 'backward',
                    num_samples: int = 7) -> Tensor:
    """Move boxes of frame s to frame t by their mean displacement.

    Args:
        boxes (Tensor): (D, 4) boxes of frame s, image pixels.
        flow (Tensor): (2, h, w) or (1, 2, h, w) displacement field in
            feature-map pixels. ``direction='backward'``: ``D_{t,s}`` on the
            grid of frame t (what the memory warps use; points from t back
            to s). ``'forward'``: ``D_{s,t}`` on the grid of frame s.
        stride (float): image pixels per feature-map pixel.
        direction (str): 'backward' or 'forward', see ``flow``.
        num_samples (int): samples per box side for the mean.

    Returns:
        Tensor: (D, 4) boxes in frame t. Backward fields are read where the
        box lands: a first shift by ``-mean(D)`` over the box, then the mean
        is taken again over the shifted box (one fixed-point step), which is
        exact for a translation field.
    """
    if direction == 'forward':
        shift = mean_flow_in_boxes(boxes, flow, stride, num_samples)
    elif direction == 'backward':
        shift = -mean_flow_in_boxes(boxes, flow, stride, num_samples)
        moved = boxes + shift.repeat(1, 2).to(boxes.dtype)
        shift = -mean_flow_in_boxes(moved, flow, stride, num_samples)
    else:
        raise ValueError(f"direction must be 'backward' or 'forward', got {direction!r}")
    return boxes + shift.repeat(1, 2).to(boxes.dtype)
