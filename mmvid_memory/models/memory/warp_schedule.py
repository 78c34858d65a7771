"""Which frames give image evidence: propagation windows (Vu et al., Table 2).

Vu et al. Sec. 5.2 evaluates frame t with image evidence up to frame t - delta
and warps only after it. Online this is a window schedule: the video is cut
into windows of ``window`` frames (counted by ``frame_id`` from 0); the first
``window - delta`` frames of a window aggregate image evidence, the last
``delta`` frames are propagated (warps only, or anticipated). With the
default ``window = delta + 1`` one frame gives evidence and the next
``delta`` are propagated, so the last frame of every window is exactly
``delta`` frames after the last evidence, as in the seed's table; a runner
that reports Table 2 scores those frames (:func:`frames_since_evidence`
equals ``delta``). ``delta = 0`` is normal inference.
"""
from typing import Optional


def _check_window(delta: int, window: Optional[int]) -> int:
    if delta < 0:
        raise ValueError(f'propagation delta must be >= 0, got {delta}')
    window = delta + 1 if window is None else int(window)
    if window <= delta:
        raise ValueError(f'propagation window ({window}) must be longer than delta ({delta}): '
                         'each window needs one frame with image evidence')
    return window


def uses_image_evidence(frame_id: int, delta: int, window: Optional[int] = None) -> bool:
    """Whether frame ``frame_id`` aggregates image evidence.

    Args:
        frame_id (int): index of the frame in its video, from 0.
        delta (int): frames propagated at the end of each window.
        window (int, optional): window length, default ``delta + 1``.

    Returns:
        bool: True for the first ``window - delta`` frames of each window.
    """
    window = _check_window(delta, window)
    return frame_id % window < window - delta


def frames_since_evidence(frame_id: int, delta: int, window: Optional[int] = None) -> int:
    """Frames since the last frame with image evidence (0 on such frames).

    Args:
        frame_id (int): index of the frame in its video, from 0.
        delta (int): frames propagated at the end of each window.
        window (int, optional): window length, default ``delta + 1``.

    Returns:
        int: in [0, delta]; ``delta`` on the last frame of each window.
    """
    window = _check_window(delta, window)
    position = frame_id % window
    return max(0, position - (window - delta - 1))
