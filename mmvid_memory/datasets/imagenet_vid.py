"""ImageNet VID (and every CocoVID data set) as frames or as clips of one video."""
import logging
import os.path as osp
from typing import Any, List, Optional, Sequence

import numpy as np
from mmdet.datasets import BaseVideoDataset
from mmdet.registry import DATASETS
from mmengine.logging import print_log

from .cocovid import load_cocovid

IMAGENET_VID_CLASSES = (
    'airplane', 'antelope', 'bear', 'bicycle', 'bird', 'bus', 'car', 'cattle', 'dog',
    'domestic_cat', 'elephant', 'fox', 'giant_panda', 'hamster', 'horse', 'lion', 'lizard',
    'monkey', 'motorcycle', 'rabbit', 'red_panda', 'sheep', 'snake', 'squirrel', 'tiger',
    'train', 'turtle', 'watercraft', 'whale', 'zebra')
# WordNet ids of IMAGENET_VID_CLASSES, same order (the ILSVRC devkit's class order).
IMAGENET_VID_WNIDS = (
    'n02691156', 'n02419796', 'n02131653', 'n02834778', 'n01503061', 'n02924116',
    'n02958343', 'n02402425', 'n02084071', 'n02121808', 'n02503517', 'n02118333',
    'n02510455', 'n02342885', 'n02374451', 'n02129165', 'n01674464', 'n02484322',
    'n03790512', 'n02324045', 'n02509815', 'n02411705', 'n01726692', 'n02355227',
    'n02129604', 'n04468005', 'n01662784', 'n04530566', 'n02062744', 'n02391049')

ITEM_TYPES = ('frame', 'video')


class VideoFrames(Sequence):
    """The frames of one video, read from the dataset on access.

    Reference-frame samplers index a video's frame list; reading only the
    frames they pick keeps a long video from being deserialised whole.

    Args:
        dataset: the owning dataset.
        start (int): position of the video's first frame in the frame store.
        length (int): number of frames.
    """

    def __init__(self, dataset: 'ImageNetVIDDataset', start: int, length: int) -> None:
        self._dataset = dataset
        self._start = start
        self._length = length

    def __len__(self) -> int:
        return self._length

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._length))]
        if not -self._length <= index < self._length:
            raise IndexError(f'frame {index} of a video of {self._length} frames')
        return self._dataset.frame_info(self._start + index % self._length)


