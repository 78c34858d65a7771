"""Write threshold tau from a detector's score distribution, by hand."""
import numpy as np
import pytest

from mmvid_memory.evaluation.functional.score_threshold import (label_detections,
                                                                precision_threshold,
                                                                score_report)


def test_precision_threshold_by_hand():
    scores = np.array([0.95, 0.9, 0.8, 0.7, 0.6, 0.5])
    correct = np.array([False, True, True, True, False, False])
    # Prefix precisions: 0, 1/2, 2/3, 3/4, 3/5, 1/2. The lowest threshold with
    # precision >= 0.7 keeps the top four: tau halfway between 0.7 and 0.6.
    assert precision_threshold(scores, correct, 0.7) == pytest.approx(0.65)
    assert precision_threshold(scores, correct, 0.5) == pytest.approx(0.25)  # all six: 1/2
    assert precision_threshold(scores, correct, 0.9) == 1.0  # never reached
    # A tie cannot be split: 0.8 twice, one wrong.
    tied = precision_threshold(np.array([0.9, 0.8, 0.8]), np.array([True, True, False]), 0.9)
    assert tied == pytest.approx(0.85)
    with pytest.raises(ValueError, match='precision'):
        precision_threshold(scores, correct, 0.0)


def test_label_detections_and_report():
    frame = dict(det_bboxes=np.array([[0, 0, 10, 10], [0, 0, 10, 10], [50, 50, 60, 60]], float),
                 det_scores=np.array([0.4, 0.9, 0.8]), det_labels=np.array([0, 0, 1]),
                 gt_bboxes=np.array([[0, 0, 10, 10], [30, 30, 40, 40]], float),
                 gt_labels=np.array([0, 1]))
    labelled = label_detections([frame])
    # The 0.9 detection takes the box; the 0.4 duplicate and the far one are wrong.
    np.testing.assert_array_equal(labelled['correct'], [False, True, False])
    np.testing.assert_allclose(labelled['best_correct'], [0.9, 0.0])
    report = score_report(labelled, precision=0.9, thresholds=(0.5, 0.85))
    assert report['tau'] == pytest.approx(0.85)
    assert report['thresholds']['0.5'] == dict(precision=0.5, gt_recall=0.5, detections=2)
    assert report['thresholds']['0.85'] == dict(precision=1.0, gt_recall=0.5, detections=1)
    assert report['correct_score_percentiles']['50'] == pytest.approx(0.9)
