"""Write operation of the object guided external memory (Deng et al., Eq. 7-8).

Pure functions; :class:`ExternalMemoryAggregator` calls them and applies the
result to a :class:`PixelMemoryState`. Reading of the seed implemented here:

* Eq. 7, hard attention by the box: object b owns **every** location of the
  feature map whose cell centre lies inside its box (no further sub-selection);
  a box too small to hold a centre gets the one cell holding its centre.
* Store b when its score s_b > tau and, among the stored objects p of its
  class, either no p is similar to b, or b's score is higher than that of
  every similar p; the similar p are then deleted.
* Eq. 8, ``D(O_b, O_p) = (1/n_b) sum_{i in O_p} sum_{j in O_b} w_ij``: i runs
  over the memory rows of p and j over b's locations in the current map, w
  the head-mean attention of Eq. 1 from this frame's read ("how much the
  attention of memory object O_p is concentrated on the area of O_b").
  Similar when ``D > max(n_p / n, alpha)``, n_p = rows of p, n = locations of
  the current map. (n_p / n is what uniform attention would give.)
* No detection above tau: the locations with ``softmax_j(||x_j|| / sqrt(c))
  > 1/n`` are written and replace the older such rows.
"""
import math
from typing import List, NamedTuple, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor


def feature_stride(input_hw: Sequence[int], feat_hw: Sequence[int]) -> Tuple[float, float]:
    """Stride (sy, sx) of a feature map of size ``feat_hw`` over ``input_hw``.

    Args:
        input_hw: (H, W) of the padded network input.
        feat_hw: (h_f, w_f) of the feature map.

    Returns:
        tuple[float, float]: (H / h_f, W / w_f).
    """
    (in_h, in_w), (f_h, f_w) = input_hw[:2], feat_hw[:2]
    if min(in_h, in_w, f_h, f_w) <= 0:
        raise ValueError(f'feature_stride: sizes must be positive, input {tuple(input_hw)}, '
                         f'feature map {tuple(feat_hw)}')
    return float(in_h) / f_h, float(in_w) / f_w