@DATASETS.register_module()
class ImageNetVIDDataset(BaseVideoDataset):
    """A CocoVID data set (ImageNet VID, ImageNet DET, SynthVID).

    Every item is a **key frame**; the index space is the same for both item
    types, so mmengine's ``DefaultSampler``, ``ConcatDataset`` and the samplers
    of this package work unchanged:

    * ``item_type='frame'``: the item is the frame's data dict (``img_path``,
      ``instances``, ``video_id``, ``frame_id``, ``video_length`` ...) for
      single-frame pipelines (``PackVideoFrameInputs``), as used by the
      still-image baseline and by every test.
    * ``item_type='video'``: the item is its video, ``{'video_id',
      'video_length', 'images': VideoFrames, 'frame_ids', 'key_frame_id'}``
      with ``key_frame_id`` the key frame's position in ``images``, for a clip
      sampler (``VideoClipSample`` or mmdet's ``UniformRefFrameSample``)
      followed by ``TransformBroadcaster`` and ``PackTrackInputs``.

    Frames of a video are sorted by ``frame_id``; ``video_length`` is the
    number of frames the file lists for the video (all of them, also in
    training). Filtering (``filter_cfg``, ``key_frames_per_video``) only
    chooses which frames are key frames in training; every frame stays
    available as a reference frame. In ``test_mode`` every frame is an item,
    video after video, in file order.

    Args:
        item_type (str): ``'frame'`` or ``'video'``.
        load_as_video (bool): False reads every image as a one-frame video
            (ImageNet DET); its references are then itself.
        key_frames_per_video (int, optional): in training, keep this many
            key frames per video, evenly spread over the frames left by
            ``filter_cfg`` (FGFA trains on 15 per VID video). None keeps all.
        synthvid_params (dict, optional): SynthVID generation parameters.
            When given, ``mmvid_memory.datasets.synthvid.ensure_synthvid(
            data_root, **params)`` runs first: it generates the data when
            they are missing or were made with other parameters, and
            otherwise returns at once. ``tools/train.py`` and
            ``tools/test.py`` also call it before building the runner (see
            ``mmvid_memory.utils.launch``).
        filter_cfg (dict, optional): ``filter_empty_gt`` (bool, default
            False): frames without objects are not key frames;
            ``min_size`` (int, default 0): frames whose width or height is
            smaller are not key frames. Ignored in ``test_mode``.
        *args, **kwargs: ``mmdet.datasets.BaseVideoDataset`` arguments
            (``ann_file``, ``data_root``, ``data_prefix=dict(img_path=...)``,
            ``metainfo``, ``pipeline``, ``test_mode``, ``backend_args`` ...).
            ``indices`` is not supported (it would cut videos apart).
    """

    METAINFO = dict(classes=IMAGENET_VID_CLASSES)

    def __init__(self, *args, item_type: str = 'frame', load_as_video: bool = True,
                 key_frames_per_video: Optional[int] = None,
                 synthvid_params: Optional[dict] = None, **kwargs) -> None:
        if item_type not in ITEM_TYPES:
            raise ValueError(f'item_type must be one of {ITEM_TYPES}, got {item_type!r}')
        if kwargs.get('indices') is not None:
            raise ValueError(f'{type(self).__name__} does not support `indices`: a subset '
                             'of frames would cut videos apart; subset the annotation file')
        if key_frames_per_video is not None and key_frames_per_video < 1:
            raise ValueError(f'key_frames_per_video must be >= 1, got {key_frames_per_video}')
        self.item_type = item_type
        self.load_as_video = load_as_video
        self.key_frames_per_video = key_frames_per_video
        self.synthvid_params = synthvid_params
        # Filled by load_data_list / filter_data.
        self._video_starts = np.zeros(0, dtype=np.int64)
        self._video_lengths = np.zeros(0, dtype=np.int64)
        self._video_ids: List[Any] = []
        self._frame_ids = np.zeros(0, dtype=np.int64)
        self._item_positions = np.zeros(0, dtype=np.int64)
        if synthvid_params is not None:
            self._ensure_synthvid(kwargs, synthvid_params)
        super().__init__(*args, **kwargs)

    @staticmethod
    def _ensure_synthvid(kwargs: dict, params: dict) -> None:
        data_root = kwargs.get('data_root')
        if not data_root:
            raise ValueError('synthvid_params needs the data_root to generate SynthVID into')
        from .synthvid import ensure_synthvid

        # Cheap when the data are there with these parameters (it reads a
        # summary file under a lock), so every build checks it.
        ensure_synthvid(data_root, **dict(params))

    # ---------------------------------------------------------------- loading
    def load_data_list(self) -> List[dict]:
        """Read the CocoVID file into a frame list grouped by video.

        Returns:
            list[dict]: all frames, video after video, each sorted by
            ``frame_id``, with ``img_path``, ``video_id``, ``frame_id``,
            ``video_length`` and ``instances``.
        """
        parsed = load_cocovid(self.ann_file, classes=self._metainfo.get('classes'),
                              load_as_video=self.load_as_video,
                              backend_args=self.backend_args)
        if self._metainfo.get('classes') is None:
            self._metainfo['classes'] = parsed.classes
        if parsed.num_skipped_boxes:
            print_log(f'{self.ann_file}: skipped {parsed.num_skipped_boxes} degenerate boxes '
                      '(w or h < 1, area <= 0 or outside the image)', logger='current')
        img_prefix = self.data_prefix.get('img_path')
        frames: List[dict] = []
        starts, lengths, video_ids, frame_ids = [], [], [], []
        for video in parsed.videos:
            starts.append(len(frames))
            lengths.append(len(video['frames']))
            video_ids.append(video['video_id'])
            for frame in video['frames']:
                frame['video_length'] = len(video['frames'])
                frame['img_path'] = (osp.join(img_prefix, frame['file_name'])
                                     if img_prefix else frame['file_name'])
                frames.append(frame)
                frame_ids.append(frame['frame_id'])
        self._frame_ids = np.asarray(frame_ids, dtype=np.int64)
        self._video_starts = np.asarray(starts, dtype=np.int64)
        self._video_lengths = np.asarray(lengths, dtype=np.int64)
        self._video_ids = video_ids
        self._warn_gappy_videos()
        return frames

    def _warn_gappy_videos(self) -> None:
        # Online memory detectors reset at frame_id 0 and close a video at
        # frame_id video_length - 1, which assumes frame ids 0..L-1.
        gappy = [vid for vid, start, length in zip(self._video_ids, self._video_starts,
                                                   self._video_lengths)
                 if self._frame_ids[start] != 0
                 or self._frame_ids[start + length - 1] != length - 1]
        if gappy:
            print_log(f'{self.ann_file}: {len(gappy)} video(s) do not number their frames '
                      f'0..length-1 (e.g. video id={gappy[0]}); memory detectors expect it',
                      logger='current', level=logging.WARNING)

    def filter_data(self) -> List[dict]:
        """Choose the key frames (items); the frame store is kept whole.

        Returns:
            list[dict]: the unchanged frame list.
        """
        num_frames = len(self.data_list)
        if self.test_mode:
            self._item_positions = np.arange(num_frames, dtype=np.int64)
            return self.data_list
        cfg = self.filter_cfg or {}
        unknown = set(cfg) - {'filter_empty_gt', 'min_size'}
        if unknown:
            raise ValueError(f'filter_cfg has unknown key(s) {sorted(unknown)}; '
                             "known: 'filter_empty_gt', 'min_size'")
        filter_empty = bool(cfg.get('filter_empty_gt', False))
        min_size = cfg.get('min_size', 0)
        keep = np.ones(num_frames, dtype=bool)
        for pos, frame in enumerate(self.data_list):
            if filter_empty and not any(not i['ignore_flag'] for i in frame['instances']):
                keep[pos] = False
            elif min(frame['width'], frame['height']) < min_size:
                keep[pos] = False
        positions = []
        for start, length in zip(self._video_starts, self._video_lengths):
            kept = np.flatnonzero(keep[start:start + length]) + start
            if self.key_frames_per_video is not None and len(kept) > self.key_frames_per_video:
                spread = np.linspace(0, len(kept) - 1, self.key_frames_per_video)
                kept = kept[np.unique(np.round(spread).astype(np.int64))]
            positions.append(kept)
        self._item_positions = (np.concatenate(positions) if positions
                                else np.zeros(0, dtype=np.int64))
        if len(self._item_positions) == 0:
            # A training set without items fails much later, in the sampler
            # (mmengine's DefaultSampler divides by the dataset's length).
            boxes = sum(len(frame['instances']) for frame in self.data_list)
            reason = ('filter_empty_gt=True removed every frame' if filter_empty and num_frames
                      else f'min_size={min_size} removed every frame' if num_frames
                      else 'the file lists no frame')
            raise ValueError(f'{self.ann_file}: no training items: {num_frames} frames in '
                             f'{len(self._video_ids)} videos with {boxes} annotated boxes, '
                             f'and {reason}. A training set needs annotated frames (is this '
                             'the right annotation file?)')
        print_log(f'{self.ann_file}: {len(self._item_positions)} key frames of {num_frames} '
                  f'frames in {len(self._video_ids)} videos', logger='current')
        return self.data_list

    # ---------------------------------------------------------------- access
    @property
    def metainfo(self) -> dict:
        """Meta information; reads the file first when the classes come from it."""
        if self._metainfo.get('classes') is None and not self._fully_initialized:
            self.full_init()
        return super().metainfo

    def __len__(self) -> int:
        if not self._fully_initialized:
            self.full_init()
        return len(self._item_positions)

    def frame_info(self, position: int) -> dict:
        """The frame stored at ``position`` (frame store order, not item index)."""
        return super().get_data_info(position)

    def get_data_info(self, idx: int) -> dict:
        """The key frame of item ``idx`` (its frame dict)."""
        if not self._fully_initialized:
            self.full_init()
        info = self.frame_info(int(self._item_positions[idx]))
        info['sample_idx'] = idx if idx >= 0 else len(self) + idx
        return info

    def _video_index_of(self, position: int) -> int:
        return int(np.searchsorted(self._video_starts, position, side='right') - 1)

    def prepare_data(self, idx: int) -> Any:
        """Run the pipeline on item ``idx`` (see the class docstring)."""
        if isinstance(idx, tuple):
            raise TypeError(
                f'{type(self).__name__} indexes key frames with ints, got {idx!r}; use '
                'DefaultSampler, VIDDETMixSampler or VideoShardSampler instead of '
                "mmdet's TrackImgSampler")
        if self.item_type == 'frame':
            return self.pipeline(self.get_data_info(idx))
        position = int(self._item_positions[idx])
        video_idx = self._video_index_of(position)
        start = int(self._video_starts[video_idx])
        length = int(self._video_lengths[video_idx])
        video_info = dict(
            video_id=self._video_ids[video_idx],
            video_length=length,
            images=VideoFrames(self, start, length),
            frame_ids=self._frame_ids[start:start + length].tolist(),
            key_frame_id=position - start)
        return self.pipeline(video_info)

    def get_cat_ids(self, idx: int) -> List[int]:
        """Labels of the objects in item ``idx``'s key frame."""
        return [inst['bbox_label'] for inst in self.get_data_info(idx)['instances']]

    # ----------------------------------------------------------------- videos
    @property
    def num_videos(self) -> int:
        """Number of videos with at least one frame."""
        if not self._fully_initialized:
            self.full_init()
        return len(self._video_ids)

    @property
    def num_all_imgs(self) -> int:
        """Number of frames of all videos (key frames or not)."""
        if not self._fully_initialized:
            self.full_init()
        return int(self._video_lengths.sum())

    def get_len_per_video(self, idx: int) -> int:
        """Number of frames of the ``idx``-th video."""
        if not self._fully_initialized:
            self.full_init()
        return int(self._video_lengths[idx])

    def video_item_groups(self) -> List[np.ndarray]:
        """Item indices of each video, in frame order (videos without items omitted).

        Returns:
            list[np.ndarray]: one int64 array per video.
        """
        if not self._fully_initialized:
            self.full_init()
        if len(self._item_positions) == 0:
            return []
        video_of_item = np.searchsorted(self._video_starts, self._item_positions,
                                        side='right') - 1
        cuts = np.flatnonzero(np.diff(video_of_item)) + 1
        return np.split(np.arange(len(self._item_positions), dtype=np.int64), cuts)
