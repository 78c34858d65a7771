"""ImageNet VID detection AP with FGFA's motion-speed splits, as pure functions.

Boxes are (x1, y1, x2, y2) in mmdet's continuous coordinates; with
``pixel_offset=1`` widths and heights get the devkit's inclusive +1 (its XML
boxes are pixel indices), which reproduces the devkit's numbers on its boxes.
"""
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np
from mmdet.evaluation.functional import average_precision, bbox_overlaps

# FGFA's motion IoU ranges; both ends inclusive as in FGFA's evaluation code,
# so 0.7 counts as fast and medium, 0.9 as medium and slow.
FGFA_MOTION_RANGES: Dict[str, Tuple[float, float]] = {
    'slow': (0.9, 1.0), 'medium': (0.7, 0.9), 'fast': (0.0, 0.7)}
SPLIT_FP_RULES = ('fgfa', 'strict')


def bbox_iou_matrix(boxes1: np.ndarray, boxes2: np.ndarray,
                    pixel_offset: float = 0.0) -> np.ndarray:
    """IoU of every pair, by mmdet's ``bbox_overlaps``.

    mmdet computes in float32 (differences from a float64 computation stay
    below 1e-6); the result is returned as float64 so that the ILSVRC
    thresholds compare against it in one precision.

    Args:
        boxes1 (np.ndarray): (N, 4) x1, y1, x2, y2.
        boxes2 (np.ndarray): (M, 4).
        pixel_offset (float): 0 for continuous coordinates, 1 for the
            devkit's inclusive pixel boxes (mmdet's ``use_legacy_coordinate``).

    Returns:
        np.ndarray: (N, M) float64.
    """
    if pixel_offset not in (0, 1):
        raise ValueError(f'pixel_offset must be 0 (continuous boxes) or 1 (the devkit\'s '
                         f'inclusive pixel boxes), got {pixel_offset}')
    b1 = np.asarray(boxes1, dtype=np.float64).reshape(-1, 4)
    b2 = np.asarray(boxes2, dtype=np.float64).reshape(-1, 4)
    ious = bbox_overlaps(b1, b2, mode='iou', use_legacy_coordinate=bool(pixel_offset))
    return ious.astype(np.float64)


def ilsvrc_iou_thresholds(gt_boxes: np.ndarray, iou_thr: float = 0.5,
                          pixel_tolerance: float = 10.0, pixel_offset: float = 0.0) -> np.ndarray:
    """The ILSVRC VID true-positive threshold of each ground-truth box.

    thr = min(iou_thr, w h / ((w + t)(h + t))) with t = ``pixel_tolerance``:
    a small object allows a lower IoU (a 10 px box needs only 0.25).

    Args:
        gt_boxes (np.ndarray): (M, 4).
        iou_thr (float): the threshold for large objects.
        pixel_tolerance (float): t.
        pixel_offset (float): see :func:`bbox_iou_matrix`.

    Returns:
        np.ndarray: (M,) thresholds.
    """
    b = np.asarray(gt_boxes, dtype=np.float64).reshape(-1, 4)
    w = b[:, 2] - b[:, 0] + pixel_offset
    h = b[:, 3] - b[:, 1] + pixel_offset
    return np.minimum(iou_thr, w * h / ((w + pixel_tolerance) * (h + pixel_tolerance)))


def greedy_match(ious: np.ndarray, det_scores: np.ndarray, det_labels: np.ndarray,
                 gt_labels: np.ndarray, iou_thresholds: np.ndarray) -> np.ndarray:
    """Match one frame's detections to its ground truth as the devkit does.

    Detections are taken by decreasing score; each takes the still unmatched
    ground-truth box of its class with the highest IoU among those with
    IoU >= the box's threshold (first such box on ties).

    Args:
        ious (np.ndarray): (N, M) detection x ground-truth IoU.
        det_scores (np.ndarray): (N,).
        det_labels (np.ndarray): (N,).
        gt_labels (np.ndarray): (M,).
        iou_thresholds (np.ndarray): (M,) from :func:`ilsvrc_iou_thresholds`.

    Returns:
        np.ndarray: (N,) int64, the matched ground-truth index or -1.
    """
    num_dets, num_gts = ious.shape
    matched = np.full(num_dets, -1, dtype=np.int64)
    if num_dets == 0 or num_gts == 0:
        return matched
    candidate = (ious >= iou_thresholds[None, :]) & (det_labels[:, None] == gt_labels[None, :])
    taken = np.zeros(num_gts, dtype=bool)
    for j in np.argsort(-np.asarray(det_scores), kind='stable'):
        free = candidate[j] & ~taken
        if not free.any():
            continue
        k = int(np.argmax(np.where(free, ious[j], -np.inf)))
        matched[j] = k
        taken[k] = True
    return matched


