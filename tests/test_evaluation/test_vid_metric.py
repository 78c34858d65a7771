"""VIDMetric on data samples, from an annotation file, and under a real 2-rank test."""
import json
import os.path as osp
import socket

import numpy as np
import pytest
import torch
from mmdet.registry import DATASETS, METRICS
from mmdet.structures import DetDataSample
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData

import mmvid_memory  # noqa: F401
from mmvid_memory.datasets.tiny_cocovid import make_tiny_cocovid
from mmvid_memory.evaluation.functional import (FGFA_MOTION_RANGES, evaluate_vid_detections,
                                                motion_ious)
from mmvid_memory.evaluation.metrics import vid_metric as vid_metric_module

CLASSES = ('circle', 'square', 'triangle')
TEST_PIPELINE = [dict(type='LoadImageFromFile'), dict(type='Resize', scale=(32, 32),
                                                      keep_ratio=True),
                 dict(type='LoadTrackAnnotations'), dict(type='PackVideoFrameInputs')]


def sample(img_id, video_id, frame_id, gt, dets, track_ids=None):
    """gt: [(box, label)], dets: [(box, score, label)]."""
    s = DetDataSample(metainfo=dict(img_id=img_id, video_id=video_id, frame_id=frame_id,
                                    img_path=f'{img_id}.png', scale_factor=(0.5, 0.5)))
    s.gt_instances = InstanceData(
        bboxes=torch.tensor([g[0] for g in gt], dtype=torch.float32).reshape(-1, 4),
        labels=torch.tensor([g[1] for g in gt], dtype=torch.long))
    if track_ids is not None:
        s.gt_instances.instances_ids = torch.tensor(track_ids, dtype=torch.int32)
    s.pred_instances = InstanceData(
        bboxes=torch.tensor([d[0] for d in dets], dtype=torch.float32).reshape(-1, 4),
        scores=torch.tensor([d[1] for d in dets], dtype=torch.float32),
        labels=torch.tensor([d[2] for d in dets], dtype=torch.long))
    return s


def hand_samples():
    """Video 1: a still object (slow) and one moving 5 px per frame (fast)."""
    samples = []
    for f in range(3):
        still, moving = [0, 0, 10, 10], [20 + 5 * f, 0, 30 + 5 * f, 10]
        dets = [(still, 0.9, 0), ([20 + 5 * f, 1, 30 + 5 * f, 11], 0.8 - 0.1 * f, 1)]
        if f == 1:
            dets.append(([60, 60, 70, 70], 0.85, 1))  # a false positive
        samples.append(sample(f + 1, 1, f, [(still, 0), (moving, 1)], dets, [0, 1]))
    samples.append(sample(4, 2, 0, [], [([0, 0, 5, 5], 0.3, 2)], []))  # no objects
    return samples


def test_metric_matches_the_functions_and_logs_a_table(monkeypatch):
    logged = []
    monkeypatch.setattr(vid_metric_module, 'print_log', lambda msg, **kw: logged.append(msg))
    metric = METRICS.build(dict(type='VIDMetric', classwise=True))
    metric.dataset_meta = dict(classes=CLASSES)
    samples = hand_samples()
    metric.process({}, [s.to_dict() for s in samples[:2]])
    metric.process({}, [s.to_dict() for s in samples[1:]])  # frame 2 twice: counted once
    metrics = metric.evaluate(size=5)
    assert set(metrics) == {'vid/mAP', 'vid/mAP_slow', 'vid/mAP_medium', 'vid/mAP_fast',
                            'vid/AP_circle', 'vid/AP_square', 'vid/AP_triangle'}
    # By hand: the still object (motion IoU 1: slow) is found in every frame,
    # AP 1. The moving one (motion IoU 1/6, 1/3, 1/6: fast) is found with IoU
    # 0.82 in every frame, after a higher-scored FP in frame 1: FP .85, TP .8,
    # TP .7, TP .6 -> precision 1/2, 2/3, 3/4 at recall 1/3, 2/3, 1 -> AP 3/4.
    ap_moving = 0.75
    assert metrics['vid/AP_circle'] == pytest.approx(1.0)
    assert metrics['vid/AP_square'] == pytest.approx(ap_moving)
    assert np.isnan(metrics['vid/AP_triangle'])
    assert metrics['vid/mAP'] == pytest.approx((1 + ap_moving) / 2)
    assert metrics['vid/mAP_slow'] == pytest.approx(1.0)
    # In the fast split the FP overlaps no box, the frame also holds the
    # (ignored) slow object: a tie, weighing 1/2 -> precision 3 / 3.5.
    assert metrics['vid/mAP_fast'] == pytest.approx(3 / 3.5)
    assert np.isnan(metrics['vid/mAP_medium'])
    table = logged[-1]
    assert 'AP slow' in table and 'square' in table and f'{100 * ap_moving:.1f}' in table


