"""Ground-truth supervision of a displacement network (FlowNet's training loss)."""
from typing import Dict, Mapping, Tuple

import torch.nn.functional as F
from torch import Tensor

#: FlowNet's weights of the multi-scale loss, levels 6 (coarsest) to 2.
FLOWNET_LEVEL_WEIGHTS: Dict[int, float] = {6: 0.32, 5: 0.08, 4: 0.02, 3: 0.01, 2: 0.005}


def pool_flow(flow: Tensor, size: Tuple[int, int]) -> Tensor:
    """Area-average a field onto a coarser grid, vectors unchanged.

    Args:
        flow (Tensor): (N, 2, H, W).
        size (tuple[int, int]): (h, w).

    Returns:
        Tensor: (N, 2, h, w), same units as ``flow``.
    """
    if tuple(flow.shape[-2:]) == tuple(size):
        return flow
    return F.adaptive_avg_pool2d(flow, size)


def endpoint_error(pred: Tensor, target: Tensor) -> Tensor:
    """Per-cell end-point error ``||pred - target||_2``.

    Args:
        pred (Tensor): (N, 2, h, w).
        target (Tensor): (N, 2, h, w), same units.

    Returns:
        Tensor: (N, h, w).
    """
    if pred.shape != target.shape:
        raise ValueError(f'endpoint_error: pred {tuple(pred.shape)} and target '
                         f'{tuple(target.shape)} differ')
    return (pred - target).pow(2).sum(dim=1).clamp(min=1e-12).sqrt()


def multiscale_epe_loss(preds: Mapping[int, Tensor], gt_flow: Tensor, unit: float,
                        weights: Mapping[int, float]) -> Dict[int, Tensor]:
    """FlowNet's loss: the mean EPE of every level against the pooled ground truth.

    Args:
        preds (Mapping[int, Tensor]): level -> (N, 2, h_L, w_L) raw predictions.
        gt_flow (Tensor): (N, 2, H, W) ground truth in image pixels.
        unit (float): image pixels per unit of a raw prediction
            (``downsample * div_flow`` for :class:`FlowNetS`).
        weights (Mapping[int, float]): level -> weight; levels without one
            are not supervised.

    Returns:
        dict[int, Tensor]: level -> weighted mean EPE (scalar), in raw units.
    """
    target = gt_flow / unit
    losses = {}
    for level, pred in preds.items():
        if level in weights:
            pooled = pool_flow(target, tuple(pred.shape[-2:]))
            losses[level] = weights[level] * endpoint_error(pred, pooled).mean()
    if not losses:
        raise ValueError(f'multiscale_epe_loss: no level of {sorted(preds)} has a weight in '
                         f'{dict(weights)}')
    return losses