def box_locations(bboxes: Tensor, feat_hw: Sequence[int],
                  stride: Tuple[float, float]) -> List[Tensor]:
    """Flat indices of the feature-map locations inside each box (Eq. 7).

    A location (u, v) (row, column) has its cell centre at
    ((v + 0.5) * sx, (u + 0.5) * sy) in network-input coordinates.

    Args:
        bboxes (Tensor): (D, 4) boxes (x1, y1, x2, y2) in network-input
            coordinates.
        feat_hw: (h_f, w_f) of the feature map.
        stride: (sy, sx) from :func:`feature_stride`.

    Returns:
        list[Tensor]: D long tensors of flat indices ``u * w_f + v`` into the
        (h_f * w_f) locations, each non-empty and in increasing order.
    """
    if bboxes.dim() != 2 or bboxes.shape[1] != 4:
        raise ValueError(f'box_locations: bboxes must be (D, 4), got {tuple(bboxes.shape)}')
    f_h, f_w = int(feat_hw[0]), int(feat_hw[1])
    sy, sx = stride
    boxes = bboxes.detach().float().cpu()
    centre_x = (torch.arange(f_w, dtype=torch.float32) + 0.5) * sx
    centre_y = (torch.arange(f_h, dtype=torch.float32) + 0.5) * sy
    out = []
    for x1, y1, x2, y2 in boxes.tolist():
        cols = torch.nonzero((centre_x >= x1) & (centre_x <= x2)).flatten()
        rows = torch.nonzero((centre_y >= y1) & (centre_y <= y2)).flatten()
        if cols.numel() == 0 or rows.numel() == 0:
            # A box between cell centres still owns the cell under its centre.
            col = min(max(int(((x1 + x2) / 2) // sx), 0), f_w - 1)
            row = min(max(int(((y1 + y2) / 2) // sy), 0), f_h - 1)
            cols = torch.tensor([col]) if cols.numel() == 0 else cols
            rows = torch.tensor([row]) if rows.numel() == 0 else rows
        out.append((rows[:, None] * f_w + cols[None, :]).flatten())
    return out


def object_similarity(attn_mean: Tensor, memory_rows: Union[slice, Tensor],
                      locations: Tensor) -> float:
    """D(O_b, O_p) of Eq. 8.

    Args:
        attn_mean (Tensor): head-mean attention w_ij of this frame's read,
            (l, n), normalised over the n locations.
        memory_rows (slice | Tensor): the rows i of stored object p.
        locations (Tensor): (n_b,) flat locations j of new object b.

    Returns:
        float: ``sum_{i in p} sum_{j in b} w_ij / n_b``.
    """
    if locations.numel() == 0:
        raise ValueError('object_similarity: object b has no locations')
    block = attn_mean[memory_rows][:, locations.to(attn_mean.device)]
    return float(block.sum()) / locations.numel()


def similarity_threshold(num_rows_p: int, num_locations: int, alpha: float) -> float:
    """The threshold max(n_p / n, alpha) that D must exceed (Eq. 8 text)."""
    return max(num_rows_p / num_locations, alpha)


class StoredObjectInfo(NamedTuple):
    """What the write decision needs of an object already in memory.

    Attributes:
        label (int): class.
        score (float): quality (classification score when it was stored).
        rows (slice): its rows in the memory matrix that was read.
    """

    label: int
    score: float
    rows: slice


class WriteDecision(NamedTuple):
    """Outcome of :func:`decide_object_writes`.

    Attributes:
        store (list[bool]): per candidate, whether it is written.
        delete (list[int]): indices of stored objects to delete, ascending.
        similar (list[list[int]]): per candidate, the stored objects found
            similar (same class, D above threshold).
        similarity_ratios (list[float]): D / threshold of every pair of a
            candidate above tau and a stored object of its class (> 1 is
            similar), for the health report.
    """

    store: List[bool]
    delete: List[int]
    similar: List[List[int]]
    similarity_ratios: List[float] = []


def decide_object_writes(labels: Sequence[int], scores: Sequence[float],
                         locations: Sequence[Tensor], stored: Sequence[StoredObjectInfo],
                         attn_mean: Optional[Tensor], num_locations: int,
                         score_thr: float, sim_thr: float) -> WriteDecision:
    """Which detections to store and which stored objects they replace.

    Each candidate is judged against the memory as it was read for this frame
    (objects written in the same frame cannot be compared: they received no
    attention), so the order of candidates does not matter.

    Args:
        labels: (D,) class of each detection.
        scores: (D,) its score (quality).
        locations: D tensors of flat locations, from :func:`box_locations`.
        stored: the objects in memory, in memory-row order.
        attn_mean (Tensor | None): (l, n) head-mean attention of the read;
            may be None when ``stored`` is empty.
        num_locations (int): n, locations of the current feature map.
        score_thr (float): tau.
        sim_thr (float): alpha.

    Returns:
        WriteDecision: what to store and what to delete.
    """
    if not len(labels) == len(scores) == len(locations):
        raise ValueError(f'decide_object_writes: {len(labels)} labels, {len(scores)} scores, '
                         f'{len(locations)} location sets')
    if stored and attn_mean is None:
        raise ValueError('decide_object_writes: stored objects need the read attention')
    store, similar_all, delete, ratios = [], [], set(), []
    for label, score, locs in zip(labels, scores, locations):
        similar = []
        if score > score_thr:
            for idx, obj in enumerate(stored):
                if obj.label != int(label):
                    continue
                num_rows_p = obj.rows.stop - obj.rows.start
                dist = object_similarity(attn_mean, obj.rows, locs)
                threshold = similarity_threshold(num_rows_p, num_locations, sim_thr)
                ratios.append(dist / threshold)
                if dist > threshold:
                    similar.append(idx)
        keep = score > score_thr and all(score > stored[i].score for i in similar)
        if keep:
            delete.update(similar)
        store.append(keep)
        similar_all.append(similar)
    return WriteDecision(store, sorted(delete), similar_all, ratios)


def objects_to_evict(labels: Sequence[int], frame_ids: Sequence[int], scores: Sequence[float],
                     max_per_class: int, policy: str = 'oldest') -> List[int]:
    """Objects to drop so that no class holds more than ``max_per_class``.

    The seed caps each class at 10 objects but does not say which go; the
    policy chooses: ``'oldest'`` drops the earliest written (ties: lower
    score first), ``'lowest_score'`` the lowest quality (ties: older first).

    Args:
        labels: class of each stored object.
        frame_ids: frame each was written in.
        scores: its quality.
        max_per_class (int): the cap.
        policy (str): 'oldest' or 'lowest_score'.

    Returns:
        list[int]: indices to drop, ascending.
    """
    if policy not in ('oldest', 'lowest_score'):
        raise ValueError(f"evict policy must be 'oldest' or 'lowest_score', got {policy!r}")
    by_class = {}
    for idx, label in enumerate(labels):
        by_class.setdefault(int(label), []).append(idx)
    drop = []
    for members in by_class.values():
        excess = len(members) - max_per_class
        if excess <= 0:
            continue
        if policy == 'oldest':
            order = sorted(members, key=lambda i: (frame_ids[i], scores[i]))
        else:
            order = sorted(members, key=lambda i: (scores[i], frame_ids[i]))
        drop.extend(order[:excess])
    return sorted(drop)


def l2norm_select(x: Tensor) -> Tensor:
    """Object-irrelevant locations picked by L2-norm hard attention.

    Location j is picked when ``softmax_j(f)_j > 1/n`` with
    ``f_j = ||x_j|| / sqrt(c)``, i.e. when ``f_j > log(mean_i exp(f_i))``.

    Args:
        x (Tensor): (n, c) features of the frame.

    Returns:
        Tensor: ascending flat indices of the picked locations (at most n - 1;
        none when all norms are equal).
    """
    if x.dim() != 2 or x.shape[0] == 0:
        raise ValueError(f'l2norm_select: x must be (n>0, c), got {tuple(x.shape)}')
    n, c = x.shape
    f = x.detach().float().norm(dim=1) / math.sqrt(c)
    # Compare in log space; the margin keeps equal norms (p = 1/n) unpicked.
    log_mean = torch.logsumexp(f, dim=0) - math.log(n)
    return torch.nonzero(f > log_mean + 1e-6).flatten()


def pixel_rows_bound(num_locations: int, num_classes: int, max_objects_per_class: int) -> int:
    """Upper bound on the rows of a pixel memory.

    An object holds at most the n locations of its key frame and each class
    at most ``max_objects_per_class`` objects; background rows are fewer
    than n.

    Args:
        num_locations (int): n of the largest key-frame feature map.
        num_classes (int): number of classes the detector predicts.
        max_objects_per_class (int): the per-class cap.

    Returns:
        int: ``(num_classes * max_objects_per_class + 1) * num_locations``.
    """
    return (num_classes * max_objects_per_class + 1) * num_locations
