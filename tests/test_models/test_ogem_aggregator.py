"""ExternalMemoryAggregator: build, read, write (pixel and instance), state."""
import math

import pytest
import torch
from mmdet.registry import MODELS
from mmengine.structures import InstanceData

import mmvid_memory  # noqa: F401
from mmvid_memory.models.memory import (ExternalMemoryAggregator, FrameContext,
                                        InstanceMemoryState, attention_per_source,
                                        top_attended_rows)

INPUT_HW = (32, 32)  # 4x4 maps below: stride 8, cell centres at 4, 12, 20, 28


def build(**kwargs):
    cfg = dict(type='ExternalMemoryAggregator', in_channels=8, num_heads=2, embed_channels=4)
    cfg.update(kwargs)
    return MODELS.build(cfg)


def sharp_memory(**kwargs):
    """A memory whose heads both compare the first 4 channels exactly
    (W_Q = W_K = [I_4 I_4]) with lambda = 30, so one-hot patterns e0..e3
    attend to their own copies and uniformly to anything else."""
    mem = build(**kwargs)
    proj = torch.cat([torch.eye(4), torch.eye(4)], dim=1)
    with torch.no_grad():
        mem.w_q.copy_(proj.expand(2, 4, 8))
        mem.w_k.copy_(proj.expand(2, 4, 8))
        mem.temperature.fill_(30.0)
    return mem


def feature_map(cells, size=(4, 4), background=0.5):
    """(1, 8, h, w) map: background 0.5 * e3; ``cells`` maps a pattern
    index k (one-hot e_k, optionally scaled: (k, scale)) to (row, col) cells."""
    fmap = torch.zeros(1, 8, *size)
    fmap[0, 3] = background
    for pattern, where in cells.items():
        k, scale = pattern if isinstance(pattern, tuple) else (pattern, 1.0)
        for r, c in where:
            fmap[0, :, r, c] = 0
            fmap[0, k, r, c] = scale
    return fmap


def dets(*items):
    """Detections from (box, score, label) tuples."""
    out = InstanceData()
    out.bboxes = torch.tensor([b for b, _, _ in items], dtype=torch.float32).reshape(-1, 4)
    out.scores = torch.tensor([s for _, s, _ in items], dtype=torch.float32)
    out.labels = torch.tensor([lb for _, _, lb in items], dtype=torch.long)
    return out


def step(mem, state, fmap, detections, frame_id, is_key=True, input_hw=INPUT_HW):
    """Read then write one frame the way the detector does."""
    ctx = FrameContext(frame_id=frame_id, is_key=is_key, batch_input_shape=input_hw,
                       feat=fmap)
    read = mem.read(fmap, state, ctx)
    ctx.read_feat = read
    ctx.detections = detections
    mem.write(state, ctx)
    return read


TOP_LEFT = [(0, 0), (0, 1), (1, 0), (1, 1)]
BOTTOM_RIGHT = [(2, 2), (2, 3), (3, 2), (3, 3)]
BOX_TOP_LEFT = [0., 0, 16, 16]
BOX_BOTTOM_RIGHT = [16., 16, 32, 32]


# ---------------------------------------------------------------- build
def test_defaults_and_init_follow_the_seed():
    torch.manual_seed(0)
    mem = MODELS.build(dict(type='ExternalMemoryAggregator', in_channels=64))
    assert isinstance(mem, ExternalMemoryAggregator) and mem.level == 'pixel'
    assert (mem.num_heads, mem.embed_channels) == (8, 32)
    assert (mem.score_thr, mem.sim_thr, mem.max_objects_per_class) == (0.9, 0.47, 10)
    assert mem.w_q.shape == mem.w_k.shape == (8, 32, 64)
    for weight in (mem.w_q, mem.w_k):
        assert weight.std().item() == pytest.approx(0.01, rel=0.05)
        assert abs(weight.mean().item()) < 1e-3
    assert mem.w_v.shape == (8, 8, 64)
    for k in range(8):
        torch.testing.assert_close(mem.w_v[k].detach(), torch.eye(64)[k * 8:(k + 1) * 8])
    assert mem.temperature.item() == 1.0 and mem.temperature.requires_grad