def test_metric_equals_pure_function():
    metric = METRICS.build(dict(type='VIDMetric'))
    metric.dataset_meta = dict(classes=CLASSES)
    samples = hand_samples()
    metric.process({}, [s.to_dict() for s in samples])
    metrics = metric.compute_metrics(metric.results)
    frames = []
    for s in samples:
        frames.append(dict(det_bboxes=s.pred_instances.bboxes.numpy(),
                           det_scores=s.pred_instances.scores.numpy(),
                           det_labels=s.pred_instances.labels.numpy(),
                           gt_bboxes=s.gt_instances.bboxes.numpy(),
                           gt_labels=s.gt_instances.labels.numpy()))
    boxes = np.concatenate([f['gt_bboxes'] for f in frames])
    video = [s.video_id for s in samples for _ in range(len(s.gt_instances))]
    fid = np.concatenate([[s.frame_id] * len(s.gt_instances) for s in samples])
    tid = np.concatenate([s.gt_instances.instances_ids.numpy() for s in samples])
    values = np.split(motion_ious(video, tid, fid, boxes), np.cumsum([len(f['gt_labels'])
                                                                      for f in frames])[:-1])
    for f, v in zip(frames, values):
        f['gt_motion_iou'] = v
    expected = evaluate_vid_detections(frames, 3, motion_ranges=FGFA_MOTION_RANGES)
    assert metrics['mAP'] == pytest.approx(expected['all']['mAP'])
    assert metrics['mAP_fast'] == pytest.approx(expected['fast']['mAP'])


def test_metric_asks_for_track_ids():
    metric = METRICS.build(dict(type='VIDMetric'))
    s = sample(1, 1, 0, [([0, 0, 4, 4], 0)], [])
    with pytest.raises(KeyError, match='instances_ids'):
        metric.process({}, [s.to_dict()])
    plain = METRICS.build(dict(type='VIDMetric', motion_splits=False))
    plain.dataset_meta = dict(classes=CLASSES)
    plain.process({}, [s.to_dict()])
    assert set(plain.evaluate(size=1)) == {'vid/mAP'}


def fake_predictions(data_sample: DetDataSample) -> DetDataSample:
    """Ground truth shifted by a frame-dependent offset, plus a false positive."""
    gt = data_sample.gt_instances
    shift = float(data_sample.frame_id % 3)
    boxes = torch.cat([gt.bboxes + shift, torch.tensor([[1.0, 30.0, 9.0, 38.0]])])
    scores = torch.cat([torch.linspace(0.9, 0.5, len(gt)),
                        torch.tensor([0.95 if data_sample.img_id % 2 else 0.2])])
    data_sample.pred_instances = InstanceData(
        bboxes=boxes, scores=scores, labels=torch.cat([gt.labels, torch.tensor([0])]))
    return data_sample


def run_test_split(root: str, rank: int, world_size: int) -> dict:
    """One rank of a test run: sharded frames, metric gathered over ranks."""
    init_default_scope('mmdet')
    dataset = DATASETS.build(dict(
        type='ImageNetVIDDataset', data_root=root, ann_file='annotations/val.json',
        data_prefix=dict(img_path='Data/'), metainfo=dict(classes=CLASSES), test_mode=True,
        pipeline=TEST_PIPELINE))
    from mmvid_memory.datasets import VideoShardSampler
    sampler = VideoShardSampler(dataset)
    metric = METRICS.build(dict(type='VIDMetric'))
    metric.dataset_meta = dataset.metainfo
    for idx in sampler:
        data_sample = fake_predictions(dataset[idx]['data_samples'])
        metric.process({}, [data_sample.to_dict()])
    return metric.evaluate(size=len(dataset)), len(sampler)


