"""VideoShardSampler and VIDDETMixSampler, with fake ranks."""
from collections import Counter

import pytest
from mmdet.registry import DATA_SAMPLERS, DATASETS
from mmengine.dataset import ConcatDataset
from mmengine.registry import init_default_scope

import mmvid_memory  # noqa: F401
from mmvid_memory.datasets import samplers as samplers_module
from mmvid_memory.datasets.samplers import (VIDDETMixSampler, VideoShardSampler, apportion,
                                            shard_videos, video_item_groups)
from mmvid_memory.datasets.tiny_cocovid import make_tiny_cocovid

CLASSES = ('circle', 'square', 'triangle')


@pytest.fixture(autouse=True)
def mmdet_scope():
    init_default_scope('mmdet')


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('samplers'))
    make_tiny_cocovid(root, 'vid', frames_per_video=(5, 1, 4, 2, 3), image_size=(8, 8))
    make_tiny_cocovid(root, 'vid_b', frames_per_video=(2, 2), image_size=(8, 8),
                      data_subdir='VID/b', id_offset=500)
    make_tiny_cocovid(root, 'det', frames_per_video=(4,), as_det=True, image_size=(8, 8),
                      data_subdir='DET/train', id_offset=1000)
    return root


def build(root, ann, **kwargs):
    cfg = dict(type='ImageNetVIDDataset', data_root=root, ann_file=f'annotations/{ann}.json',
               data_prefix=dict(img_path='Data/'), metainfo=dict(classes=CLASSES), pipeline=[])
    cfg.update(kwargs)
    return DATASETS.build(cfg)


def fake_ranks(monkeypatch, rank, world_size):
    monkeypatch.setattr(samplers_module, 'get_dist_info', lambda: (rank, world_size))
    monkeypatch.setattr(samplers_module, 'sync_random_seed', lambda: 1234)


def test_shard_videos_keeps_videos_whole_and_balanced():
    shards = shard_videos([5, 1, 4, 2, 3], 2)
    assert shards == [[0, 1], [2, 3, 4]]
    assert sum(shards, []) == list(range(5))
    assert shard_videos([3, 3, 3, 3], 4) == [[0], [1], [2], [3]]
    assert shard_videos([7], 3) == [[], [0], []]  # fewer videos than ranks


@pytest.mark.parametrize('world_size', [1, 2, 3])
def test_video_shard_sampler_covers_every_frame_once(data_root, monkeypatch, world_size):
    dataset = ConcatDataset([build(data_root, 'vid', test_mode=True),
                             build(data_root, 'vid_b', test_mode=True)])
    per_rank = []
    for rank in range(world_size):
        fake_ranks(monkeypatch, rank, world_size)
        sampler = DATA_SAMPLERS.build(dict(type='VideoShardSampler'),
                                      default_args=dict(dataset=dataset, seed=0))
        indices = list(sampler)
        assert len(sampler) == len(indices)
        per_rank.append(indices)
    everything = sum(per_rank, [])
    assert sorted(everything) == list(range(len(dataset))) == list(range(19))
    for indices in per_rank:
        infos = [dataset.get_data_info(i) for i in indices]
        keys = [(info['img_id'] >= 500, info['video_id'], info['frame_id']) for info in infos]
        assert keys == sorted(keys)  # video after video, each in frame order
    video_rank = {}
    for rank, indices in enumerate(per_rank):
        for i in indices:
            info = dataset.get_data_info(i)
            vid = (info['img_id'] >= 500, info['video_id'])
            assert video_rank.setdefault(vid, rank) == rank  # a video lives on one rank


def test_video_shard_sampler_refuses_clip_items(data_root):
    with pytest.raises(ValueError, match="item_type='frame'"):
        VideoShardSampler(build(data_root, 'vid', test_mode=True, item_type='video'))


def test_video_item_groups_of_plain_dataset():
    class Frames:
        def __init__(self, videos):
            self.infos = [dict(video_id=v) for v in videos]

        def __len__(self):
            return len(self.infos)

        def get_data_info(self, idx):
            return self.infos[idx]

    groups = video_item_groups(Frames(['a', 'a', 'b', 'c', 'c', 'c']))
    assert [g.tolist() for g in groups] == [[0, 1], [2], [3, 4, 5]]


