"""Optional self-supervision for a displacement network trained from scratch.

Seed 003 fine-tunes a FlowNet pre-trained on flow ground truth with the
detection loss alone. Without pre-trained weights (as here) the detection
loss reaches the flow only through bilinear sampling of coarse feature maps;
these two terms (opt-in, ``flow_loss_weight``/``flow_smooth_weight`` of the
warp memories) give it a direct signal. They are not part of the seed.
"""
import torch
import torch.nn.functional as F
from torch import Tensor

from .flow_warp import flow_warp, resize_flow


def photometric_loss(img_cur: Tensor, img_ref: Tensor, flow: Tensor, downsample: int = 2) -> Tensor:
    """Mean L1 between frame t and frame s warped to t by ``D_{t,s}``.

    Args:
        img_cur (Tensor): (N, 3, H, W) image of frame t.
        img_ref (Tensor): (N, 3, H, W) image of frame s.
        flow (Tensor): (N, 2, h, w) ``D_{t,s}`` in pixels of its grid.
        downsample (int): the images are compared average-pooled by it.

    Returns:
        Tensor: scalar, over channels and the pixels whose sample falls
        inside frame s (0 when there are none).
    """
    if img_cur.shape != img_ref.shape:
        raise ValueError(f'img_cur {tuple(img_cur.shape)} and img_ref '
                         f'{tuple(img_ref.shape)} differ')
    if downsample > 1:
        img_cur = F.avg_pool2d(img_cur, downsample, ceil_mode=True, count_include_pad=False)
        img_ref = F.avg_pool2d(img_ref, downsample, ceil_mode=True, count_include_pad=False)
    field = resize_flow(flow, tuple(img_cur.shape[-2:]))
    warped = flow_warp(img_ref, field)
    with torch.no_grad():
        ones = img_ref.new_ones((img_ref.shape[0], 1) + tuple(img_ref.shape[-2:]))
        valid = (flow_warp(ones, field.detach()) > 0.999).to(img_cur.dtype)
    diff = (img_cur - warped).abs() * valid
    return diff.sum() / (valid.sum() * img_cur.shape[1]).clamp(min=1.0)


def smoothness_loss(flow: Tensor) -> Tensor:
    """Mean absolute first difference of a field along x and y.

    Args:
        flow (Tensor): (N, 2, h, w).

    Returns:
        Tensor: scalar.
    """
    terms = []
    if flow.shape[-1] > 1:
        terms.append((flow[..., 1:] - flow[..., :-1]).abs().mean())
    if flow.shape[-2] > 1:
        terms.append((flow[..., 1:, :] - flow[..., :-1, :]).abs().mean())
    return sum(terms) if terms else flow.sum() * 0
