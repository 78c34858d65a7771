"""ImageNetVIDDataset / SynthVIDDataset, clip sampling, packing and the base dataset configs."""
import copy
import json
import os.path as osp
import random

import numpy as np
import pytest
import torch
from mmdet.registry import DATASETS, MODELS, TRANSFORMS
from mmdet.structures import DetDataSample, TrackDataSample
from mmengine.config import Config
from mmengine.dataset import ConcatDataset
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

import mmvid_memory  # noqa: F401
from mmvid_memory.datasets import CocoVIDFormatError, ImageNetVIDDataset, SynthVIDDataset
from mmvid_memory.datasets.tiny_cocovid import make_tiny_cocovid
from mmvid_memory.datasets.transforms import sample_consecutive_clip, sample_interval_clip

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
FRAME_PIPELINE = [dict(type='LoadImageFromFile'), dict(type='LoadTrackAnnotations'),
                  dict(type='PackVideoFrameInputs')]


def clip_pipeline(**sample_args):
    return [
        dict(type='VideoClipSample', **sample_args),
        dict(type='TransformBroadcaster', share_random_params=True, transforms=[
            dict(type='LoadImageFromFile'), dict(type='LoadTrackAnnotations'),
            dict(type='RandomFlip', prob=0.5)]),
        dict(type='PackTrackInputs'),
    ]


@pytest.fixture(autouse=True)
def mmdet_scope():
    init_default_scope('mmdet')


@pytest.fixture
def vid_root(tmp_path):
    root = str(tmp_path)
    make_tiny_cocovid(root, 'vid_train', frames_per_video=(5, 3), empty_frames=[(0, 2)])
    return root


def build(root, ann='vid_train', **kwargs):
    cfg = dict(type='ImageNetVIDDataset', data_root=root, ann_file=f'annotations/{ann}.json',
               data_prefix=dict(img_path='Data/'), metainfo=dict(
                   classes=('circle', 'square', 'triangle')), pipeline=FRAME_PIPELINE)
    cfg.update(kwargs)
    return DATASETS.build(cfg)


def test_frame_items_carry_video_metainfo(vid_root):
    ds = build(vid_root, test_mode=True)
    assert len(ds) == 8 and ds.num_videos == 2 and ds.num_all_imgs == 8
    metas = [ds[i]['data_samples'].metainfo for i in range(len(ds))]
    assert [(m['video_id'], m['frame_id']) for m in metas] == (
        [(1, f) for f in range(5)] + [(2, f) for f in range(3)])
    assert [m['video_length'] for m in metas] == [5] * 5 + [3] * 3
    for key in ('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'):
        assert key in metas[0]
    item = ds[6]
    assert item['inputs'].shape == (3, 48, 64) and item['inputs'].dtype == torch.uint8
    gt = item['data_samples'].gt_instances
    # video 1 (second) shows class 1, track id 1, moving 2 px per frame
    assert gt.labels.tolist() == [1] and gt.instances_ids.tolist() == [1]
    assert gt.bboxes.tolist() == [[4.0, 5.0, 22.0, 17.0]]
    assert len(ds[2]['data_samples'].gt_instances) == 0  # the empty frame stays in testing
    assert metas[3]['img_path'] == osp.join(vid_root, 'Data', 'VID/train/video_000/000003.png')


def test_filtering_chooses_key_frames_only(vid_root):
    ds = build(vid_root, filter_cfg=dict(filter_empty_gt=True))
    assert len(ds) == 7
    assert 2 not in [ds.get_data_info(i)['frame_id'] for i in range(4)]
    # the empty frame is still a reference frame of a clip
    clips = build(vid_root, filter_cfg=dict(filter_empty_gt=True), item_type='video',
                  pipeline=clip_pipeline(num_frames=5, mode='consecutive'))
    frame_ids = [s.frame_id for s in clips[0]['data_samples'].video_data_samples]
    assert frame_ids == [0, 1, 2, 3, 4]
    spread = build(vid_root, key_frames_per_video=2)
    assert [(spread.get_data_info(i)['video_id'], spread.get_data_info(i)['frame_id'])
            for i in range(len(spread))] == [(1, 0), (1, 4), (2, 0), (2, 2)]
    # test mode keeps every frame whatever the filters say
    assert len(build(vid_root, test_mode=True, filter_cfg=dict(filter_empty_gt=True),
                     key_frames_per_video=1)) == 8
    with pytest.raises(ValueError, match='unknown key'):
        build(vid_root, filter_cfg=dict(filter_empty=True))


