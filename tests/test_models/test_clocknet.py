"""ClockNetAggregator: the clock schedule, per-scale fields, mean over memories."""
import pytest
import torch
from mmdet.registry import MODELS

import mmvid_memory  # noqa: F401
from mmvid_memory.models.memory import (ClockNetAggregator, MemNetWarper, clock_strides,
                                        clocknet_anchors, clocknet_schedule, clocknet_updates)

from .test_memnet import TINY_FLOW, const_feats, ctx_for, run

T, F_ = True, False



def test_seed_strides():
    assert clock_strides((1, 3, 4)) == (1, 4, 8)
    with pytest.raises(ValueError, match='start at 1'):
        clock_strides((0, 1))


def test_schedule_which_memory_takes_evidence():
    expected = [
        (T, T, T),  # frame 0: the first frame starts every memory
        (T, F_, F_), (T, F_, F_), (T, F_, F_),
        (T, T, F_),  # frame 4
        (T, F_, F_), (T, F_, F_), (T, F_, F_),
        (T, T, T),  # frame 8
        (T, F_, F_),
    ]
    assert clocknet_schedule(10, (1, 4, 8)) == expected
    # A clip that starts inside a video: its first frame starts all memories.
    assert clocknet_schedule(4, (1, 4, 8), start_frame=37) == [
        (T, T, T), (T, F_, F_), (T, F_, F_), (T, T, T)]
    assert clocknet_updates(12, (1, 4, 8)) == (T, T, F_)
    with pytest.raises(ValueError, match='strides'):
        clocknet_updates(0, (1, 0))


def test_anchors():
    anchors = clocknet_anchors(10, (1, 4, 8))
    assert anchors[0] == (None, None, None)
    assert anchors[1] == (0, 0, 0)
    assert anchors[3] == (2, 0, 0)
    assert anchors[5] == (4, 4, 0)
    assert anchors[8] == (7, 4, 0)
    assert anchors[9] == (8, 8, 8)


def test_hand_computed_two_scales_zero_flow():
    memory = ClockNetAggregator(strides=(1, 2), flow_net=dict(type='ZeroFlow')).eval()
    outs, state = run(memory, const_feats([1, 3, 5, 9]))
    # stride 1: 1, 2, 3.5, 6.25; stride 2: 1, (1), (1 + 5) / 2 = 3, (3); output: their mean.
    assert [o.flatten()[0].item() for o in outs] == [1.0, 1.5, 3.25, 4.625]
    assert [s.anchor_frame for s in state.scales] == [3, 2]


def test_each_memory_warps_from_its_anchor():
    """One field per memory per frame, D_{t, anchor_k} (N_F = N_W = 3)."""
    memory = ClockNetAggregator(strides=(1, 4, 8), flow_net=dict(type='HandShiftFlow'),
                                share_flows=False).eval()
    state = memory.new_state()
    anchors = clocknet_anchors(11, (1, 4, 8))
    for t, feat in enumerate(const_feats(range(11))):
        memory.read(feat, state, ctx_for(t))
        if t == 0:
            assert memory.flow_net.calls == []
            continue
        assert memory.flow_net.calls[-3:] == [(t, a) for a in anchors[t]]
        assert state.stats()['flows'] == 3 and state.stats()['warps'] == 3
    assert memory.flow_net.calls[-3:] == [(10, 9), (10, 8), (10, 8)]
    assert state.stats()['memory_maps'] == 3


def test_shared_flows_compute_one_field_per_anchor():
    memory = ClockNetAggregator(flow_net=dict(type='HandShiftFlow')).eval()
    state = memory.new_state()
    flows = []
    for t, feat in enumerate(const_feats(range(10))):
        memory.read(feat, state, ctx_for(t))
        flows.append(state.stats()['flows'])
        assert state.stats()['warps'] == (0 if t == 0 else 3)
    # Distinct anchors: frame 1 (0,0,0), 5 (4,4,0), 9 (8,8,8).
    assert flows == [0, 1, 2, 2, 2, 2, 3, 3, 3, 1]


