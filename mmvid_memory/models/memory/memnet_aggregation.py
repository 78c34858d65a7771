"""The aggregation psi of MemNet: memory and image evidence (Vu et al., Eq. 2-4)."""
from typing import Optional

import torch
import torch.nn as nn
from torch import Tensor


def mean_aggregate(memory: Tensor, feat: Tensor) -> Tensor:
    """Eq. 3: ``psi(M, F) = (M + F) / 2`` (exponential decay of the past).

    Args:
        memory (Tensor): (N, C, H, W) warped memory ``M_hat_t``.
        feat (Tensor): (N, C, H, W) image features ``F_t``.

    Returns:
        Tensor: (N, C, H, W) the new memory ``M_t``.
    """
    if memory.shape != feat.shape:
        raise ValueError(f'memory {tuple(memory.shape)} and feat {tuple(feat.shape)} differ')
    return 0.5 * (memory + feat)


def weighted_aggregate(memory: Tensor, feat: Tensor, logit_memory: Tensor,
                       logit_feat: Tensor) -> Tensor:
    """Eq. 4: ``alpha_M * M + alpha_F * F`` with a per-pixel softmax.

    Args:
        memory (Tensor): (N, C, H, W) warped memory.
        feat (Tensor): (N, C, H, W) image features.
        logit_memory (Tensor): (N, 1, H, W) score of the memory (Psi_M).
        logit_feat (Tensor): (N, 1, H, W) score of the features (Psi_F).

    Returns:
        Tensor: (N, C, H, W); ``alpha = softmax([logit_memory, logit_feat])``
        over the two sources, so ``alpha_M + alpha_F = 1`` at every pixel.
    """
    if memory.shape != feat.shape:
        raise ValueError(f'memory {tuple(memory.shape)} and feat {tuple(feat.shape)} differ')
    expected = (memory.shape[0], 1) + tuple(memory.shape[-2:])
    for name, logit in (('logit_memory', logit_memory), ('logit_feat', logit_feat)):
        if tuple(logit.shape) != expected:
            raise ValueError(f'{name} must be {expected}, got {tuple(logit.shape)}')
    alpha = aggregation_weights(logit_memory, logit_feat)
    return alpha[:, :1] * memory + alpha[:, 1:] * feat


def aggregation_weights(logit_memory: Tensor, logit_feat: Tensor) -> Tensor:
    """(alpha_M, alpha_F) of Eq. 4, (N, 2, H, W), a softmax over the two sources.

    Args:
        logit_memory (Tensor): (N, 1, H, W) score of the memory.
        logit_feat (Tensor): (N, 1, H, W) score of the features.
    """
    return torch.softmax(torch.cat([logit_memory, logit_feat], dim=1), dim=1)


class WeightScoreNet(nn.Sequential):
    """A small CNN giving one per-pixel score: 3x3 conv, ReLU, 1x1 conv."""

    def __init__(self, in_channels: int, hidden_channels: int) -> None:
        super().__init__(
            nn.Conv2d(in_channels, hidden_channels, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden_channels, 1, 1))


class WeightedAggregation(nn.Module):
    """Learned psi: two score CNNs (Psi_M on M, Psi_F on F) and a softmax.

    The last conv of each score net starts at zero so that training starts
    from the mean aggregation (alpha = 1/2 everywhere).

    Args:
        in_channels (int): channels C of the memory and the features.
        hidden_channels (int): width of the score nets.
    """

    def __init__(self, in_channels: int, hidden_channels: int = 64) -> None:
        super().__init__()
        if in_channels < 1 or hidden_channels < 1:
            raise ValueError(f'in_channels ({in_channels}) and hidden_channels '
                             f'({hidden_channels}) must be >= 1')
        self.in_channels = in_channels
        self.memory_score = WeightScoreNet(in_channels, hidden_channels)
        self.feat_score = WeightScoreNet(in_channels, hidden_channels)
        for net in (self.memory_score, self.feat_score):
            nn.init.normal_(net[0].weight, std=0.01)
            nn.init.zeros_(net[0].bias)
            nn.init.zeros_(net[2].weight)
            nn.init.zeros_(net[2].bias)

    def forward(self, memory: Tensor, feat: Tensor) -> Tensor:
        """(N, C, H, W) memory and features -> (N, C, H, W) new memory."""
        self._check(memory)
        return weighted_aggregate(memory, feat, self.memory_score(memory), self.feat_score(feat))

    def weights(self, memory: Tensor, feat: Tensor) -> Tensor:
        """(alpha_M, alpha_F) at every pixel, (N, 2, H, W)."""
        self._check(memory)
        return aggregation_weights(self.memory_score(memory), self.feat_score(feat))

    def _check(self, memory: Tensor) -> None:
        if memory.shape[1] != self.in_channels:
            raise ValueError(f'WeightedAggregation was built for {self.in_channels} channels, '
                             f'got a map of {memory.shape[1]}')


def build_aggregation(kind: str, in_channels: Optional[int],
                      hidden_channels: int = 64) -> Optional[WeightedAggregation]:
    """The learned psi for ``kind='weighted'``, None for ``'mean'``.

    Raises:
        ValueError: unknown kind, or ``'weighted'`` without ``in_channels``.
    """
    if kind == 'mean':
        return None
    if kind == 'weighted':
        if in_channels is None:
            raise ValueError("aggregation='weighted' needs in_channels (the feature channels)")
        return WeightedAggregation(in_channels, hidden_channels)
    raise ValueError(f"aggregation must be 'mean' or 'weighted', got {kind!r}")
