"""The VID AP functions, checked against numbers worked out by hand."""
import math

import numpy as np
import pytest

from mmvid_memory.evaluation.functional import (FGFA_MOTION_RANGES, bbox_iou_matrix,
                                                devkit_average_precision,
                                                evaluate_vid_detections, greedy_match,
                                                ilsvrc_iou_thresholds, motion_ious, split_tp_fp)


def frame(dets=(), gts=(), motion=None, ignore=None):
    """dets: (box, score, label); gts: (box, label)."""
    record = dict(
        det_bboxes=np.array([d[0] for d in dets], np.float64).reshape(-1, 4),
        det_scores=np.array([d[1] for d in dets], np.float64),
        det_labels=np.array([d[2] for d in dets], np.int64),
        gt_bboxes=np.array([g[0] for g in gts], np.float64).reshape(-1, 4),
        gt_labels=np.array([g[1] for g in gts], np.int64))
    if motion is not None:
        record['gt_motion_iou'] = np.array(motion, np.float64)
    if ignore is not None:
        record['gt_ignore'] = np.array(ignore, bool)
    return record


def test_iou_and_small_object_thresholds():
    ious = bbox_iou_matrix([[0, 0, 10, 10]], [[5, 0, 15, 10], [0, 0, 10, 10], [20, 20, 30, 30]])
    np.testing.assert_allclose(ious, [[1 / 3, 1.0, 0.0]])
    # devkit convention: inclusive pixel boxes, 10 px wide
    np.testing.assert_allclose(bbox_iou_matrix([[0, 0, 9, 9]], [[5, 0, 14, 9]], 1.0), [[1 / 3]])
    thr = ilsvrc_iou_thresholds(np.array([[0, 0, 10, 10], [0, 0, 100, 200]]))
    np.testing.assert_allclose(thr, [100 / 400, 0.5])
    np.testing.assert_allclose(ilsvrc_iou_thresholds(np.array([[0, 0, 10, 10]]),
                                                     pixel_tolerance=0), [0.5])


def test_devkit_average_precision():
    assert devkit_average_precision([0.5, 0.5, 1.0], [1.0, 0.5, 2 / 3]) == pytest.approx(5 / 6)
    # the envelope lifts precision to the best at higher recall
    assert devkit_average_precision([0.25, 0.5, 0.75, 1.0],
                                    [1.0, 0.5, 0.75, 0.8]) == pytest.approx(0.85)
    assert devkit_average_precision([], []) == 0.0


def test_duplicates_are_false_positives():
    box = [0, 0, 20, 20]
    frames = [frame(dets=[(box, 0.9, 0), ([1, 0, 21, 20], 0.8, 0)], gts=[(box, 0)]),
              frame(dets=[(box, 0.7, 0)], gts=[(box, 0)])]
    # TP, FP (same object again), TP: recall .5 .5 1, precision 1 .5 2/3
    result = evaluate_vid_detections(frames, num_classes=1)['all']
    assert result['ap'][0] == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)
    assert result['num_pos'].tolist() == [2] and result['num_dets'].tolist() == [3]


def test_small_object_rule():
    small, large = [0, 0, 10, 10], [0, 0, 100, 100]
    frames = [frame(dets=[([5, 0, 15, 10], 0.9, 0)], gts=[(small, 0)]),  # IoU 1/3 >= 0.25
              frame(dets=[([50, 0, 150, 100], 0.9, 1)], gts=[(large, 1)])]  # IoU 1/3 < 0.5
    aps = evaluate_vid_detections(frames, num_classes=2)['all']['ap']
    np.testing.assert_allclose(aps, [1.0, 0.0])
    strict = evaluate_vid_detections(frames, num_classes=2, pixel_tolerance=0)['all']['ap']
    np.testing.assert_allclose(strict, [0.0, 0.0])


