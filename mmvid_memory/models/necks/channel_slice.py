"""Take one channel range of a shared feature map.

R-FCN (Deng et al., section 4.1) splits its 1024-channel map into a half for the
RPN and a half for the position-sensitive head. The heads take their half
themselves, so that whatever sits between ``extract_feat`` and the heads (a
pixel-level memory) sees the whole map.
"""
from typing import Optional, Sequence, Tuple

from torch import Tensor

ChannelSlice = Optional[Tuple[int, int]]


def parse_channel_slice(channel_slice: Optional[Sequence[int]], in_channels: int,
                        owner: str) -> Tuple[int, int]:
    """Check a ``(start, end)`` channel range against the map it is taken from.

    Args:
        channel_slice (Sequence[int], optional): ``(start, end)``, end
            exclusive; ``None`` means all ``in_channels`` channels.
        in_channels (int): channels of the shared map.
        owner (str): name of the module that slices, for error messages.

    Returns:
        tuple[int, int]: ``(start, end)`` with ``0 <= start < end <= in_channels``.
    """
    if channel_slice is None:
        return 0, int(in_channels)
    if len(channel_slice) != 2:
        raise ValueError(f'{owner}: in_channel_slice must be (start, end), got {channel_slice}')
    start, end = int(channel_slice[0]), int(channel_slice[1])
    if not 0 <= start < end <= in_channels:
        raise ValueError(
            f'{owner}: in_channel_slice {tuple(channel_slice)} is not a non-empty range of the '
            f'{in_channels} input channels')
    return start, end


def take_channel_slice(feat: Tensor, channel_slice: Tuple[int, int], in_channels: int,
                       owner: str) -> Tensor:
    """Channels ``[start, end)`` of a (N, C, H, W) map.

    Args:
        feat (Tensor): (N, in_channels, H, W) shared map.
        channel_slice (tuple[int, int]): ``(start, end)`` from
            :func:`parse_channel_slice`.
        in_channels (int): the channel count the owner was built for.
        owner (str): name of the module that slices, for error messages.

    Returns:
        Tensor: (N, end - start, H, W), a view of ``feat``.
    """
    if feat.dim() != 4 or feat.size(1) != in_channels:
        raise ValueError(
            f'{owner}: expected a (N, {in_channels}, H, W) feature map, got shape '
            f'{tuple(feat.shape)}')
    start, end = channel_slice
    if start == 0 and end == in_channels:
        return feat
    return feat[:, start:end]