def _dist_worker(rank, world_size, port, root, out_path):
    import torch.distributed as dist
    dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank,
                            world_size=world_size)
    try:
        metrics, num_frames = run_test_split(root, rank, world_size)
        gathered = [None] * world_size
        dist.all_gather_object(gathered, num_frames)
        if rank == 0:
            with open(out_path, 'w') as f:
                json.dump(dict(metrics=metrics, frames=gathered), f)
    finally:
        dist.destroy_process_group()


@pytest.fixture(scope='module')
def val_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('vidmetric'))
    make_tiny_cocovid(root, 'val', frames_per_video=(6, 2, 5), image_size=(40, 48),
                      data_subdir='VID/val', empty_frames=[(1, 1)])
    return root


def test_metric_from_ann_file_equals_metric_from_samples(val_root):
    with_file = METRICS.build(dict(type='VIDMetric',
                                   ann_file=osp.join(val_root, 'annotations/val.json')))
    init_default_scope('mmdet')
    dataset = DATASETS.build(dict(
        type='ImageNetVIDDataset', data_root=val_root, ann_file='annotations/val.json',
        data_prefix=dict(img_path='Data/'), metainfo=dict(classes=CLASSES), test_mode=True,
        pipeline=TEST_PIPELINE))
    with_file.dataset_meta = dataset.metainfo
    for idx in range(len(dataset) - 1):  # the last frame has no prediction: a miss
        with_file.process({}, [fake_predictions(dataset[idx]['data_samples']).to_dict()])
    from_file = with_file.evaluate(size=len(dataset))
    reference, _ = run_test_split(val_root, 0, 1)
    assert from_file['vid/mAP'] < reference['vid/mAP']
    with_file.process({}, [fake_predictions(dataset[len(dataset) - 1]['data_samples']).to_dict()])
    for idx in range(len(dataset) - 1):
        with_file.process({}, [fake_predictions(dataset[idx]['data_samples']).to_dict()])
    assert with_file.evaluate(size=len(dataset)) == pytest.approx(reference, nan_ok=True)


def test_metric_under_two_real_ranks(val_root, tmp_path):
    reference, _ = run_test_split(val_root, 0, 1)
    assert 0 < reference['vid/mAP'] < 1  # the false positives cost something
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    out_path = str(tmp_path / 'rank0.json')
    # fork: the ranks inherit the imported modules (a spawn re-imports torch
    # and mmdet in each rank); nothing here has touched CUDA.
    torch.multiprocessing.start_processes(_dist_worker, args=(2, port, val_root, out_path),
                                          nprocs=2, join=True, start_method='fork')
    with open(out_path) as f:
        result = json.load(f)
    assert result['frames'] == [6, 7]  # whole videos: (6) and (2, 5)
    for key, value in reference.items():
        if np.isnan(value):
            assert result['metrics'][key] is None or np.isnan(result['metrics'][key])
        else:
            assert result['metrics'][key] == pytest.approx(value)


def test_metric_scores_only_frames_delta_after_evidence():
    """Seed 003 Table 2: only frames exactly delta after the last evidence count."""
    samples = hand_samples()[:3]
    for s, gap in zip(samples, (0, 1, 0)):
        s.set_metainfo(dict(frames_since_evidence=gap))
    only_gap1 = METRICS.build(dict(type='VIDMetric', frames_since_evidence=1, motion_splits=False))
    only_gap1.dataset_meta = dict(classes=CLASSES)
    only_gap1.process({}, [s.to_dict() for s in samples])
    # Frame 1 alone: the FP (.85) outranks the moving object's TP (.7) -> AP 1/2.
    metrics = only_gap1.compute_metrics(only_gap1.results)
    assert metrics['mAP'] == pytest.approx((1.0 + 0.5) / 2)
    only_gap0 = METRICS.build(dict(type='VIDMetric', frames_since_evidence=0, motion_splits=False))
    only_gap0.dataset_meta = dict(classes=CLASSES)
    only_gap0.process({}, [s.to_dict() for s in samples])
    assert only_gap0.compute_metrics(only_gap0.results)['mAP'] == pytest.approx(1.0)


def test_metric_frames_since_evidence_needs_the_metainfo():
    metric = METRICS.build(dict(type='VIDMetric', frames_since_evidence=4))
    with pytest.raises(KeyError, match='frames_since_evidence'):
        metric.process({}, [hand_samples()[0].to_dict()])
    with pytest.raises(ValueError, match='>= 0'):
        METRICS.build(dict(type='VIDMetric', frames_since_evidence=-1))