def split_tp_fp(ious: np.ndarray, matched: np.ndarray, gt_in_split: np.ndarray,
                empty_weight: float = 1.0, rule: str = 'fgfa') -> Tuple[np.ndarray, np.ndarray]:
    """True / false positive weight of each detection of one frame for one split.

    Ground truth outside the split is ignored. A detection matched to an
    in-split box is a TP; one matched to an ignored box is neither. An
    unmatched detection, with rule ``'fgfa'`` (FGFA's motion evaluation,
    ``imagenet_vid_eval_motion.py``):

    * FP (1) when its best IoU with in-split boxes (any class) exceeds its
      best IoU with ignored boxes; not counted (0) when the reverse holds;
    * on a tie (e.g. it overlaps nothing) with ground truth in the frame: the
      fraction of the frame's boxes that are outside the split (FGFA's code,
      kept as is so that numbers compare with FGFA's);
    * in a frame without ground truth: ``empty_weight``, the fraction of all
      ground-truth boxes of the data set that are in the split.

    With rule ``'strict'`` every unmatched detection is an FP. Without
    ignored boxes both rules give the plain devkit count.

    Args:
        ious (np.ndarray): (N, M).
        matched (np.ndarray): (N,) from :func:`greedy_match`.
        gt_in_split (np.ndarray): (M,) bool.
        empty_weight (float): FP weight of a detection in a frame without
            ground truth (rule ``'fgfa'``).
        rule (str): ``'fgfa'`` or ``'strict'``.

    Returns:
        tuple[np.ndarray, np.ndarray]: tp (N,) and fp (N,) float64.
    """
    if rule not in SPLIT_FP_RULES:
        raise ValueError(f'rule must be one of {SPLIT_FP_RULES}, got {rule!r}')
    num_dets, num_gts = ious.shape
    gt_in_split = np.asarray(gt_in_split, dtype=bool)
    tp = np.zeros(num_dets)
    fp = np.zeros(num_dets)
    is_matched = matched >= 0
    tp[is_matched] = gt_in_split[matched[is_matched]]
    unmatched = ~is_matched
    if rule == 'strict':
        fp[unmatched] = 1.0
        return tp, fp
    if num_gts == 0:
        fp[unmatched] = empty_weight
        return tp, fp
    best_in = np.where(gt_in_split[None, :], ious, -1.0).max(axis=1)
    best_out = np.where(~gt_in_split[None, :], ious, -1.0).max(axis=1)
    tie_weight = float((~gt_in_split).sum()) / num_gts
    fp_unmatched = np.where(best_in > best_out, 1.0, np.where(best_out > best_in, 0.0, tie_weight))
    fp[unmatched] = fp_unmatched[unmatched]
    return tp, fp


def devkit_average_precision(recall: np.ndarray, precision: np.ndarray) -> float:
    """Area under the precision envelope (the ILSVRC / VOC 2010+ devkit's ``VOCap``).

    mmdet's ``average_precision`` in ``'area'`` mode: precision is made
    monotone from the right (the best precision at any higher recall) and
    summed over the recall steps: all points, not the 11-point sampling of
    VOC 2007, because that is what the ILSVRC VID devkit (and FGFA's and
    Deng et al.'s tables) use.

    Args:
        recall (np.ndarray): (K,) non-decreasing.
        precision (np.ndarray): (K,).

    Returns:
        float: AP in [0, 1].
    """
    recall = np.asarray(recall, dtype=np.float64).reshape(-1)
    precision = np.asarray(precision, dtype=np.float64).reshape(-1)
    if recall.shape != precision.shape:
        raise ValueError(f'recall {recall.shape} and precision {precision.shape} differ in length')
    return float(average_precision(recall, precision, mode='area'))


def class_average_precisions(scores: np.ndarray, labels: np.ndarray, tp: np.ndarray,
                             fp: np.ndarray, num_pos: np.ndarray) -> np.ndarray:
    """Per-class AP over all frames.

    Args:
        scores (np.ndarray): (D,) scores of all detections.
        labels (np.ndarray): (D,) their classes.
        tp (np.ndarray): (D,) TP weights.
        fp (np.ndarray): (D,) FP weights.
        num_pos (np.ndarray): (C,) counted ground-truth boxes per class.

    Returns:
        np.ndarray: (C,) AP; NaN for a class without counted ground truth
        (left out of the mean, as FGFA does); 0 for a class with ground
        truth and no detection.
    """
    num_classes = len(num_pos)
    aps = np.full(num_classes, np.nan)
    for c in range(num_classes):
        if num_pos[c] <= 0:
            continue
        mask = labels == c
        order = np.argsort(-scores[mask], kind='stable')
        tp_cum = np.cumsum(tp[mask][order])
        fp_cum = np.cumsum(fp[mask][order])
        recall = tp_cum / num_pos[c]
        precision = tp_cum / np.maximum(tp_cum + fp_cum, np.finfo(np.float64).eps)
        aps[c] = devkit_average_precision(recall, precision)
    return aps


