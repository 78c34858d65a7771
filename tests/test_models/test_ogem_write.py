"""Pure functions of the OGEM write (Deng et al., Eq. 7-8) on hand-made inputs."""
import math

import pytest
import torch

from mmvid_memory.models.memory import (box_locations, decide_object_writes, feature_stride,
                                        l2norm_select, object_similarity, objects_to_evict,
                                        pixel_rows_bound, similarity_threshold)
from mmvid_memory.models.memory.ogem_write import StoredObjectInfo


def test_feature_stride_per_axis():
    assert feature_stride((32, 48), (4, 3)) == (8.0, 16.0)
    with pytest.raises(ValueError, match=r'feature map \(0, 3\)'):
        feature_stride((32, 48), (0, 3))


def test_box_locations_takes_every_cell_centre_inside_the_box():
    # 4x4 map over a 32x32 input: cell centres at 4, 12, 20, 28.
    boxes = torch.tensor([[0., 0, 14, 14],      # cols 0-1, rows 0-1
                          [10., 3, 29, 5],      # cols 1-3, row 0
                          [10., 18, 12, 19],    # col 1 (12 on the edge), no row centre
                          [0., 0, 32, 32]])     # whole map
    locs = box_locations(boxes, (4, 4), (8.0, 8.0))
    assert locs[0].tolist() == [0, 1, 4, 5]
    assert locs[1].tolist() == [1, 2, 3]
    # no centre between y=18 and 19: the row under the box centre (18.5 // 8 = 2)
    assert locs[2].tolist() == [2 * 4 + 1]
    assert locs[3].tolist() == list(range(16))


def test_box_locations_rejects_bad_boxes():
    with pytest.raises(ValueError, match=r'\(D, 4\)'):
        box_locations(torch.zeros(2, 5), (4, 4), (8.0, 8.0))


def test_object_similarity_is_eq8():
    attn = torch.tensor([[0.1, 0.2, 0.3, 0.4],
                         [0.0, 0.5, 0.5, 0.0],
                         [0.7, 0.1, 0.1, 0.1]])
    # rows of O_p: 0 and 1; locations of O_b: 1 and 2; (0.2 + 0.3 + 0.5 + 0.5) / 2
    assert object_similarity(attn, slice(0, 2), torch.tensor([1, 2])) == pytest.approx(0.75)
    assert object_similarity(attn, slice(2, 3), torch.tensor([0])) == pytest.approx(0.7)


def test_similarity_threshold():
    assert similarity_threshold(10, 16, 0.47) == pytest.approx(0.625)
    assert similarity_threshold(2, 16, 0.47) == pytest.approx(0.47)


def _attn_rows(*location_sets, n=8):
    """One attention row per set: weight spread evenly over its locations."""
    rows = torch.zeros(len(location_sets), n)
    for r, locs in enumerate(location_sets):
        rows[r, list(locs)] = 1.0 / len(locs)
    return rows


def test_decide_stores_new_replaces_worse_similar_and_keeps_better_similar():
    # Memory: obj0 (class 1, 0.95, rows 0-1) attends to locations 0-1;
    # obj1 (class 1, 0.99, row 2) to 4-5; obj2 (class 2, 0.91, row 3) to 0-1.
    attn = _attn_rows((0, 1), (0, 1), (4, 5), (0, 1))
    stored = [StoredObjectInfo(1, 0.95, slice(0, 2)), StoredObjectInfo(1, 0.99, slice(2, 3)),
              StoredObjectInfo(2, 0.91, slice(3, 4))]
    cands = [(1, 0.97, [0, 1]),   # D(obj0) = (0.5*2*2)/2 = 1 > .47: similar, better -> store
             (1, 0.93, [4, 5]),   # D(obj1) = 1/2 = .5 > .47: similar, worse -> skip
             (1, 0.95, [6, 7]),   # similar to nothing -> store
             (2, 0.85, [0, 1]),   # below tau -> skip
             (1, 0.96, [4]),      # D(obj1) = .5/1 > .47, worse -> skip
             (1, 0.92, [2, 3])]   # D(obj0) = 0: new -> store (obj2 is another class)
    decision = decide_object_writes([c[0] for c in cands], [c[1] for c in cands],
                                    [torch.tensor(c[2]) for c in cands], stored, attn,
                                    num_locations=8, score_thr=0.9, sim_thr=0.47)
    assert decision.store == [True, False, True, False, False, True]
    assert decision.similar[0] == [0] and decision.similar[1] == [1]
    assert decision.similar[3] == []  # below tau: not compared at all
    assert decision.delete == [0]
    # D / 0.47 of each same-class pair compared, candidates in order.
    expected = [1 / .47, 0, 0, .5 / .47, 0, 0, 0, .5 / .47, 0, 0]
    assert decision.similarity_ratios == pytest.approx(expected)


