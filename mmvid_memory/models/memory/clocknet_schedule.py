"""ClockNet's clock: which memory takes image evidence at which frame.

Seed 003 Sec. 3.2: memory k is updated every ``2**(k-1)`` frames; its best
model uses k = 1, 3, 4, i.e. temporal strides 1, 4 and 8. Here a memory of
stride s is *updated* at the frames with ``frame_id % s == 0`` and at the first
frame its state sees (which initialises every memory with ``F``). Between
updates it is not changed: each frame it is warped from its *anchor* (the
frame of its last update) to the current frame for the output only.
"""
from typing import List, Optional, Sequence, Tuple


def clock_strides(levels: Sequence[int] = (1, 3, 4)) -> Tuple[int, ...]:
    """Temporal strides ``2**(k-1)`` of the seed's time axes k.

    Args:
        levels (Sequence[int]): the k of each memory, from 1.

    Returns:
        tuple[int, ...]: e.g. (1, 4, 8) for the seed's k = 1, 3, 4.
    """
    if any(k < 1 for k in levels):
        raise ValueError(f'time axes k start at 1, got {tuple(levels)}')
    return tuple(2**(k - 1) for k in levels)


def check_strides(strides: Sequence[int]) -> Tuple[int, ...]:
    """Validated strides: positive integers, at least one."""
    strides = tuple(int(s) for s in strides)
    if not strides or any(s < 1 for s in strides):
        raise ValueError(f'strides must be positive integers, at least one; got {strides}')
    return strides


def clocknet_updates(frame_id: int, strides: Sequence[int],
                     is_first: bool = False) -> Tuple[bool, ...]:
    """Which memories are updated at a frame.

    Args:
        frame_id (int): index of the frame in its video.
        strides (Sequence[int]): temporal stride of each memory.
        is_first (bool): the first frame the state sees (all memories start).

    Returns:
        tuple[bool, ...]: one flag per memory, True when memory k takes the
        frame (``frame_id % strides[k] == 0`` or ``is_first``).
    """
    strides = check_strides(strides)
    return tuple(is_first or frame_id % s == 0 for s in strides)


def clocknet_schedule(num_frames: int, strides: Sequence[int],
                      start_frame: int = 0) -> List[Tuple[bool, ...]]:
    """:func:`clocknet_updates` for consecutive frames of one video.

    Args:
        num_frames (int): how many frames.
        strides (Sequence[int]): temporal stride of each memory.
        start_frame (int): ``frame_id`` of the first frame (the state starts
            there).

    Returns:
        list[tuple[bool, ...]]: per frame, per memory, whether it updates.
    """
    return [clocknet_updates(start_frame + i, strides, is_first=i == 0)
            for i in range(num_frames)]


def clocknet_anchors(num_frames: int, strides: Sequence[int],
                     start_frame: int = 0) -> List[Tuple[Optional[int], ...]]:
    """The anchor frame each memory is warped from, at each frame.

    The displacement field of memory k at frame t is ``D_{t, a_k}`` with
    ``a_k`` its anchor: the last frame before t at which it was updated.

    Args:
        num_frames (int): how many frames.
        strides (Sequence[int]): temporal stride of each memory.
        start_frame (int): ``frame_id`` of the first frame.

    Returns:
        list[tuple]: per frame, per memory, the anchor ``frame_id`` (None on
        the first frame, where nothing is warped).
    """
    anchors: List[Optional[int]] = [None] * len(check_strides(strides))
    out = []
    for i, updates in enumerate(clocknet_schedule(num_frames, strides, start_frame)):
        out.append(tuple(anchors))
        for k, update in enumerate(updates):
            if update:
                anchors[k] = start_frame + i
    return out