def test_channels_not_divisible_by_heads_is_a_clear_error():
    with pytest.raises(ValueError, match=r'c=30 is not divisible by num_heads N=8'):
        MODELS.build(dict(type='ExternalMemoryAggregator', in_channels=30))


def test_bad_inputs_raise():
    mem = build()
    with pytest.raises(ValueError, match=r'\(1, C, H, W\), got \(2, 8, 3, 3\)'):
        mem.read(torch.zeros(2, 8, 3, 3), mem.new_state(), FrameContext())
    with pytest.raises(ValueError, match='in_channels=8, features'):
        mem.read(torch.zeros(1, 6, 3, 3), mem.new_state(), FrameContext())
    with pytest.raises(TypeError, match='PixelMemoryState'):
        mem.read(torch.zeros(1, 8, 3, 3), InstanceMemoryState(), FrameContext())
    with pytest.raises(ValueError, match='read_feat'):
        mem.write(mem.new_state(), FrameContext(batch_input_shape=INPUT_HW))


# ----------------------------------------------------------------- read
def test_empty_memory_read_is_identity_and_any_size_reads_any_memory():
    mem = sharp_memory()
    state = mem.new_state()
    fmap = feature_map({0: TOP_LEFT})
    assert torch.equal(step(mem, state, fmap, dets((BOX_TOP_LEFT, 0.95, 0)), 0), fmap)
    assert state.num_rows == 4
    # a down-sampled non-key frame (2x3, from a 16x24 input) reads 4x4 rows
    small = feature_map({0: [(1, 2)]}, size=(2, 3))
    out = step(mem, state, small, dets(), 1, is_key=False, input_hw=(16, 24))
    assert out.shape == small.shape
    assert state.last_read.attn_mean.shape == (4, 6) and state.last_read.feat_hw == (2, 3)
    # the matching location took the memory in (beta = 1/2), the others little
    assert out[0, 0, 1, 2].item() == pytest.approx(1.0, abs=1e-3)
    assert state.num_rows == 4  # non-key frames do not write


def test_read_trains_the_weights_and_the_features():
    torch.manual_seed(0)
    mem = build()
    state = mem.new_state()
    step(mem, state, torch.randn(1, 8, 4, 4), dets((BOX_TOP_LEFT, 0.95, 1)), 0)
    assert not state.objects[0].rows.requires_grad  # rows are stored detached
    feat = torch.randn(1, 8, 4, 4, requires_grad=True)
    out = mem.read(feat, state, FrameContext(frame_id=1))
    (out * torch.randn_like(out)).sum().backward()
    assert feat.grad.abs().sum() > 0
    for name in ('w_q', 'w_k', 'w_v', 'temperature'):
        grad = getattr(mem, name).grad
        assert grad is not None and grad.abs().sum() > 0, name
    assert not state.last_read.attn_mean.requires_grad


def test_inference_reuses_memory_projections_until_memory_or_weights_change():
    torch.manual_seed(0)
    mem = build()
    state = mem.new_state()
    step(mem, state, torch.randn(1, 8, 4, 4), dets((BOX_TOP_LEFT, 0.95, 1)), 0)
    feat = torch.randn(1, 8, 3, 5)
    with_grad = mem.read(feat, state, FrameContext(frame_id=1))
    with torch.no_grad():
        first = mem.read(feat, state, FrameContext(frame_id=1))
        cached = [v for k, v in state._cache.items() if k[0] == 'projections']
        assert len(cached) == 1
        torch.testing.assert_close(first, with_grad)
        mem.w_v.mul_(2.0)  # new weights (e.g. a loaded checkpoint): projections recomputed
        doubled = mem.read(feat, state, FrameContext(frame_id=1))
    with torch.no_grad():
        mem.w_v.div_(2.0)
    expect = mem.read(feat, state, FrameContext(frame_id=1)).detach()
    assert not torch.allclose(doubled, expect)
    with torch.no_grad():
        torch.testing.assert_close(mem.read(feat, state, FrameContext(frame_id=1)), expect)
        step(mem, state, torch.randn(1, 8, 4, 4), dets(), 2)  # a write: memory changed
        after_write = mem.read(feat, state, FrameContext(frame_id=3))
    torch.testing.assert_close(after_write, mem.read(feat, state, FrameContext(frame_id=3)))