def test_decide_uses_n_p_over_n_when_it_exceeds_alpha():
    # obj0 holds 6 of n=8 locations: threshold max(6/8, .47) = .75.
    attn = _attn_rows(*([(0, 1, 2, 3, 4)] * 6))
    stored = [StoredObjectInfo(0, 0.91, slice(0, 6))]
    # candidate on all n_b = 8 locations: D = 6 * (5/5) / 8 = .75, not > .75
    whole = torch.arange(8)
    decision = decide_object_writes([0], [0.99], [whole], stored, attn, 8, 0.9, 0.47)
    assert decision.similar == [[]] and decision.store == [True] and decision.delete == []
    # n_b = 5 on the attended area: D = 6 / 5 = 1.2 > .75 -> similar
    decision = decide_object_writes([0], [0.99], [torch.arange(5)], stored, attn, 8, 0.9, 0.47)
    assert decision.similar == [[0]] and decision.delete == [0]


def test_decide_needs_attention_when_memory_holds_objects():
    with pytest.raises(ValueError, match='read attention'):
        decide_object_writes([0], [0.95], [torch.tensor([0])],
                             [StoredObjectInfo(0, 0.9, slice(0, 1))], None, 4, 0.9, 0.47)


def test_objects_to_evict_per_class_cap():
    labels, frames, scores = [1, 1, 1, 2, 2], [5, 3, 7, 1, 2], [0.95, 0.99, 0.91, 0.9, 0.93]
    assert objects_to_evict(labels, frames, scores, 2, 'oldest') == [1]
    assert objects_to_evict(labels, frames, scores, 2, 'lowest_score') == [2]
    assert objects_to_evict(labels, frames, scores, 1, 'oldest') == [0, 1, 3]
    assert objects_to_evict(labels, frames, scores, 3) == []
    with pytest.raises(ValueError, match='newest'):
        objects_to_evict(labels, frames, scores, 2, 'newest')


def test_l2norm_select_against_hand_softmax():
    x = torch.tensor([[0., 0, 0, 0], [0., 0, 0, 2], [4., 0, 0, 0], [0., 1, 0, 0]])
    f = [0.0, 2 / 2, 4 / 2, 1 / 2]  # ||x_j|| / sqrt(c), c = 4
    z = sum(math.exp(v) for v in f)
    expected = [j for j, v in enumerate(f) if math.exp(v) / z > 1 / 4]
    assert expected == [2]  # e^2 / z = .58; e^1 / z = .21 < .25
    assert l2norm_select(x).tolist() == expected
    x2 = torch.tensor([[3., 0], [0., 3], [0., 0], [0., 0]])
    assert l2norm_select(x2).tolist() == [0, 1]
    assert l2norm_select(torch.ones(5, 3)).numel() == 0  # equal norms: p = 1/n, not > 1/n


def test_pixel_rows_bound():
    assert pixel_rows_bound(48, 3, 10) == (3 * 10 + 1) * 48
