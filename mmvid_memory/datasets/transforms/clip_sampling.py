"""Choose the frames of a training clip around a key frame."""
import random
from typing import Dict, List, Optional, Sequence

from mmcv.transforms import BaseTransform
from mmdet.registry import TRANSFORMS

CLIP_MODES = ('interval', 'consecutive')
KEY_POSITIONS = ('any', 'last')


def sample_interval_clip(frame_ids: Sequence[int], key: int, num_frames: int,
                         max_interval: int, key_position: str = 'any',
                         rng: Optional[random.Random] = None) -> List[int]:
    """Key frame plus random frames, all within ``max_interval`` frame ids.

    A window of ``max_interval + 1`` consecutive frame ids holding the key
    frame is drawn uniformly (inside the video when the video is long
    enough; ending at the key with ``key_position='last'``), then the other
    ``num_frames - 1`` frames are drawn without replacement from the window.
    So ``max(frame_id) - min(frame_id) <= max_interval`` for the clip.
    When the window holds too few frames (short video, DET image), frames are
    drawn again (a DET image is repeated ``num_frames`` times).

    Args:
        frame_ids (Sequence[int]): the video's frame ids, ascending.
        key (int): position of the key frame in ``frame_ids``.
        num_frames (int): clip length T >= 1.
        max_interval (int): largest frame-id distance inside the clip.
        key_position (str): ``'any'`` or ``'last'`` (only earlier frames).
        rng (random.Random, optional): random source.

    Returns:
        list[int]: T positions, sorted by frame id (ties keep the key first).
    """
    rng = rng or random
    key_fid = frame_ids[key]
    if key_position == 'last':
        low, high = key_fid - max_interval, key_fid
    else:
        first, last = frame_ids[0], frame_ids[-1]
        lo_start = max(key_fid - max_interval, first)
        hi_start = min(key_fid, last - max_interval)
        start = rng.randint(lo_start, hi_start) if hi_start >= lo_start else first
        low, high = start, start + max_interval
        if not low <= key_fid <= high:  # short video: the window is the whole video
            low, high = first, last
    candidates = [p for p, fid in enumerate(frame_ids) if low <= fid <= high and p != key]
    if key_position == 'last':
        candidates = [p for p in candidates if frame_ids[p] < key_fid]
    need = num_frames - 1
    if len(candidates) >= need:
        refs = rng.sample(candidates, need)
    else:
        pool = candidates or [key]
        refs = list(candidates) + [rng.choice(pool) for _ in range(need - len(candidates))]
    clip = [key] + refs
    return sorted(clip, key=lambda p: frame_ids[p])


def sample_consecutive_clip(video_length: int, key: int, num_frames: int,
                            key_position: str = 'any',
                            rng: Optional[random.Random] = None) -> List[int]:
    """``num_frames`` consecutive frames holding the key frame.

    With ``key_position='any'`` the clip's start is drawn uniformly among
    those that keep the clip inside the video; with ``'last'`` the clip ends
    at the key frame. A video shorter than the clip (or a key frame too close
    to the start for ``'last'``) is padded at the front by repeating its
    first frame, so the order stays non-decreasing.

    Args:
        video_length (int): number of frames of the video.
        key (int): position of the key frame.
        num_frames (int): clip length T >= 1.
        key_position (str): ``'any'`` or ``'last'``.
        rng (random.Random, optional): random source.

    Returns:
        list[int]: T positions in temporal order.
    """
    rng = rng or random
    if key_position == 'last':
        start = key - num_frames + 1
        end = key
    else:
        lo_start = max(0, key - num_frames + 1)
        hi_start = min(key, video_length - num_frames)
        start = rng.randint(lo_start, hi_start) if hi_start >= lo_start else 0
        end = min(start + num_frames - 1, video_length - 1)
    positions = list(range(max(start, 0), end + 1))
    return [positions[0]] * (num_frames - len(positions)) + positions