def test_training_set_without_annotations_is_a_clear_error(tmp_path):
    """It used to die later in mmengine's DefaultSampler with a ZeroDivisionError."""
    root = str(tmp_path)
    make_tiny_cocovid(root, 'no_boxes', frames_per_video=(3, 2),
                      empty_frames=[(v, f) for v in range(2) for f in range(3)])
    with pytest.raises(ValueError, match=r'no_boxes.json: no training items: 5 frames in 2 '
                                         r'videos with 0 annotated boxes, and filter_empty_gt'):
        build(root, ann='no_boxes', filter_cfg=dict(filter_empty_gt=True))
    assert len(build(root, ann='no_boxes', test_mode=True)) == 5  # testing such a set is fine


def test_classes_by_name_wnid_or_file(vid_root):
    ds = build(vid_root, metainfo=dict(classes=('n00000001', 'circle')), test_mode=True)
    # only the two chosen categories, in the chosen label order
    labels = [ds.get_cat_ids(i) for i in range(len(ds))]
    assert labels == [[1], [1], [], [1], [1], [0], [0], [0]]
    synth = DATASETS.build(dict(type='SynthVIDDataset', data_root=vid_root,
                                ann_file='annotations/vid_train.json',
                                data_prefix=dict(img_path='Data/'), pipeline=[]))
    assert isinstance(synth, SynthVIDDataset)
    assert synth.metainfo['classes'] == ('circle', 'square', 'triangle')
    with pytest.raises(CocoVIDFormatError, match=r"\['zebra'\] not among the categories"):
        build(vid_root, metainfo=dict(classes=('circle', 'zebra')))
    assert ImageNetVIDDataset.METAINFO['classes'][0] == 'airplane'
    # classes read from the file also reach a ConcatDataset of lazy datasets
    lazy = [DATASETS.build(dict(type='SynthVIDDataset', data_root=vid_root, lazy_init=True,
                                ann_file='annotations/vid_train.json', pipeline=[]))
            for _ in range(2)]
    assert ConcatDataset(lazy, lazy_init=True).metainfo['classes'] == ('circle', 'square',
                                                                         'triangle')


def _corrupt(content, case):
    if case == 'missing_top_key':
        del content['videos']
        return 'missing top-level key'
    if case == 'missing_image_key':
        del content['images'][3]['frame_id']
        return "image id=4 lacks key(s) ['frame_id']"
    if case == 'unknown_image':
        content['annotations'][1]['image_id'] = 999
        return 'annotation id=2 points to unknown image id=999'
    if case == 'unknown_category':
        content['annotations'][0]['category_id'] = 42
        return 'annotation id=1 has category_id=42'
    if case == 'duplicate_frame_id':
        content['images'][4]['frame_id'] = 3
        return 'video id=1 has frame_id=3 twice (image ids [4, 5])'
    if case == 'duplicate_image_id':
        content['images'][1]['id'] = 1
        return 'duplicate image id=1'
    if case == 'duplicate_ann_id':
        content['annotations'][2]['id'] = 1
        return 'duplicate annotation id=1'
    if case == 'missing_instance_id':
        del content['annotations'][0]['instance_id']
        return "annotation id=1 (image id=1) lacks 'instance_id'"
    if case == 'unknown_video':
        content['images'][0]['video_id'] = 77
        return 'image id=1 points to unknown video id=77'
    if case == 'bad_bbox':
        content['annotations'][0]['bbox'] = [1, 2, 3]
        return 'annotation id=1 has bbox [1, 2, 3]'
    if case == 'duplicate_track_in_frame':
        extra = dict(content['annotations'][0], id=500)
        content['annotations'].append(extra)
        return 'image id=1 (video id=1) has instance_id(s) [0] on more than one box'
    raise KeyError(case)


@pytest.mark.parametrize('case', [
    'missing_top_key', 'missing_image_key', 'unknown_image', 'unknown_category',
    'duplicate_frame_id', 'duplicate_image_id', 'duplicate_ann_id', 'missing_instance_id',
    'unknown_video', 'bad_bbox', 'duplicate_track_in_frame'])