# ---------------------------------------------------------------- write
def test_write_selects_replaces_and_keeps_better_objects():
    mem = sharp_memory()
    state = mem.new_state()
    # frame 0: object A (pattern e0) top-left, score .95 -> stored, 4 rows
    step(mem, state, feature_map({0: TOP_LEFT}), dets((BOX_TOP_LEFT, 0.95, 0)), 0)
    assert [(o.object_id, o.frame_id, o.label, o.rows.shape[0]) for o in state.objects] == \
        [(0, 0, 0, 4)]
    assert state.objects[0].locations.tolist() == [0, 1, 4, 5]
    torch.testing.assert_close(state.objects[0].rows, torch.eye(8)[0].expand(4, 8))
    # frame 1: A moved bottom-right, better score: similar (D ~ 1) -> replaces
    fmap1 = feature_map({(0, 2.0): BOTTOM_RIGHT})  # 2 * e0: reads e0 -> F~ = 1.5 * e0
    read1 = step(mem, state, fmap1, dets((BOX_BOTTOM_RIGHT, 0.97, 0)), 1)
    assert [(o.object_id, o.frame_id) for o in state.objects] == [(1, 1)]
    assert state.objects[0].score == pytest.approx(0.97)
    assert state.objects[0].locations.tolist() == [10, 11, 14, 15]
    # the rows come from F~ (after read), not from F
    locs = state.objects[0].locations
    torch.testing.assert_close(state.objects[0].rows, read1[0].flatten(1).t()[locs])
    torch.testing.assert_close(state.objects[0].rows, 1.5 * torch.eye(8)[0].expand(4, 8),
                               atol=1e-3, rtol=1e-3)
    # the old rows were attended: the record of frame 1's read shows where from
    rec = state.last_read
    assert rec.frame_id == 1
    top = top_attended_rows(rec.attn_mean, rec.provenance, query_index=10, k=2)
    assert [(t['kind'], t['object_id'], t['frame_id']) for t in top] == [('object', 0, 0)] * 2
    assert top[0]['box'] == BOX_TOP_LEFT and top[0]['weight'] > 0.2
    per_source = attention_per_source(rec.attn_mean, rec.provenance, query_index=10)
    assert per_source[0]['rows'] == 4 and per_source[0]['weight'] == pytest.approx(1.0, abs=1e-3)
    # frame 2: A again, worse score: similar to a better one -> not stored
    step(mem, state, feature_map({0: TOP_LEFT}), dets((BOX_TOP_LEFT, 0.92, 0)), 2)
    assert [o.object_id for o in state.objects] == [1]
    # frame 3: B (pattern e1), same class, dissimilar -> stored beside A;
    # A with class 1 is another class -> stored although it looks like A
    step(mem, state, feature_map({1: TOP_LEFT, 0: BOTTOM_RIGHT}),
         dets((BOX_TOP_LEFT, 0.93, 0), (BOX_BOTTOM_RIGHT, 0.91, 1)), 3)
    assert [(o.object_id, o.label, o.frame_id) for o in state.objects] == \
        [(1, 0, 1), (2, 0, 3), (3, 1, 3)]
    assert state.background is None
    assert state.stats() == dict(rows=12.0, objects=3.0, background_rows=0.0, size=12 / 16)


