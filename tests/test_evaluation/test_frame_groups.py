"""AP on frame groups (degraded against clean frames) and the group files."""
import json

import numpy as np
import pytest
from mmdet.registry import METRICS

from mmvid_memory.datasets.synthvid.degradation import degradation_frame_groups, is_degraded
from mmvid_memory.evaluation.functional import frame_group_members, load_frame_groups
from mmvid_memory.evaluation.metrics import vid_metric as vid_metric_module

from .test_vid_metric import CLASSES, sample


def two_frame_samples():
    """Frame 1 (clean): a circle found at 0.9. Frame 2 (degraded): a square
    missed, a false square at 0.95 and the circle found at 0.6."""
    circle, square = [0, 0, 10, 10], [20, 20, 30, 30]
    clean = sample(1, 1, 0, [(circle, 0), (square, 1)],
                   [(circle, 0.9, 0), (square, 0.8, 1)], [0, 1])
    clean.set_metainfo(dict(img_path='/data/x/Data/VID/val/v0/000000.JPEG'))
    degraded = sample(2, 1, 1, [(circle, 0), (square, 1)],
                      [([60, 60, 70, 70], 0.95, 1), (circle, 0.6, 0)], [0, 1])
    degraded.set_metainfo(dict(img_path='/data/x/Data/VID/val/v0/000001.JPEG'))
    return [clean, degraded]


def evaluate(metric, samples):
    metric.dataset_meta = dict(classes=CLASSES)
    metric.process({}, [s.to_dict() for s in samples])
    return metric.evaluate(size=len(samples))


def test_group_map_by_hand_with_ids_and_file_names(tmp_path, monkeypatch):
    monkeypatch.setattr(vid_metric_module, 'print_log', lambda *a, **k: None)
    path = tmp_path / 'groups.json'
    # Clean by image id, degraded by a CocoVID file name (a path suffix).
    path.write_text(json.dumps({'groups': {'clean': [1], 'degraded': ['VID/val/v0/000001.JPEG']}}))
    metrics = evaluate(METRICS.build(dict(type='VIDMetric', frame_groups=str(path))),
                       two_frame_samples())
    # Clean frame: both objects found first -> AP 1 for both classes.
    assert metrics['vid/mAP_clean'] == pytest.approx(1.0)
    # Degraded frame: circle found (AP 1); the square's only detection is an
    # FP and the square is missed (AP 0) -> mAP 1/2.
    assert metrics['vid/mAP_degraded'] == pytest.approx(0.5)
    assert metrics['vid/frames_clean'] == 1 and metrics['vid/frames_degraded'] == 1
    # Over both frames: circle AP 1; square: FP .95, TP .8 of 2 -> P 1/2 at R 1/2, AP 1/4.
    assert metrics['vid/mAP'] == pytest.approx((1 + 0.25) / 2)


def test_dataset_groups_are_used_and_can_be_switched_off(monkeypatch):
    monkeypatch.setattr(vid_metric_module, 'print_log', lambda *a, **k: None)
    metric = METRICS.build(dict(type='VIDMetric'))
    metric.dataset_meta = dict(classes=CLASSES, frame_groups=dict(degraded=[2], clean=[1]))
    metric.process({}, [s.to_dict() for s in two_frame_samples()])
    metrics = metric.evaluate(size=2)
    assert metrics['vid/mAP_degraded'] == pytest.approx(0.5)
    off = METRICS.build(dict(type='VIDMetric', frame_groups=False))
    off.dataset_meta = dict(classes=CLASSES, frame_groups=dict(degraded=[2]))
    off.process({}, [s.to_dict() for s in two_frame_samples()])
    assert 'vid/mAP_degraded' not in off.evaluate(size=2)


def test_group_file_errors(tmp_path):
    bad = tmp_path / 'bad.json'
    bad.write_text('{"groups": {"fast": [1]}}')
    with pytest.raises(ValueError, match="'fast' is taken"):
        METRICS.build(dict(type='VIDMetric', frame_groups=str(bad)))
    bad.write_text('{"groups": {"my group": [1]}}')
    with pytest.raises(ValueError, match='identifier'):
        load_frame_groups(str(bad))
    bad.write_text('{"groups": {"a": [1.5]}}')
    with pytest.raises(ValueError, match='image ids'):
        load_frame_groups(str(bad))
    bad.write_text('[1, 2]')
    with pytest.raises(ValueError, match='must hold'):
        load_frame_groups(str(bad))
    bad.write_text('{not json')
    with pytest.raises(ValueError, match='not valid JSON'):
        load_frame_groups(str(bad))
    with pytest.raises(FileNotFoundError, match='missing.json'):
        load_frame_groups(str(tmp_path / 'missing.json'))


def test_groups_of_another_data_set_are_an_error():
    frames = [dict(img_id=7, img_path='a/b/000000.JPEG')]
    with pytest.raises(ValueError, match='none of the 1 evaluated frames'):
        frame_group_members(frames, dict(g=[1, 'b/000001.JPEG']), 'test')
    # Whole path components only: 'b/000000.JPEG' matches, '00000.JPEG' does not.
    assert frame_group_members(frames, dict(g=['b/000000.JPEG'], h=['00000.JPEG', 3]),
                               'test') == dict(g=[0], h=[])


def test_synthvid_degradation_groups():
    clean = dict(id=1, defocus=0.0, shake_blur=0.0, exposure=2.0, gain=1.0, noise=0.01)
    cases = [dict(clean, id=2, defocus=0.75), dict(clean, id=3, shake_blur=1.0),
             dict(clean, id=4, noise=0.05), dict(clean, id=5, gain=0.59),
             dict(clean, id=6, exposure=4.01)]
    assert not is_degraded(clean)
    assert all(is_degraded(c) for c in cases)
    near = [dict(clean, id=7, defocus=0.74, shake_blur=0.99, noise=0.049, gain=0.6, exposure=4.0)]
    groups = degradation_frame_groups(dict(images=[clean] + cases + near))
    assert groups == dict(degraded=[2, 3, 4, 5, 6], clean=[1, 7])
    with pytest.raises(KeyError, match="'noise'"):
        is_degraded(dict(id=1, defocus=0, shake_blur=0, exposure=0, gain=1))


def test_synthvid_dataset_carries_its_groups(tmp_path):
    from mmvid_memory.datasets.synthvid import ensure_synthvid
    from mmvid_memory.datasets.synthvid_dataset import SynthVIDDataset
    root = tmp_path / 'synthvid'
    ensure_synthvid(str(root), train_videos=1, val_videos=2, frames=6, size=64, workers=1,
                    progress=False)
    dataset = SynthVIDDataset(data_root=str(root), ann_file='annotations/synthvid_val.json',
                              data_prefix=dict(img_path='Data/'), test_mode=True, pipeline=[])
    groups = dataset.metainfo['frame_groups']
    conditions = json.loads((root / 'annotations/synthvid_val_conditions.json').read_text())
    ids = sorted(c['id'] for c in conditions['images'])
    assert sorted(groups['degraded'] + groups['clean']) == ids
    assert set(groups['degraded']) == {c['id'] for c in conditions['images'] if is_degraded(c)}
    assert np.all([dataset.get_data_info(i)['img_id'] in ids for i in range(len(dataset))])