def test_malformed_json_names_file_and_id(vid_root, case):
    path = osp.join(vid_root, 'annotations', 'vid_train.json')
    with open(path) as f:
        content = json.load(f)
    expected = _corrupt(content, case)
    bad = osp.join(vid_root, 'annotations', 'bad.json')
    with open(bad, 'w') as f:
        json.dump(content, f)
    with pytest.raises(CocoVIDFormatError) as err:
        build(vid_root, ann='bad')
    assert bad in str(err.value) and expected in str(err.value), str(err.value)


def test_interval_clips_stay_in_one_video_within_the_interval(tmp_path):
    root = str(tmp_path)
    make_tiny_cocovid(root, 'long', frames_per_video=(30, 2), image_size=(16, 16))
    ds = build(root, ann='long', item_type='video',
               pipeline=clip_pipeline(num_frames=4, mode='interval', max_interval=5))
    random.seed(0)
    for idx in list(range(0, 30, 3)) + [30, 31]:
        out = ds[idx]
        samples = out['data_samples'].video_data_samples
        assert out['inputs'].shape == (4, 3, 16, 16)
        frame_ids = [s.frame_id for s in samples]
        assert len({s.video_id for s in samples}) == 1
        assert frame_ids == sorted(frame_ids)
        assert max(frame_ids) - min(frame_ids) <= 5
        key = out['data_samples'].key_frames_inds
        assert len(key) == 1 and frame_ids[key[0]] == ds.get_data_info(idx)['frame_id']
        assert len({s.flip for s in samples}) == 1  # one flip decision per clip
        assert {s.video_length for s in samples} == {30 if idx < 30 else 2}
        if idx < 30:
            assert len(set(frame_ids)) == 4  # distinct frames when the video allows


def test_consecutive_clips_and_det_repeats(tmp_path):
    root = str(tmp_path)
    make_tiny_cocovid(root, 'vid', frames_per_video=(7,), image_size=(16, 16))
    make_tiny_cocovid(root, 'det', frames_per_video=(3,), as_det=True, data_subdir='DET/train',
                      image_size=(16, 16), id_offset=100)
    ds = build(root, ann='vid', item_type='video',
               pipeline=clip_pipeline(num_frames=3, mode='consecutive'))
    for idx in range(7):
        ids = [s.frame_id for s in ds[idx]['data_samples'].video_data_samples]
        assert ids == list(range(ids[0], ids[0] + 3)) and ids[0] <= idx <= ids[-1]
    last = build(root, ann='vid', item_type='video',
                 pipeline=clip_pipeline(num_frames=6, mode='consecutive', key_position='last'))
    assert [s.frame_id for s in last[6]['data_samples'].video_data_samples] == [1, 2, 3, 4, 5, 6]
    # too close to the start: padded with the first frame, key still last
    assert [s.frame_id for s in last[2]['data_samples'].video_data_samples] == [0, 0, 0, 0, 1, 2]
    det = build(root, ann='det', item_type='video', load_as_video=False,
                pipeline=clip_pipeline(num_frames=4, mode='interval'))
    assert det.num_videos == 3 and len(det) == 3
    out = det[1]
    samples = out['data_samples'].video_data_samples
    assert out['inputs'].shape == (4, 3, 16, 16)
    assert {s.img_id for s in samples} == {102} and {s.video_id for s in samples} == {-103}
    assert all(torch.equal(out['inputs'][0], out['inputs'][t]) for t in range(4))


def test_clip_sampling_functions():
    rng = random.Random(3)
    frame_ids = list(range(0, 60, 2))  # every other frame annotated
    for _ in range(200):
        key = rng.randrange(len(frame_ids))
        clip = sample_interval_clip(frame_ids, key, 4, 20, rng=rng)
        fids = [frame_ids[p] for p in clip]
        assert key in clip and len(set(clip)) == 4 and fids == sorted(fids)
        assert fids[-1] - fids[0] <= 20
        last = sample_interval_clip(frame_ids, key, 4, 20, key_position='last', rng=rng)
        assert last[-1] == key and frame_ids[key] - frame_ids[last[0]] <= 20
    assert sample_interval_clip([0], 0, 3, 20, rng=rng) == [0, 0, 0]
    assert sample_interval_clip([0, 1], 1, 4, 20, rng=rng).count(1) >= 1
    for key in range(10):
        clip = sample_consecutive_clip(10, key, 6, rng=rng)
        assert clip == list(range(clip[0], clip[0] + 6)) and key in clip
    assert sample_consecutive_clip(2, 1, 4, rng=rng) == [0, 0, 0, 1]
    with pytest.raises(ValueError, match='mode'):
        TRANSFORMS.build(dict(type='VideoClipSample', mode='bilateral'))