def test_no_confident_detection_writes_l2_norm_rows_that_replace_older_ones():
    mem = sharp_memory()
    state = mem.new_state()
    step(mem, state, feature_map({0: TOP_LEFT}), dets((BOX_TOP_LEFT, 0.95, 0)), 0)
    # frame 1: only a detection below tau: norm-1 cells beat the 0.5 background
    step(mem, state, feature_map({2: BOTTOM_RIGHT}), dets((BOX_BOTTOM_RIGHT, 0.85, 0)), 1)
    assert len(state.objects) == 1
    assert state.background.frame_id == 1
    assert state.background.locations.tolist() == [10, 11, 14, 15]
    # frame 2: nothing detected; two norm-2 cells replace all older background rows
    step(mem, state, feature_map({(1, 2.0): [(3, 0), (3, 1)]}), dets(), 2)
    assert state.background.frame_id == 2
    assert state.background.locations.tolist() == [12, 13]
    assert len(state.objects) == 1 and state.num_rows == 4 + 2
    prov = state.provenance()
    assert [prov.row(i)['kind'] for i in range(6)] == ['object'] * 4 + ['background'] * 2
    assert prov.row(5)['frame_id'] == 2 and prov.row(5)['label'] == -1
    # a frame with a confident detection leaves the background rows alone
    step(mem, state, feature_map({1: TOP_LEFT}), dets((BOX_TOP_LEFT, 0.95, 0)), 3)
    assert state.background.frame_id == 2 and len(state.objects) == 2


@pytest.mark.parametrize('policy, kept_frames', [('oldest', [1, 2]), ('lowest_score', [0, 2])])
def test_per_class_cap(policy, kept_frames):
    mem = sharp_memory(max_objects_per_class=2, evict_policy=policy)
    state = mem.new_state()
    scores = [0.99, 0.95, 0.97]
    for t, score in enumerate(scores):  # three dissimilar objects of class 0
        step(mem, state, feature_map({t: TOP_LEFT}), dets((BOX_TOP_LEFT, score, 0)), t)
    assert sorted(o.frame_id for o in state.objects) == kept_frames
    # another class is not affected by class 0's cap
    step(mem, state, feature_map({0: BOTTOM_RIGHT}), dets((BOX_BOTTOM_RIGHT, 0.95, 4)), 3)
    assert state.objects_per_class() == {0: 2, 4: 1}


def test_write_recomputes_attention_when_the_read_record_is_stale():
    mem = sharp_memory()
    state = mem.new_state()
    step(mem, state, feature_map({0: TOP_LEFT}), dets((BOX_TOP_LEFT, 0.95, 0)), 0)
    fmap = feature_map({0: BOTTOM_RIGHT, 1: TOP_LEFT})
    mem.read(fmap, state, FrameContext(frame_id=1))
    recorded = state.last_read.attn_mean
    stale = FrameContext(frame_id=2, feat=fmap)  # another frame: record not used
    recomputed = mem._write_attention(state, stale, (4, 4))
    assert recomputed is not recorded
    torch.testing.assert_close(recomputed, recorded)


def test_non_key_frames_and_write_interval_do_not_write():
    mem = sharp_memory(write_interval=2)
    state = mem.new_state()
    fmap = feature_map({0: TOP_LEFT})
    step(mem, state, fmap, dets((BOX_TOP_LEFT, 0.95, 0)), 0, is_key=False)
    step(mem, state, fmap, dets((BOX_TOP_LEFT, 0.95, 0)), 1)
    assert state.num_rows == 0
    step(mem, state, fmap, dets((BOX_TOP_LEFT, 0.95, 0)), 2)
    assert state.num_rows == 4


def test_pixel_state_reset():
    mem = sharp_memory()
    state = mem.new_state()
    step(mem, state, feature_map({0: TOP_LEFT}), dets((BOX_TOP_LEFT, 0.95, 0)), 0)
    step(mem, state, feature_map({1: TOP_LEFT}), dets(), 1)
    assert state.num_rows > 4 and state.last_read is not None
    version = state.version
    state.reset()
    assert state.num_rows == 0 and state.objects == [] and state.background is None
    assert state.last_read is None and state.next_object_id == 0 and state.version > version
    assert state.stats() == dict(rows=0.0, objects=0.0, background_rows=0.0, size=0.0)
    fmap = feature_map({0: TOP_LEFT})
    assert torch.equal(mem.read(fmap, state, FrameContext()), fmap)