def test_shared_and_separate_flows_agree():
    torch.manual_seed(0)
    feats = [torch.randn(1, 4, 2, 2) for _ in range(9)]
    imgs = [torch.randn(1, 3, 32, 32) for _ in range(9)]
    shared = ClockNetAggregator(flow_net=TINY_FLOW).eval()
    separate = ClockNetAggregator(flow_net=TINY_FLOW, share_flows=False).eval()
    separate.load_state_dict(shared.state_dict())
    for a, b in zip(run(shared, feats, imgs=imgs)[0], run(separate, feats, imgs=imgs)[0]):
        assert torch.equal(a, b)


def test_single_scale_is_memnet():
    torch.manual_seed(0)
    feats = [torch.randn(1, 4, 2, 2) for _ in range(4)]
    imgs = [torch.randn(1, 3, 32, 32) for _ in range(4)]
    memnet = MemNetWarper(flow_net=TINY_FLOW).eval()
    clock = ClockNetAggregator(strides=(1, ), flow_net=TINY_FLOW).eval()
    clock.load_state_dict(memnet.state_dict())
    for a, b in zip(run(memnet, feats, imgs=imgs)[0], run(clock, feats, imgs=imgs)[0]):
        assert torch.equal(a, b)


def test_gradient_reaches_flow_net_through_read():
    torch.manual_seed(0)
    memory = ClockNetAggregator(strides=(1, 2), flow_net=TINY_FLOW, evidence_drop_prob=0.0,
                                aggregation='weighted', in_channels=4).train()
    feats = [torch.randn(1, 4, 2, 2, requires_grad=True) for _ in range(3)]
    outs, _ = run(memory, feats, imgs=[torch.randn(1, 3, 32, 32) for _ in range(3)])
    sum(o.square().sum() for o in outs[1:]).backward()
    for name, param in memory.flow_net.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name
    assert feats[0].grad.abs().sum() > 0


def test_propagation_delta_zero_equals_normal_inference():
    torch.manual_seed(0)
    feats = [torch.randn(1, 4, 2, 2) for _ in range(6)]
    imgs = [torch.randn(1, 3, 32, 32) for _ in range(6)]
    memory = ClockNetAggregator(flow_net=TINY_FLOW).eval()
    normal = run(memory, feats, imgs=imgs)[0]
    memory.set_propagation(delta=0, window=3)
    assert all(torch.equal(a, b) for a, b in zip(run(memory, feats, imgs=imgs)[0], normal))


def test_propagation_re_anchors_without_evidence():
    """delta=1: odd frames are warped only; memories due then move their anchor."""
    memory = ClockNetAggregator(strides=(1, 2), flow_net=dict(type='ZeroFlow'),
                                propagation=dict(delta=1)).eval()
    outs, state = run(memory, const_feats([1, 3, 5, 9, 11]))
    # stride 1: 1, (1), (1+5)/2=3, (3), (3+11)/2=7; stride 2: 1, 1, 3, 3, 7.
    assert [o.flatten()[0].item() for o in outs] == [1.0, 1.0, 3.0, 3.0, 7.0]


def test_anticipation_without_a_stride_one_memory_computes_the_step_field():
    memory = ClockNetAggregator(strides=(2, 4), flow_net=dict(type='HandShiftFlow'),
                                propagation=dict(delta=1, window=4, anticipate=True)).eval()
    outs, state = run(memory, const_feats([1, 2, 3, 4]))
    # Frame 1: anchors (0, 0) and the step (1, 0) are one field; frame 2: anchors 0, 0
    # again plus the step field (2, 1); frame 3 is anticipated (no network call).
    assert memory.flow_net.calls == [(1, 0), (2, 0), (2, 1)]
    assert len(state.step_fields) == 2 and state.last_mode == 'anticipate'


def test_registered_with_seed_defaults():
    memory = MODELS.build(dict(type='ClockNetAggregator', flow_net=TINY_FLOW))
    assert memory.strides == (1, 4, 8) and memory.evidence_drop_prob == 0.8
    assert memory.new_state().num_scales == 3