def motion_ious(video_ids: Sequence, instance_ids: np.ndarray, frame_ids: np.ndarray,
                boxes: np.ndarray, frame_range: int = 10, pixel_offset: float = 0.0,
                no_neighbour_value: float = 0.0) -> np.ndarray:
    """FGFA's motion IoU of every ground-truth box.

    The mean IoU of a box with the boxes of the same track (same video and
    instance id) in the frames within ``frame_range`` of its own, itself
    excluded. Slow objects score near 1, fast ones low.

    Args:
        video_ids (Sequence): (K,) video of each box (any hashable).
        instance_ids (np.ndarray): (K,) track id within its video.
        frame_ids (np.ndarray): (K,) frame id.
        boxes (np.ndarray): (K, 4).
        frame_range (int): neighbourhood half-width in frames (FGFA: 10).
        pixel_offset (float): see :func:`bbox_iou_matrix`.
        no_neighbour_value (float): value for a box whose track has no
            other box in range (FGFA's loader reads such entries as 0,
            i.e. fast).

    Returns:
        np.ndarray: (K,) motion IoU.
    """
    num = len(frame_ids)
    result = np.full(num, float(no_neighbour_value))
    if num == 0:
        return result
    video_codes = {}
    codes = np.asarray([video_codes.setdefault(v, len(video_codes)) for v in video_ids])
    instance_ids = np.asarray(instance_ids, dtype=np.int64)
    frame_ids = np.asarray(frame_ids, dtype=np.int64)
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    order = np.lexsort((frame_ids, instance_ids, codes))
    keys = np.stack([codes[order], instance_ids[order]], axis=1)
    cuts = np.flatnonzero((keys[1:] != keys[:-1]).any(axis=1)) + 1
    for track in np.split(order, cuts):
        if len(track) < 2:
            continue
        gap = np.abs(frame_ids[track][:, None] - frame_ids[track][None, :])
        near = (gap >= 1) & (gap <= frame_range)
        count = near.sum(axis=1)
        ious = bbox_iou_matrix(boxes[track], boxes[track], pixel_offset)
        mean = (ious * near).sum(axis=1) / np.maximum(count, 1)
        result[track] = np.where(count > 0, mean, no_neighbour_value)
    return result