def test_frame_without_gt_and_classes_without_dets_or_gts():
    box = [0, 0, 20, 20]
    frames = [frame(dets=[(box, 0.6, 0)], gts=[(box, 0), ([30, 30, 50, 50], 1)]),
              frame(dets=[(box, 0.95, 0), (box, 0.5, 2)])]  # no ground truth here
    result = evaluate_vid_detections(frames, num_classes=3)['all']
    # class 0: FP (empty frame, higher score) then TP -> precision .5 at recall 1
    assert result['ap'][0] == pytest.approx(0.5)
    assert result['ap'][1] == 0.0  # ground truth, no detection
    assert math.isnan(result['ap'][2])  # no ground truth: left out of the mean
    assert result['mAP'] == pytest.approx(0.25)


def test_greedy_matching_by_score_then_iou():
    gts = np.array([[0, 0, 20, 20], [2, 0, 22, 20]], np.float64)
    dets = np.array([[2, 0, 22, 20], [0, 0, 20, 20]], np.float64)
    matched = greedy_match(bbox_iou_matrix(dets, gts), np.array([0.9, 0.8]), np.array([0, 0]),
                           np.array([0, 0]), ilsvrc_iou_thresholds(gts))
    assert matched.tolist() == [1, 0]  # each takes its best free box
    gt = np.array([[0, 0, 20, 20]], np.float64)
    dets = np.array([[4, 0, 24, 20], [0, 0, 20, 20], [0, 0, 20, 20]], np.float64)
    matched = greedy_match(bbox_iou_matrix(dets, gt), np.array([0.9, 0.5, 0.95]),
                           np.array([0, 0, 1]), np.array([0]), ilsvrc_iou_thresholds(gt))
    # the higher score wins even with a lower IoU; another class never matches
    assert matched.tolist() == [0, -1, -1]


def test_motion_ious_on_hand_made_tracks():
    rows = [  # video, instance, frame, box
        (1, 0, 0, [0, 0, 10, 10]), (1, 0, 1, [0, 0, 10, 10]), (1, 0, 2, [0, 0, 10, 10]),
        (1, 1, 0, [0, 0, 10, 10]), (1, 1, 1, [5, 0, 15, 10]), (1, 1, 2, [10, 0, 20, 10]),
        (2, 0, 0, [0, 0, 10, 10]), (2, 0, 11, [5, 0, 15, 10]),  # 11 frames apart
        (3, 4, 7, [0, 0, 10, 10]),  # alone
    ]
    order = [4, 8, 0, 6, 2, 5, 1, 7, 3]  # input order must not matter
    rows = [rows[i] for i in order]
    video, inst, fid, boxes = (list(x) for x in zip(*rows))
    values = motion_ious(video, np.array(inst), np.array(fid), np.array(boxes, np.float64))
    expected = {(1, 0): [1, 1, 1], (1, 1): [1 / 6, 1 / 3, 1 / 6], (2, 0): [0, 0], (3, 4): [0]}
    for (v, i, f, _), value in zip(rows, values):
        frames_of_track = sorted(ff for vv, ii, ff, _ in rows if (vv, ii) == (v, i))
        assert value == pytest.approx(expected[(v, i)][frames_of_track.index(f)])
    wider = motion_ious(video, np.array(inst), np.array(fid), np.array(boxes, np.float64),
                        frame_range=11)
    assert wider[order.index(6)] == pytest.approx(1 / 3)


def split_frames():
    slow_gt, fast_gt = [0, 0, 20, 20], [50, 50, 70, 70]
    return [
        frame(dets=[([100, 100, 110, 110], 0.95, 0),  # overlaps nothing: a tie
                    (slow_gt, 0.9, 0),  # TP on the slow object
                    ([60, 60, 80, 80], 0.85, 0),  # IoU 1/7 with the fast object only
                    (fast_gt, 0.7, 0)],  # TP on the fast object
              gts=[(slow_gt, 0), (fast_gt, 0)], motion=[0.95, 0.3]),
        frame(dets=[([0, 0, 5, 5], 0.75, 0)], gts=[], motion=[]),  # frame without objects
    ]