@TRANSFORMS.register_module()
class VideoClipSample(BaseTransform):
    """Pick the T frames of a training clip from a video item.

    Takes the output of ``ImageNetVIDDataset`` with ``item_type='video'``
    (``images``, ``video_id``, ``video_length``, ``key_frame_id``) and
    returns the clip as a dict of lists of length T in temporal order (what
    ``TransformBroadcaster`` and ``PackTrackInputs`` expect), plus
    ``key_frame_flags``.

    Modes:
        * ``'interval'``: the key frame and T-1 random frames of its video,
          all within ``max_interval`` frame ids of each other (Deng et al.: 4
          frames at most 20 apart);
        * ``'consecutive'``: T consecutive frames (Vu et al.: MemNet-3 / -6).
    A one-frame video (DET image) gives its frame T times.

    Args:
        num_frames (int): clip length T.
        mode (str): ``'interval'`` or ``'consecutive'``.
        max_interval (int): for ``'interval'``.
        key_position (str): ``'any'`` or ``'last'`` (the key frame closes
            the clip, all other frames are earlier).
        collect_video_keys (Sequence[str]): video-level keys copied to
            every frame.

    Every frame keeps its own ``video_length`` (the whole video's length, as
    in testing); ``clip_length`` is T.
    """

    def __init__(self, num_frames: int = 4, mode: str = 'interval', max_interval: int = 20,
                 key_position: str = 'any',
                 collect_video_keys: Sequence[str] = ('video_id', 'video_length')) -> None:
        if num_frames < 1:
            raise ValueError(f'num_frames must be >= 1, got {num_frames}')
        if mode not in CLIP_MODES:
            raise ValueError(f'mode must be one of {CLIP_MODES}, got {mode!r}')
        if key_position not in KEY_POSITIONS:
            raise ValueError(f'key_position must be one of {KEY_POSITIONS}, got {key_position!r}')
        if max_interval < 0:
            raise ValueError(f'max_interval must be >= 0, got {max_interval}')
        self.num_frames = num_frames
        self.mode = mode
        self.max_interval = max_interval
        self.key_position = key_position
        self.collect_video_keys = tuple(collect_video_keys)

    def transform(self, results: dict) -> Dict[str, list]:
        """Sample the clip of ``results`` (a video item).

        Args:
            results (dict): ``images`` (frame dicts sorted by frame id),
                ``video_length``, the ``collect_video_keys`` and optionally
                ``key_frame_id`` (position; random when absent).

        Returns:
            dict: every frame key as a list over the T frames, plus
            ``key_frame_flags`` and ``clip_length``.
        """
        for key in ('images', 'video_length'):
            if key not in results:
                raise KeyError(f"VideoClipSample needs a video item with '{key}' (use "
                               "item_type='video' in the dataset), got keys "
                               f'{sorted(results)}')
        frames = results['images']
        length = len(frames)
        if length == 0:
            raise ValueError(f'video {results.get("video_id")} has no frames')
        key = results.get('key_frame_id')
        if key is None:
            key = random.randrange(length)
        if not 0 <= key < length:
            raise IndexError(f'key_frame_id {key} outside video {results.get("video_id")} '
                             f'of {length} frames')
        if self.mode == 'consecutive':
            positions = sample_consecutive_clip(length, key, self.num_frames, self.key_position)
        else:
            frame_ids = results.get('frame_ids')
            if frame_ids is None:
                frame_ids = [frames[p]['frame_id'] for p in range(length)]
            positions = sample_interval_clip(frame_ids, key, self.num_frames, self.max_interval,
                                             self.key_position)
        clip_frames = []
        for pos in positions:
            frame = dict(frames[pos])
            for vkey in self.collect_video_keys:
                if vkey in results:
                    frame[vkey] = results[vkey]
            frame['clip_length'] = self.num_frames
            clip_frames.append(frame)
        # Every value must be a list of T for TransformBroadcaster: keep the
        # keys all frames share.
        shared = set(clip_frames[0]).intersection(*clip_frames[1:])
        clip: Dict[str, list] = {name: [f[name] for f in clip_frames]
                                 for name in clip_frames[0] if name in shared}
        flags = [False] * len(positions)
        flags[positions.index(key)] = True
        clip['key_frame_flags'] = flags
        return clip

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(num_frames={self.num_frames}, mode={self.mode!r}, '
                f'max_interval={self.max_interval}, key_position={self.key_position!r})')
