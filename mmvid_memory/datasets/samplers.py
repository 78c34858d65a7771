"""Samplers for video data: whole videos per rank in testing, VID + DET mixes in training."""
import math
import warnings
from typing import Dict, Iterator, List, Optional, Sequence, Sized, Tuple

import numpy as np
from mmdet.registry import DATA_SAMPLERS
from mmengine.dataset import ConcatDataset
from mmengine.dist import get_dist_info, sync_random_seed
from torch.utils.data import Sampler


def dataset_sources(dataset: Sized) -> List[Tuple[Sized, int]]:
    """The datasets behind ``dataset`` with their index offsets.

    Args:
        dataset: a dataset or an mmengine ``ConcatDataset`` (nested ones are
            flattened).

    Returns:
        list[tuple]: ``(sub_dataset, offset)``; item ``i`` of a sub-dataset
        is item ``offset + i`` of ``dataset``.
    """
    if not isinstance(dataset, ConcatDataset):
        return [(dataset, 0)]
    sources, offset = [], 0
    for sub in dataset.datasets:
        for inner, inner_offset in dataset_sources(sub):
            sources.append((inner, offset + inner_offset))
        offset += len(sub)
    return sources


def _groups_by_video_id(dataset: Sized) -> List[np.ndarray]:
    """Runs of consecutive items that share ``video_id`` (any dataset)."""
    groups: List[List[int]] = []
    previous = object()
    for idx in range(len(dataset)):
        info = dataset.get_data_info(idx)
        if 'video_id' not in info:
            raise KeyError(f'{type(dataset).__name__} item {idx} has no video_id: cannot '
                           'group its frames into videos')
        if info['video_id'] != previous or not groups:
            groups.append([])
            previous = info['video_id']
        groups[-1].append(idx)
    return [np.asarray(g, dtype=np.int64) for g in groups]


def video_item_groups(dataset: Sized) -> List[np.ndarray]:
    """Item indices of each video of ``dataset`` (``ConcatDataset`` included).

    Args:
        dataset: a dataset with ``video_item_groups()`` (``ImageNetVIDDataset``),
            a ``ConcatDataset`` of such, or any dataset whose items carry
            ``video_id`` in ``get_data_info`` (read once, slower).

    Returns:
        list[np.ndarray]: per video, its item indices in frame order.
    """
    groups: List[np.ndarray] = []
    for sub, offset in dataset_sources(dataset):
        sub_groups = (sub.video_item_groups() if hasattr(sub, 'video_item_groups')
                      else _groups_by_video_id(sub))
        groups.extend(g + offset for g in sub_groups)
    return groups


def shard_videos(video_sizes: Sequence[int], world_size: int) -> List[List[int]]:
    """Split videos into ``world_size`` contiguous runs of about equal frames.

    A video goes to the rank whose share of the frame count holds the
    video's middle frame, so videos stay whole and in order.

    Args:
        video_sizes (Sequence[int]): frames per video.
        world_size (int): number of ranks.

    Returns:
        list[list[int]]: video indices per rank (a rank may get none when
        there are fewer videos than ranks).
    """
    sizes = np.asarray(video_sizes, dtype=np.float64)
    total = sizes.sum()
    shards: List[List[int]] = [[] for _ in range(world_size)]
    if total == 0:
        return shards
    middles = np.cumsum(sizes) - sizes / 2
    ranks = np.minimum((middles * world_size / total).astype(np.int64), world_size - 1)
    for video, rank in enumerate(ranks):
        shards[int(rank)].append(video)
    return shards


@DATA_SAMPLERS.register_module()
class VideoShardSampler(Sampler):
    """Test sampler: every frame in order, each video on one rank.

    Rank r gets a contiguous run of whole videos (about the same number of
    frames per rank) and yields their frames video after video, each video
    in frame order, as online memory detectors need. Nothing is padded or
    repeated, so ranks may get different numbers of frames; mmengine's
    ``collect_results`` gathers them all (``VIDMetric`` also drops repeats
    by ``img_id``).

    Args:
        dataset: frame items (``ImageNetVIDDataset`` with
            ``item_type='frame'``, a ``ConcatDataset`` of them, or any dataset
            whose items carry ``video_id``).
        seed: unused; accepted because the runner passes it.
    """

    def __init__(self, dataset: Sized, seed: Optional[int] = None) -> None:
        for sub, _ in dataset_sources(dataset):
            if getattr(sub, 'item_type', 'frame') != 'frame':
                raise ValueError("VideoShardSampler feeds single frames: build the dataset "
                                 f"with item_type='frame', got {sub.item_type!r}")
        self.dataset = dataset
        self.rank, self.world_size = get_dist_info()
        groups = video_item_groups(dataset)
        shards = shard_videos([len(g) for g in groups], self.world_size)
        mine = shards[self.rank]
        if not mine:
            warnings.warn(f'VideoShardSampler: rank {self.rank} gets no video '
                          f'({len(groups)} videos for {self.world_size} ranks)')
        self.indices = (np.concatenate([groups[v] for v in mine]).tolist()
                        if mine else [])
        self.num_videos = len(mine)

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices)

    def __len__(self) -> int:
        return len(self.indices)

    def set_epoch(self, epoch: int) -> None:
        """Order is fixed; kept for the runner's interface."""