def test_motion_splits_follow_fgfa():
    result = evaluate_vid_detections(split_frames(), 1, motion_ranges=FGFA_MOTION_RANGES)
    # all: FP TP FP FP TP -> envelope .5 up to recall .5, then .4
    assert result['all']['ap'][0] == pytest.approx(0.5 * 0.5 + 0.5 * 0.4)
    # slow: tie weighs 1/2 (share of the frame's boxes outside the split), the
    # detection near the fast object is ignored, the empty frame weighs 1/2
    # (share of all boxes in the split), the fast TP is ignored -> TP at
    # cumulative FP 0.5: precision 2/3
    assert result['slow']['ap'][0] == pytest.approx(2 / 3)
    # fast: 0.5 (tie), ignored (slow TP), 1 (near fast), 0.5 (empty) -> 1 / 3
    assert result['fast']['ap'][0] == pytest.approx(1 / 3)
    assert result['slow']['num_pos'].tolist() == [1] == result['fast']['num_pos'].tolist()
    assert math.isnan(result['medium']['mAP'])  # no medium object


def test_motion_splits_strict_rule():
    result = evaluate_vid_detections(split_frames(), 1, motion_ranges=FGFA_MOTION_RANGES,
                                     split_fp_rule='strict')
    assert result['slow']['ap'][0] == pytest.approx(0.5)
    assert result['fast']['ap'][0] == pytest.approx(0.25)
    assert result['all']['ap'][0] == pytest.approx(0.45)


def test_split_bounds_are_inclusive_like_fgfa():
    frames = [frame(dets=[([0, 0, 20, 20], 0.9, 0)], gts=[([0, 0, 20, 20], 0)], motion=[0.7])]
    result = evaluate_vid_detections(frames, 1, motion_ranges=FGFA_MOTION_RANGES)
    assert result['fast']['ap'][0] == 1.0 and result['medium']['ap'][0] == 1.0
    assert math.isnan(result['slow']['ap'][0])


def test_ignored_ground_truth():
    box = [0, 0, 20, 20]
    frames = [frame(dets=[(box, 0.9, 0), ([40, 0, 60, 20], 0.8, 0)],
                    gts=[(box, 0), ([40, 0, 60, 20], 0)], ignore=[True, False])]
    result = evaluate_vid_detections(frames, 1)['all']
    assert result['num_pos'].tolist() == [1] and result['ap'][0] == 1.0
    tp, fp = split_tp_fp(np.zeros((1, 0)), np.array([-1]), np.zeros(0, bool), 0.25)
    assert tp.tolist() == [0.0] and fp.tolist() == [0.25]


def test_bad_records_are_named():
    bad = frame(dets=[([0, 0, 1, 1], 0.5, 0)])
    bad['det_scores'] = np.zeros(2)
    bad['img_id'] = 17
    with pytest.raises(ValueError, match='frame 17: 1 det boxes, 2 scores'):
        evaluate_vid_detections([bad], 1)
    with pytest.raises(KeyError, match='gt_motion_iou'):
        evaluate_vid_detections([frame()], 1, motion_ranges=FGFA_MOTION_RANGES)


def test_tie_weight_is_fgfa_share_of_boxes_outside_the_split():
    ious = np.zeros((1, 3))  # the detection overlaps none of three boxes
    tp, fp = split_tp_fp(ious, np.array([-1]), np.array([True, False, False]))
    assert tp.tolist() == [0.0] and fp[0] == pytest.approx(2 / 3)
    ious = np.array([[0.0, 0.2, 0.1]])  # overlaps an ignored box most: not counted
    assert split_tp_fp(ious, np.array([-1]), np.array([True, False, False]))[1][0] == 0.0
    ious = np.array([[0.3, 0.2, 0.1]])  # overlaps an in-split box most: FP
    assert split_tp_fp(ious, np.array([-1]), np.array([True, False, False]))[1][0] == 1.0