def test_video_items_work_with_mmdet_uniform_ref_frame_sample(vid_root):
    pipeline = clip_pipeline(num_frames=1)[1:]
    pipeline.insert(0, dict(type='UniformRefFrameSample', num_ref_imgs=2, frame_range=2))
    ds = build(vid_root, item_type='video', pipeline=pipeline)
    samples = ds[4]['data_samples'].video_data_samples
    assert len(samples) == 3 and {s.video_id for s in samples} == {1}


def test_tuple_indices_are_refused(vid_root):
    ds = build(vid_root)
    with pytest.raises(TypeError, match='TrackImgSampler'):
        ds.prepare_data((0, 1))
    with pytest.raises(ValueError, match='indices'):
        build(vid_root, indices=[0, 1])
    with pytest.raises(ValueError, match='item_type'):
        build(vid_root, item_type='clip')


def test_pack_video_frame_inputs_requires_video_keys():
    pack = TRANSFORMS.build(dict(type='PackVideoFrameInputs'))
    with pytest.raises(KeyError, match=r"\['video_id', 'frame_id', 'video_length'\]"):
        pack.transform(dict(img=np.zeros((4, 4, 3), np.uint8), img_path='x.png', img_id=0))


def test_synthvid_params_call_ensure_synthvid(tmp_path, monkeypatch):
    from mmvid_memory.datasets import synthvid
    calls = []

    def fake_ensure(root, **params):
        calls.append((root, params))
        if not osp.exists(osp.join(root, 'annotations', 'synthvid_train.json')):
            make_tiny_cocovid(root, 'synthvid_train', frames_per_video=(2,))

    monkeypatch.setattr(synthvid, 'ensure_synthvid', fake_ensure)
    cfg = dict(type='SynthVIDDataset', data_root=str(tmp_path),
               ann_file='annotations/synthvid_train.json', data_prefix=dict(img_path='Data/'),
               synthvid_params=dict(seed=3), pipeline=[])
    assert len(DATASETS.build(cfg)) == 2
    assert len(DATASETS.build(cfg)) == 2
    assert calls == [(str(tmp_path), dict(seed=3))] * 2  # checked at every build


def test_synthvid_generator_output_reads(tmp_path):
    from mmvid_memory.datasets.synthvid import SYNTHVID_CLASS_NAMES, ensure_synthvid
    root = str(tmp_path / 'synthvid')
    params = dict(train_videos=2, val_videos=1, frames=4, size=64, seed=1)
    ensure_synthvid(root, progress=False, workers=1, **params)
    ds = DATASETS.build(dict(type='SynthVIDDataset', data_root=root,
                             ann_file='annotations/synthvid_val.json',
                             data_prefix=dict(img_path='Data/'), test_mode=True,
                             synthvid_params=params, pipeline=FRAME_PIPELINE))
    assert ds.metainfo['classes'] == tuple(SYNTHVID_CLASS_NAMES)
    out = ds[len(ds) - 1]
    assert out['inputs'].shape == (3, 64, 64)
    assert out['data_samples'].frame_id == out['data_samples'].video_length - 1


# ------------------------------------------------------------ base configs
def _fast_loader(loader_cfg, root):
    cfg = copy.deepcopy(loader_cfg)
    cfg.pop('_delete_', None)
    cfg.update(num_workers=0, persistent_workers=False)

    def set_root(node):
        if isinstance(node, dict):
            if 'data_root' in node:
                node['data_root'] = root
                # the fake root stands in for generated SynthVID
                node.pop('synthvid_params', None)
            for value in node.values():
                set_root(value)
        elif isinstance(node, list):
            for value in node:
                set_root(value)
    set_root(cfg)
    return Runner.build_dataloader(cfg, seed=0)


def _check_clip_batch(batch, num_frames, batch_size):
    assert len(batch['inputs']) == batch_size
    for clip, sample in zip(batch['inputs'], batch['data_samples']):
        assert isinstance(sample, TrackDataSample) and clip.shape[0] == num_frames
        frame_ids = [s.frame_id for s in sample.video_data_samples]
        assert frame_ids == sorted(frame_ids)
        assert len({s.video_id for s in sample.video_data_samples}) == 1
        for s in sample.video_data_samples:
            assert 'instances_ids' in s.gt_instances and 'video_length' in s.metainfo
    preprocessor = MODELS.build(dict(type='VideoDataPreprocessor', pad_size_divisor=16))
    out = preprocessor(batch, training=True)
    assert out['inputs'].shape[:3] == (batch_size, num_frames, 3)