def apportion(total: int, weights: Sequence[float]) -> List[int]:
    """Split ``total`` into integer counts proportional to ``weights``.

    Largest-remainder rounding, ties to the earlier source, so the counts
    sum to ``total`` exactly.

    Args:
        total (int): number to split.
        weights (Sequence[float]): non-negative, at least one positive.

    Returns:
        list[int]: the counts.
    """
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 1 or len(w) == 0 or (w < 0).any() or w.sum() <= 0:
        raise ValueError(f'weights must be non-negative with a positive sum, got {list(weights)}')
    exact = total * w / w.sum()
    counts = np.floor(exact).astype(np.int64)
    remainder = total - int(counts.sum())
    order = np.argsort(-(exact - counts), kind='stable')
    counts[order[:remainder]] += 1
    return counts.tolist()


@DATA_SAMPLERS.register_module()
class VIDDETMixSampler(Sampler):
    """Training sampler that mixes the datasets of a ``ConcatDataset`` at set ratios.

    mmdet's ``TrackImgSampler`` yields ``(video, frame)`` pairs without the
    ``ConcatDataset`` offset; this sampler yields plain item indices of the
    concatenation, so each sub-dataset's items come from that sub-dataset.
    Each epoch draws ``n_i`` items from source ``i`` (``n_i`` proportional to
    ``ratios``, summing to the epoch length): a fresh permutation of the
    source, repeated when ``n_i`` exceeds its size. The mix is shuffled and,
    as in ``DefaultSampler``, padded to a multiple of the world size and
    dealt to the ranks (``indices[rank::world_size]``); every rank draws the
    same epoch from the same seed.

    Args:
        dataset: a ``ConcatDataset`` (e.g. ImageNet VID + DET) or one dataset.
        ratios (Sequence[float], optional): share of each source per epoch,
            e.g. ``(1, 1)`` for as many VID items as DET items. None: shares
            proportional to the source sizes (plain shuffling).
        num_samples_per_epoch (int, optional): epoch length over all ranks;
            None: ``len(dataset)``.
        shuffle (bool): False walks each source in order (for debugging).
        seed (int, optional): shared random seed; None syncs one across ranks.
        round_up (bool): pad so that all ranks get the same count.
    """

    def __init__(self, dataset: Sized, ratios: Optional[Sequence[float]] = None,
                 num_samples_per_epoch: Optional[int] = None, shuffle: bool = True,
                 seed: Optional[int] = None, round_up: bool = True) -> None:
        self.dataset = dataset
        self.rank, self.world_size = get_dist_info()
        self.seed = sync_random_seed() if seed is None else seed
        self.epoch = 0
        self.shuffle = shuffle
        self.round_up = round_up
        sources = dataset_sources(dataset)
        self.source_sizes = [len(sub) for sub, _ in sources]
        self.source_offsets = [offset for _, offset in sources]
        if ratios is None:
            ratios = self.source_sizes
        if len(ratios) != len(sources):
            raise ValueError(f'ratios has {len(ratios)} entries for {len(sources)} datasets '
                             f'(sizes {self.source_sizes})')
        for size, ratio in zip(self.source_sizes, ratios):
            if ratio > 0 and size == 0:
                raise ValueError(f'a dataset with ratio {ratio} is empty '
                                 f'(sizes {self.source_sizes})')
        self.ratios = [float(r) for r in ratios]
        epoch_length = len(dataset) if num_samples_per_epoch is None else num_samples_per_epoch
        if epoch_length < 1:
            raise ValueError(f'the epoch would be empty (length {epoch_length})')
        self.source_counts = apportion(epoch_length, self.ratios)
        self.epoch_length = epoch_length
        if round_up:
            self.num_samples = math.ceil(epoch_length / self.world_size)
            self.total_size = self.num_samples * self.world_size
        else:
            self.num_samples = math.ceil((epoch_length - self.rank) / self.world_size)
            self.total_size = epoch_length

    def epoch_indices(self, epoch: int) -> List[int]:
        """The whole epoch before it is dealt to ranks (all ranks compute the same).

        Args:
            epoch (int): epoch number.

        Returns:
            list[int]: ``epoch_length`` item indices of the concatenation.
        """
        rng = np.random.default_rng([self.seed, epoch])
        parts = []
        for size, offset, count in zip(self.source_sizes, self.source_offsets,
                                       self.source_counts):
            if count == 0:
                continue
            rounds = math.ceil(count / size)
            if self.shuffle:
                draws = np.concatenate([rng.permutation(size) for _ in range(rounds)])
            else:
                draws = np.tile(np.arange(size), rounds)
            parts.append(draws[:count] + offset)
        mix = np.concatenate(parts)
        if self.shuffle:
            mix = mix[rng.permutation(len(mix))]
        return mix.tolist()

    def __iter__(self) -> Iterator[int]:
        indices = self.epoch_indices(self.epoch)
        if self.round_up and self.total_size > len(indices):
            repeats = math.ceil(self.total_size / len(indices))
            indices = (indices * repeats)[:self.total_size]
        return iter(indices[self.rank:self.total_size:self.world_size])

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Draw a different mix next epoch (called by the runner)."""
        self.epoch = epoch

    def source_of(self, index: int) -> int:
        """Which source (sub-dataset number) an item index belongs to."""
        return int(np.searchsorted(np.asarray(self.source_offsets), index, side='right') - 1)

    def describe(self) -> Dict[str, list]:
        """Sizes, ratios and per-epoch counts, for logs."""
        return dict(sizes=self.source_sizes, ratios=self.ratios, counts=self.source_counts)
