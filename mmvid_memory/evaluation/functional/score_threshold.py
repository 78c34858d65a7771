"""Choosing an object-guided write threshold from a detector's scores.

The object guided memory (Deng et al., ICCV 2019) writes an object when its
score passes tau (0.9 for their ImageNet VID R-FCN-101). A smaller detector
scores its correct detections lower, so the seed's tau can leave the write
idle; these functions measure the score distribution of a detector's correct
detections and pick the lowest tau at which the written objects are still as
reliable as wanted.
"""
from typing import Dict, List, Mapping, Sequence

import numpy as np

from .vid_eval import _frame_arrays, bbox_iou_matrix, greedy_match, ilsvrc_iou_thresholds


def label_detections(frames: Sequence[Mapping], iou_thr: float = 0.5,
                     pixel_tolerance: float = 10.0) -> Dict[str, np.ndarray]:
    """Score and correctness of every detection, with the VID matching rule.

    Args:
        frames: records with ``det_bboxes``, ``det_scores``, ``det_labels``,
            ``gt_bboxes``, ``gt_labels`` (and optional ``gt_ignore``), as the
            VID metric keeps them.
        iou_thr (float): large-object IoU threshold.
        pixel_tolerance (float): the small-object rule's t.

    Returns:
        dict: ``scores`` (D,) and ``correct`` (D,) bool over all detections,
        ``best_correct`` (G,) the score of the best correct detection of
        each counted ground-truth box (0 when it has none).
    """
    scores: List[np.ndarray] = []
    correct: List[np.ndarray] = []
    best: List[np.ndarray] = []
    for frame in frames:
        det_boxes, det_scores, det_labels, gt_boxes, gt_labels, gt_ignore = _frame_arrays(frame)
        ious = bbox_iou_matrix(det_boxes, gt_boxes)
        matched = greedy_match(ious, det_scores, det_labels, gt_labels,
                               ilsvrc_iou_thresholds(gt_boxes, iou_thr, pixel_tolerance))
        ok = matched >= 0
        ok[ok] = ~gt_ignore[matched[ok]]
        scores.append(det_scores)
        correct.append(ok)
        per_gt = np.zeros(len(gt_labels))
        for j in np.flatnonzero(ok):
            per_gt[matched[j]] = max(per_gt[matched[j]], det_scores[j])
        best.append(per_gt[~gt_ignore])
    cat = (lambda parts, dtype: np.concatenate(parts).astype(dtype) if parts  # noqa: E731
           else np.zeros(0, dtype))
    return dict(scores=cat(scores, np.float64), correct=cat(correct, bool),
                best_correct=cat(best, np.float64))


def precision_threshold(scores: np.ndarray, correct: np.ndarray, precision: float) -> float:
    """The lowest tau such that detections scoring above it are correct at
    least ``precision`` of the time.

    Args:
        scores (np.ndarray): (D,) detection scores.
        correct (np.ndarray): (D,) whether each is a true positive.
        precision (float): wanted precision in (0, 1].

    Returns:
        float: tau (a detection is written when its score is > tau), halfway
        between the last detection kept and the next lower score; 1.0 when no
        threshold reaches the precision.
    """
    if not 0 < precision <= 1:
        raise ValueError(f'precision must be in (0, 1], got {precision}')
    if len(scores) != len(correct):
        raise ValueError(f'{len(scores)} scores but {len(correct)} correctness flags')
    if len(scores) == 0:
        return 1.0
    order = np.argsort(-scores, kind='stable')
    s, c = scores[order], correct[order].astype(np.float64)
    prec = np.cumsum(c) / np.arange(1, len(c) + 1)
    # Only thresholds between distinct scores can be realised.
    distinct = np.append(s[1:] < s[:-1], True)
    ok = np.flatnonzero((prec >= precision) & distinct)
    if ok.size == 0:
        return 1.0
    last = int(ok[-1])
    below = s[last + 1] if last + 1 < len(s) else 0.0
    return float(below + (s[last] - below) / 2)


def score_report(labelled: Dict[str, np.ndarray], precision: float,
                 thresholds: Sequence[float] = (0.3, 0.5, 0.6, 0.7, 0.8, 0.9)) -> Dict:
    """Distribution of correct scores and, per tau, what a write would see.

    Returns:
        dict: ``correct_score_percentiles``, ``tau`` (from
        :func:`precision_threshold`) and per threshold (``tau`` included):
        ``precision`` of detections above it, ``gt_recall`` (share of
        ground-truth boxes with a correct detection above it) and
        ``detections_per_frame`` is left to the caller.
    """
    scores, correct, best = labelled['scores'], labelled['correct'], labelled['best_correct']
    tau = precision_threshold(scores, correct, precision)
    rows = {}
    for thr in sorted(set(thresholds) | {round(tau, 4)}):
        above = scores > thr
        rows[f'{thr:.4g}'] = dict(
            precision=float(correct[above].mean()) if above.any() else None,
            gt_recall=float((best > thr).mean()) if len(best) else None,
            detections=int(above.sum()))
    pct = (5, 25, 50, 75, 95)
    correct_scores = scores[correct]
    return dict(
        wanted_precision=precision, tau=tau, thresholds=rows,
        num_detections=int(len(scores)), num_gt=int(len(best)),
        correct_score_percentiles=({str(p): float(v) for p, v in
                                    zip(pct, np.percentile(correct_scores, pct))}
                                   if len(correct_scores) else None))