def test_synthvid_config_builds_every_loader(tmp_path):
    root = str(tmp_path)
    make_tiny_cocovid(root, 'synthvid_train', frames_per_video=(8, 6), image_size=(40, 40))
    make_tiny_cocovid(root, 'synthvid_val', frames_per_video=(3, 2), image_size=(40, 40),
                      data_subdir='VID/val')
    cfg = Config.fromfile(osp.join(REPO, 'configs/_base_/datasets/synthvid.py'))
    assert cfg.train_dataloader.dataset.synthvid_params == {}
    batch = next(iter(_fast_loader(cfg.train_dataloader, root)))
    assert len(batch['inputs']) == 4 and isinstance(batch['data_samples'][0], DetDataSample)
    assert batch['inputs'][0].shape == (3, 160, 160)  # keep-ratio 160
    for name, frames, size in (('ogem', 4, 2), ('memnet3', 3, 2), ('memnet6', 6, 1)):
        loader = _fast_loader(cfg[f'{name}_train_dataloader'], root)
        _check_clip_batch(next(iter(loader)), frames, size)
    val = _fast_loader(cfg.val_dataloader, root)
    metas = [b['data_samples'][0].metainfo for b in val]
    assert [(m['video_id'], m['frame_id']) for m in metas] == [
        (1, 0), (1, 1), (1, 2), (2, 0), (2, 1)]
    # ground truth in original coordinates (annotations loaded after Resize)
    first = next(iter(val))['data_samples'][0]
    assert first.gt_instances.bboxes.tolist() == [[2.0, 4.0, 18.0, 16.0]]
    assert first.scale_factor == (4.0, 4.0)


def test_imagenet_vid_config_mixes_vid_and_det(tmp_path):
    root = str(tmp_path)
    make_tiny_cocovid(root, 'imagenet_vid_train', frames_per_video=(20, 20),
                      classes=('airplane', 'antelope'), image_size=(30, 50))
    make_tiny_cocovid(root, 'imagenet_det_30cls', frames_per_video=(6,), as_det=True,
                      classes=('airplane', 'antelope'), image_size=(30, 50),
                      data_subdir='DET/train', id_offset=10000)
    make_tiny_cocovid(root, 'imagenet_vid_val', frames_per_video=(2,),
                      classes=('airplane', 'antelope'), image_size=(30, 50),
                      data_subdir='VID/val', id_offset=20000)
    cfg = Config.fromfile(osp.join(REPO, 'configs/_base_/datasets/imagenet_vid_fgfa_style.py'))
    meta = dict(classes=('airplane', 'antelope'))
    for key in ('train_dataloader', 'ogem_train_dataloader', 'memnet6_train_dataloader'):
        for ds_cfg in cfg[key].dataset.datasets:
            ds_cfg.metainfo = meta
    cfg.val_dataloader.dataset.metainfo = meta
    loader = _fast_loader(cfg.train_dataloader, root)
    concat = loader.dataset
    assert [len(d) for d in concat.datasets] == [30, 6]  # 15 key frames per VID video
    sampler = loader.sampler
    assert sampler.source_counts == [18, 18]
    order = list(sampler)
    assert len(order) == 36 and sum(i >= 30 for i in order) == 18
    first_det = order.index(next(i for i in order if i >= 30))
    for b, batch in enumerate(loader):
        meta = batch['data_samples'][0].metainfo
        assert (meta['video_id'] < 0) == (order[b] >= 30)  # DET: one-frame videos
        assert meta['img_shape'] == (600, 1000)  # 30 x 50 -> shorter side 600
        if b >= first_det:
            break
    _check_clip_batch(next(iter(_fast_loader(cfg.ogem_train_dataloader, root))), 4, 1)
    _check_clip_batch(next(iter(_fast_loader(cfg.memnet6_train_dataloader, root))), 6, 1)
    val = list(_fast_loader(cfg.val_dataloader, root))
    assert [b['data_samples'][0].frame_id for b in val] == [0, 1]