# ------------------------------------------------------------- instance
def test_instance_memory_is_replaced_by_each_frame():
    torch.manual_seed(0)
    mem = build(level='instance', in_channels=8)  # RoI features (K, 2, 2, 2)
    state = mem.new_state()
    assert isinstance(state, InstanceMemoryState)
    rois0 = torch.randn(3, 2, 2, 2)
    ctx = FrameContext(frame_id=0, extra=dict(num_locations=16))
    assert torch.equal(mem.read(rois0, state, ctx), rois0)
    ctx.roi_feats = rois0
    mem.write(state, ctx)
    torch.testing.assert_close(state.rows, rois0.flatten(1))
    assert state.stats() == dict(rows=3.0, size=3 / 16)
    rois1 = torch.randn(5, 2, 2, 2)
    ctx1 = FrameContext(frame_id=1)
    out = mem.read(rois1, state, ctx1)
    assert out.shape == rois1.shape and not torch.equal(out, rois1)
    assert state.last_read.attn_mean.shape == (3, 5)
    ctx1.roi_feats = out.detach()
    mem.write(state, ctx1)
    assert state.num_rows == 5 and state.frame_id == 1
    assert state.provenance().location.tolist() == list(range(5))
    # zero RoIs: read passes through, write keeps the memory
    empty = torch.zeros(0, 2, 2, 2)
    assert mem.read(empty, state, FrameContext(frame_id=2)) is empty
    mem.write(state, FrameContext(frame_id=2, roi_feats=empty))
    assert state.num_rows == 5 and state.frame_id == 1
    state.reset()
    assert state.num_rows == 0 and state.stats() == dict(rows=0.0, size=0.0)
    with pytest.raises(ValueError, match='only the RoIs|proposals per frame'):
        mem.max_rows(16, 3)


def test_instance_size_unknown_without_the_map_size():
    mem = build(level='instance', in_channels=8)
    state = mem.new_state()
    mem.write(state, FrameContext(frame_id=0, roi_feats=torch.randn(2, 8)))
    assert math.isnan(state.stats()['size'])


# --------------------------------------------------------------- growth
def test_memory_stays_within_its_bound_over_a_long_random_stream():
    """300 frames of random features and detections (3 classes), key frames
    6x8 and down-sampled non-key frames 3x4 in between."""
    torch.manual_seed(0)
    mem = build()
    state = mem.new_state()
    num_classes, key_hw, key_input = 3, (6, 8), (48, 64)
    bound = mem.max_rows(num_locations=key_hw[0] * key_hw[1], num_classes=num_classes)
    peak_per_class, background_frames = 0, set()
    for t in range(300):
        is_key = t % 3 != 2
        size, input_hw = (key_hw, key_input) if is_key else ((3, 4), (24, 32))
        num = int(torch.randint(0, 5, ()))
        x1y1 = torch.rand(num, 2) * torch.tensor([48., 32.])
        wh = torch.rand(num, 2) * torch.tensor([16., 16.]) + 1
        detections = InstanceData(bboxes=torch.cat([x1y1, x1y1 + wh], 1),
                                  scores=torch.rand(num) * 0.3 + 0.7,
                                  labels=torch.randint(0, num_classes, (num, )))
        step(mem, state, torch.randn(1, 8, *size), detections, t, is_key=is_key,
             input_hw=input_hw)
        assert state.num_rows <= bound
        assert max(state.objects_per_class().values(), default=0) <= 10
        assert state.num_background_rows < key_hw[0] * key_hw[1]
        peak_per_class = max(peak_per_class, max(state.objects_per_class().values(), default=0))
        if state.background is not None:
            background_frames.add(state.background.frame_id)
        assert state.stats()['size'] == pytest.approx(state.num_rows / 48)
    assert peak_per_class == 10  # the cap was reached, so it was what held the bound
    assert len(background_frames) > 1  # background rows were replaced along the way