def test_apportion():
    assert apportion(10, [1, 1]) == [5, 5]
    assert apportion(7, [1, 1]) == [4, 3]
    assert apportion(10, [3, 1, 0]) == [8, 2, 0]
    assert sum(apportion(101, [0.3, 0.3, 0.4])) == 101
    with pytest.raises(ValueError):
        apportion(5, [0, 0])


def test_mix_sampler_ratio_and_sources(data_root, monkeypatch):
    fake_ranks(monkeypatch, 0, 1)
    vid, det = build(data_root, 'vid'), build(data_root, 'det', load_as_video=False)
    dataset = ConcatDataset([vid, det])
    assert (len(vid), len(det)) == (15, 4)
    sampler = DATA_SAMPLERS.build(dict(type='VIDDETMixSampler', ratios=(1, 1)),
                                  default_args=dict(dataset=dataset, seed=7))
    indices = list(sampler)
    assert len(indices) == len(sampler) == 19
    sources = Counter(sampler.source_of(i) for i in indices)
    assert sources == {0: 10, 1: 9}
    # the 4 DET images are drawn round-robin: 9 draws = 2 full permutations + 1
    det_counts = Counter(i for i in indices if i >= 15)
    assert sorted(det_counts.values()) == [2, 2, 2, 3]
    # VID draws do not repeat within an epoch when the source is big enough
    assert len({i for i in indices if i < 15}) == 10
    # items come from the dataset the index belongs to
    for i in indices[:6]:
        info = dataset.get_data_info(i)
        assert (info['video_id'] < 0) == (i >= 15)
    again = VIDDETMixSampler(dataset, ratios=(1, 1), seed=7)
    assert list(again) == indices  # same seed, same epoch
    again.set_epoch(1)
    assert list(again) != indices
    natural = VIDDETMixSampler(dataset, seed=7)  # ratios None: proportional to sizes
    assert Counter(natural.source_of(i) for i in natural) == {0: 15, 1: 4}
    longer = VIDDETMixSampler(dataset, ratios=(3, 1), num_samples_per_epoch=40, seed=7)
    assert Counter(longer.source_of(i) for i in longer) == {0: 30, 1: 10}
    with pytest.raises(ValueError, match='ratios has 1 entries for 2 datasets'):
        VIDDETMixSampler(dataset, ratios=(1,), seed=0)


@pytest.mark.parametrize('round_up', [True, False])
def test_mix_sampler_two_fake_ranks(data_root, monkeypatch, round_up):
    dataset = ConcatDataset([build(data_root, 'vid'), build(data_root, 'det', load_as_video=False)])
    streams = []
    for rank in range(2):
        fake_ranks(monkeypatch, rank, 2)
        sampler = VIDDETMixSampler(dataset, ratios=(2, 1), num_samples_per_epoch=15,
                                   round_up=round_up)
        sampler.set_epoch(3)
        streams.append(list(sampler))
        assert len(streams[-1]) == len(sampler)
        epoch = sampler.epoch_indices(3)
    assert sampler.seed == 1234  # synced seed when none is given
    if round_up:
        assert [len(s) for s in streams] == [8, 8]
        padded = epoch + epoch[:1]
    else:
        assert [len(s) for s in streams] == [8, 7]
        padded = epoch
    # the ranks deal one shared epoch between them, nothing lost
    merged = [x for pair in zip(*streams) for x in pair] + streams[0][len(streams[1]):]
    assert merged == padded
    assert Counter(i >= 15 for i in epoch) == {False: 10, True: 5}


def test_mix_sampler_without_shuffle_walks_sources(data_root, monkeypatch):
    fake_ranks(monkeypatch, 0, 1)
    dataset = ConcatDataset([build(data_root, 'vid_b'),
                             build(data_root, 'det', load_as_video=False)])
    sampler = VIDDETMixSampler(dataset, ratios=(1, 1), num_samples_per_epoch=10, shuffle=False,
                               seed=0)
    assert list(sampler) == [0, 1, 2, 3, 0, 4, 5, 6, 7, 4]