def _float64_iou(b1, b2, offset):
    """Reference IoU in float64, written out, to bound mmdet's float32 result."""
    area1 = (b1[:, 2] - b1[:, 0] + offset) * (b1[:, 3] - b1[:, 1] + offset)
    area2 = (b2[:, 2] - b2[:, 0] + offset) * (b2[:, 3] - b2[:, 1] + offset)
    iw = np.clip(np.minimum(b1[:, None, 2], b2[None, :, 2])
                 - np.maximum(b1[:, None, 0], b2[None, :, 0]) + offset, 0, None)
    ih = np.clip(np.minimum(b1[:, None, 3], b2[None, :, 3])
                 - np.maximum(b1[:, None, 1], b2[None, :, 1]) + offset, 0, None)
    inter = iw * ih
    return inter / (area1[:, None] + area2[None, :] - inter)


@pytest.mark.parametrize('offset', [0, 1])
def test_library_iou_is_float64_within_1e6(offset):
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 1000, (2, 60, 2))
    wh = rng.uniform(1, 300, (2, 60, 2))
    b1, b2 = (np.concatenate([xy[i], xy[i] + wh[i]], axis=1) for i in range(2))
    got = bbox_iou_matrix(b1, b2, offset)
    assert got.dtype == np.float64 and got.shape == (60, 60)
    assert np.abs(got - _float64_iou(b1, b2, offset)).max() < 1e-6
    assert bbox_iou_matrix(np.zeros((0, 4)), b2).shape == (0, 60)
    with pytest.raises(ValueError, match='pixel_offset'):
        bbox_iou_matrix(b1, b2, 0.5)


def test_library_average_precision_matches_the_devkit_envelope():
    """mmdet's 'area' AP against the devkit's VOCap loop, on random curves."""
    rng = np.random.default_rng(1)
    for _ in range(20):
        k = int(rng.integers(1, 50))
        recall, precision = np.sort(rng.uniform(0, 1, k)), rng.uniform(0, 1, k)
        mrec = np.concatenate(([0.0], recall, [1.0]))
        mpre = np.concatenate(([0.0], precision, [0.0]))
        for i in range(len(mpre) - 2, -1, -1):
            mpre[i] = max(mpre[i], mpre[i + 1])
        expected = sum((mrec[i + 1] - mrec[i]) * mpre[i + 1] for i in range(len(mrec) - 1)
                       if mrec[i + 1] != mrec[i])
        assert devkit_average_precision(recall, precision) == pytest.approx(expected, abs=1e-6)
    with pytest.raises(ValueError, match='differ in length'):
        devkit_average_precision([0.5, 1.0], [1.0])


def test_synthvid_statistics_use_the_metric_motion_iou():
    """One motion IoU: the data set statistics agree with the metric's, per track
    of each video (two videos reuse an instance id)."""
    from mmvid_memory.datasets.synthvid import motion_bin_fractions
    from mmvid_memory.datasets.synthvid import motion_ious as annotation_motion_ious
    images, anns, video, inst, fid, boxes = [], [], [], [], [], []
    rng = np.random.default_rng(2)
    for v in range(2):
        for t in range(15):
            images.append(dict(id=v * 100 + t, video_id=v, frame_id=t))
            for obj in range(2):
                x, y = 10 + t * (v + obj + 1) * 1.5, 20 + rng.uniform(-1, 1)
                anns.append(dict(id=len(anns), image_id=v * 100 + t, instance_id=obj,
                                 bbox=[x, y, 20, 16]))
                video.append(v)
                inst.append(obj)
                fid.append(t)
                boxes.append([x, y, x + 20, y + 16])
    got = annotation_motion_ious(anns, images)
    expected = motion_ious(video, np.array(inst), np.array(fid), np.array(boxes))
    np.testing.assert_allclose([got[a['id']] for a in anns], expected)
    fractions = motion_bin_fractions(anns, images)
    for name, (low, high) in FGFA_MOTION_RANGES.items():
        assert fractions[name] == pytest.approx(np.mean((expected >= low) & (expected <= high)))