def in_motion_range(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """``low <= value <= high`` (both inclusive, as FGFA)."""
    values = np.asarray(values, dtype=np.float64)
    return (values >= low) & (values <= high)


def _frame_arrays(frame: Mapping) -> Tuple[np.ndarray, ...]:
    det_boxes = np.asarray(frame['det_bboxes'], dtype=np.float64).reshape(-1, 4)
    det_scores = np.asarray(frame['det_scores'], dtype=np.float64).reshape(-1)
    det_labels = np.asarray(frame['det_labels'], dtype=np.int64).reshape(-1)
    gt_boxes = np.asarray(frame['gt_bboxes'], dtype=np.float64).reshape(-1, 4)
    gt_labels = np.asarray(frame['gt_labels'], dtype=np.int64).reshape(-1)
    ignore = frame.get('gt_ignore')
    gt_ignore = (np.zeros(len(gt_labels), dtype=bool) if ignore is None
                 else np.asarray(ignore, dtype=bool).reshape(-1))
    if not (len(det_boxes) == len(det_scores) == len(det_labels)):
        raise ValueError(f'frame {frame.get("img_id")}: {len(det_boxes)} det boxes, '
                         f'{len(det_scores)} scores, {len(det_labels)} labels')
    if not (len(gt_boxes) == len(gt_labels) == len(gt_ignore)):
        raise ValueError(f'frame {frame.get("img_id")}: {len(gt_boxes)} gt boxes, '
                         f'{len(gt_labels)} labels, {len(gt_ignore)} ignore flags')
    return det_boxes, det_scores, det_labels, gt_boxes, gt_labels, gt_ignore


def evaluate_vid_detections(
        frames: Sequence[Mapping], num_classes: int,
        motion_ranges: Optional[Mapping[str, Tuple[float, float]]] = None,
        iou_thr: float = 0.5, pixel_tolerance: float = 10.0, pixel_offset: float = 0.0,
        split_fp_rule: str = 'fgfa') -> Dict[str, Dict[str, object]]:
    """Per-class AP and mAP over all objects and per motion split.

    Args:
        frames (Sequence[Mapping]): one record per frame with
            ``det_bboxes`` (N, 4), ``det_scores`` (N,), ``det_labels`` (N,),
            ``gt_bboxes`` (M, 4), ``gt_labels`` (M,), optional ``gt_ignore``
            (M,) bool (never counted, matches to it are not counted) and,
            when ``motion_ranges`` is given, ``gt_motion_iou`` (M,).
        num_classes (int): C.
        motion_ranges (Mapping, optional): split name -> (low, high) motion
            IoU, e.g. :data:`FGFA_MOTION_RANGES`.
        iou_thr (float): large-object IoU threshold.
        pixel_tolerance (float): small-object rule's t.
        pixel_offset (float): see :func:`bbox_iou_matrix`.
        split_fp_rule (str): see :func:`split_tp_fp`.

    Returns:
        dict: split name (``'all'`` and those of ``motion_ranges``) ->
        ``{'ap': (C,) array, 'num_pos': (C,) array, 'num_dets': (C,) array,
        'mAP': float}``; ``mAP`` is the mean over classes with counted
        ground truth (NaN when there is none).
    """
    motion_ranges = dict(motion_ranges or {})
    if 'all' in motion_ranges:
        raise ValueError("'all' is reserved for the split without motion ranges")
    split_names = ['all'] + list(motion_ranges)
    arrays = [_frame_arrays(f) for f in frames]
    in_split_per_frame: List[Dict[str, np.ndarray]] = []
    for frame, (_, _, _, _, gt_labels, gt_ignore) in zip(frames, arrays):
        masks = {'all': ~gt_ignore}
        if motion_ranges:
            if frame.get('gt_motion_iou') is None:
                raise KeyError(f'frame {frame.get("img_id")} has no gt_motion_iou, which '
                               'motion splits need')
            miou = np.asarray(frame['gt_motion_iou'], dtype=np.float64).reshape(-1)
            if len(miou) != len(gt_labels):
                raise ValueError(f'frame {frame.get("img_id")}: {len(miou)} motion IoUs '
                                 f'for {len(gt_labels)} gt boxes')
            for name, (low, high) in motion_ranges.items():
                masks[name] = ~gt_ignore & in_motion_range(miou, low, high)
        in_split_per_frame.append(masks)
    # FGFA: a detection in a frame without ground truth weighs the split's
    # share of all ground-truth boxes.
    total_counted = sum(int(m['all'].sum()) for m in in_split_per_frame)
    empty_weight = {name: (sum(int(m[name].sum()) for m in in_split_per_frame) / total_counted
                           if total_counted else 1.0) for name in split_names}
    empty_weight['all'] = 1.0

    scores, labels = [], []
    tps: Dict[str, List[np.ndarray]] = {n: [] for n in split_names}
    fps: Dict[str, List[np.ndarray]] = {n: [] for n in split_names}
    num_pos = {n: np.zeros(num_classes) for n in split_names}
    for (det_boxes, det_scores, det_labels, gt_boxes, gt_labels, _), masks in zip(
            arrays, in_split_per_frame):
        if len(gt_labels) and (gt_labels.min() < 0 or gt_labels.max() >= num_classes):
            raise ValueError(f'gt label outside [0, {num_classes}): {gt_labels.tolist()}')
        ious = bbox_iou_matrix(det_boxes, gt_boxes, pixel_offset)
        thresholds = ilsvrc_iou_thresholds(gt_boxes, iou_thr, pixel_tolerance, pixel_offset)
        matched = greedy_match(ious, det_scores, det_labels, gt_labels, thresholds)
        scores.append(det_scores)
        labels.append(det_labels)
        for name in split_names:
            tp, fp = split_tp_fp(ious, matched, masks[name], empty_weight[name], split_fp_rule)
            tps[name].append(tp)
            fps[name].append(fp)
            num_pos[name] += np.bincount(gt_labels[masks[name]], minlength=num_classes)
    all_scores = np.concatenate(scores) if scores else np.zeros(0)
    all_labels = np.concatenate(labels) if labels else np.zeros(0, dtype=np.int64)
    num_dets = np.bincount(all_labels[(all_labels >= 0) & (all_labels < num_classes)],
                           minlength=num_classes)
    results: Dict[str, Dict[str, object]] = {}
    for name in split_names:
        tp = np.concatenate(tps[name]) if tps[name] else np.zeros(0)
        fp = np.concatenate(fps[name]) if fps[name] else np.zeros(0)
        aps = class_average_precisions(all_scores, all_labels, tp, fp, num_pos[name])
        counted = ~np.isnan(aps)
        results[name] = dict(ap=aps, num_pos=num_pos[name], num_dets=num_dets,
                             mAP=float(aps[counted].mean()) if counted.any() else float('nan'))
    return results
