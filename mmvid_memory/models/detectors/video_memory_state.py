"""Per-video memory state of the memory video detector."""
from typing import Any, Callable, Dict, Hashable, Optional

from ..memory.base import MemoryState


class VideoMemoryState:
    """Everything one video has accumulated, for every memory point.

    Args:
        video_id: the video this state belongs to.
        make_states: called to create the point states, a dict from memory
            point name (e.g. ``'pixel.0'``, ``'instance'``) to
            :class:`MemoryState`.
    """

    def __init__(self, video_id: Hashable,
                 make_states: Callable[[], Dict[str, MemoryState]]) -> None:
        self.video_id = video_id
        self.points: Dict[str, MemoryState] = make_states()
        self.last_frame_id: Optional[int] = None
        self.num_frames_seen = 0

    def reset(self) -> None:
        for state in self.points.values():
            state.reset()
        self.last_frame_id = None
        self.num_frames_seen = 0

    def advance(self, frame_id: int) -> None:
        """Check that ``frame_id`` comes after the last frame, then record it.

        Raises:
            ValueError: when frames of the video arrive out of order (memory
                would otherwise read the future).
        """
        if self.last_frame_id is not None and frame_id <= self.last_frame_id:
            raise ValueError(
                f'video {self.video_id!r}: frame {frame_id} arrived after frame '
                f'{self.last_frame_id}; online memory needs frames in increasing order '
                '(frame 0 starts the video again)')
        self.last_frame_id = frame_id
        self.num_frames_seen += 1

    def stats(self) -> Dict[str, float]:
        out: Dict[str, float] = {}
        for name, state in self.points.items():
            for key, value in state.stats().items():
                out[f'{name}.{key}'] = value
        return out


class MemoryStateBank:
    """The states of the videos being tested, keyed by video id.

    The stock test loop feeds frames one batch at a time, video after video
    (or, with several workers, interleaved), so the detector keeps one
    :class:`VideoMemoryState` per open video. A state is created empty when
    frame 0 of its video arrives (also when a video is run again) and dropped
    after the video's last frame, so memory never crosses videos and does not
    accumulate over a test run.
    """

    def __init__(self, make_states: Callable[[], Dict[str, MemoryState]]) -> None:
        self._make_states = make_states
        self._states: Dict[Hashable, VideoMemoryState] = {}

    def __len__(self) -> int:
        return len(self._states)

    def __contains__(self, video_id: Hashable) -> bool:
        return video_id in self._states

    def open(self, video_id: Hashable, frame_id: int) -> VideoMemoryState:
        """The state to use for ``frame_id`` of ``video_id``."""
        state = self._states.get(video_id)
        if state is None or frame_id == 0:
            if state is None:
                state = VideoMemoryState(video_id, self._make_states)
                self._states[video_id] = state
            else:
                state.reset()
        return state

    def close(self, video_id: Hashable) -> None:
        self._states.pop(video_id, None)

    def clear(self) -> None:
        self._states.clear()

    def maybe_close(self, video_id: Hashable, frame_id: int, video_length: Any) -> None:
        """Drop the state after the last frame of its video."""
        if video_length is not None and frame_id >= int(video_length) - 1:
            self.close(video_id)
