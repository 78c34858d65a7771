"""MemNetWarper: Eq. 1-4 on hand-computed numbers, training, state, propagation."""
from typing import List, Optional, Sequence

import pytest
import torch
import torch.nn as nn
from mmdet.registry import MODELS
from mmengine.model import BaseModule

import mmvid_memory  # noqa: F401
from mmvid_memory.models.memory import FrameContext, MemNetWarper, WarpMemoryState, flow_warp

TINY_FLOW = dict(type='FlowNetS', base_channels=4, feature_stride=16, zero_init_last=False)



@MODELS.register_module(force=True)
class HandShiftFlow(BaseModule):
    """A displacement network that returns one uniform field (dx, dy), for hand checks.

    It also records the (current, reference) image markers it was called with: the
    tests put the frame id into every pixel of the image.
    """

    def __init__(self, dx: float = 0.0, dy: float = 0.0, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.dx, self.dy = dx, dy
        self.calls: List[tuple] = []

    def forward(self, img_cur, img_ref, out_size=None, out_stride=None):
        self.calls.append((int(img_cur[0, 0, 0, 0]), int(img_ref[0, 0, 0, 0])))
        h, w = out_size
        flow = img_cur.new_zeros((img_cur.shape[0], 2, h, w))
        flow[:, 0], flow[:, 1] = self.dx, self.dy
        return flow


@MODELS.register_module(force=True)
class AcceleratingFlow(BaseModule):
    """The true field of a scene translating along x with constant acceleration.

    Content sits at x + pos(t), pos(t) = v t + a t (t - 1) / 2, so
    D_{t,s} = -(pos(t) - pos(s)); frame ids are read from the images.
    """

    def __init__(self, v: float = 1.0, a: float = 1.0, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.v, self.a = v, a

    def pos(self, t: int) -> float:
        return self.v * t + self.a * t * (t - 1) / 2

    def forward(self, img_cur, img_ref, out_size=None, out_stride=None):
        t, s = int(img_cur[0, 0, 0, 0]), int(img_ref[0, 0, 0, 0])
        flow = img_cur.new_zeros((img_cur.shape[0], 2) + tuple(out_size))
        flow[:, 0] = -(self.pos(t) - self.pos(s))
        return flow


def frame_img(frame_id: int, size: int = 32) -> torch.Tensor:
    return torch.full((1, 3, size, size), float(frame_id))


def ctx_for(frame_id: int, img: Optional[torch.Tensor] = None, video_id=0) -> FrameContext:
    img = frame_img(frame_id) if img is None else img
    return FrameContext(img=img, frame_id=frame_id, video_id=video_id,
                        batch_input_shape=tuple(img.shape[-2:]))


def run(memory, feats: Sequence[torch.Tensor], state=None, imgs=None, start: int = 0):
    state = memory.new_state() if state is None else state
    outs = []
    for i, feat in enumerate(feats):
        img = None if imgs is None else imgs[i]
        outs.append(memory.read(feat, state, ctx_for(start + i, img)))
    return outs, state


def const_feats(values, channels=2, size=2):
    return [torch.full((1, channels, size, size), float(v)) for v in values]


def test_mean_psi_hand_computed_zero_flow():
    memory = MemNetWarper(flow_net=dict(type='FlowNetS', base_channels=4)).eval()  # zero field
    outs, state = run(memory, const_feats([1, 3, 5, 9]))
    # M1 = F1; M2 = (1 + 3) / 2; M3 = (2 + 5) / 2; M4 = (3.5 + 9) / 2
    assert [o.flatten()[0].item() for o in outs] == [1.0, 2.0, 3.5, 6.25]
    assert state.stats()['flows'] == 1 and state.stats()['warps'] == 1


def test_mean_psi_hand_computed_with_shift():
    """M2 = (phi(F1, D) + F2) / 2 with an exact integer shift, zeros entering the border."""
    memory = MemNetWarper(flow_net=dict(type='HandShiftFlow', dx=1, dy=0)).eval()
    f1 = torch.tensor([[1., 2., 3.], [4., 5., 6.]]).view(1, 1, 2, 3)
    f2 = torch.full((1, 1, 2, 3), 10.)
    outs, _ = run(memory, [f1, f2])
    expected = torch.tensor([[(2 + 10) / 2, (3 + 10) / 2, 10 / 2],
                             [(5 + 10) / 2, (6 + 10) / 2, 10 / 2]]).view(1, 1, 2, 3)
    assert torch.equal(outs[0], f1)
    assert torch.equal(outs[1], expected)
    assert memory.flow_net.calls == [(1, 0)]  # D_{t, t-1} = flow_net(I_1, I_0)


def test_weighted_psi_starts_as_mean_and_weights_sum_to_one():
    torch.manual_seed(0)
    weighted = MemNetWarper(flow_net=dict(type='HandShiftFlow'), aggregation='weighted',
                            in_channels=3, aggregation_hidden_channels=4).eval()
    feats = [torch.randn(1, 3, 4, 4) for _ in range(3)]
    mean = MemNetWarper(flow_net=dict(type='HandShiftFlow')).eval()
    for a, b in zip(run(weighted, feats)[0], run(mean, feats)[0]):
        torch.testing.assert_close(a, b)
    # Trained weights: alpha_M + alpha_F = 1, so psi(X, X) = X for any X.
    for param in weighted.aggregator.parameters():
        nn.init.normal_(param, std=0.5)
    x = torch.randn(1, 3, 4, 4)
    torch.testing.assert_close(weighted.psi(x, x), x)
    mixed = weighted.psi(torch.zeros(1, 3, 4, 4), torch.ones(1, 3, 4, 4))  # = alpha_F
    assert ((mixed > 0) & (mixed < 1)).all()
    assert torch.allclose(mixed[:, 0], mixed[:, 1])  # one weight per pixel
    with pytest.raises(ValueError, match='in_channels'):
        MemNetWarper(flow_net=dict(type='HandShiftFlow'), aggregation='weighted')


def test_gradient_reaches_flow_net_through_read_over_three_frames():
    torch.manual_seed(0)
    memory = MemNetWarper(flow_net=TINY_FLOW, aggregation='weighted', in_channels=4,
                          evidence_drop_prob=0.0).train()
    feats = [torch.randn(1, 4, 2, 2, requires_grad=True) for _ in range(3)]
    imgs = [torch.randn(1, 3, 32, 32) for _ in range(3)]
    outs, _ = run(memory, feats, imgs=imgs)
    outs[-1].square().sum().backward()
    for name, param in memory.flow_net.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name
    assert memory.aggregator.memory_score[2].weight.grad.abs().sum() > 0
    # Gradients through time: the first frame's features shape the third output.
    assert feats[0].grad is not None and feats[0].grad.abs().sum() > 0


def test_gradient_reaches_zero_initialised_predictor():
    memory = MemNetWarper(flow_net=dict(type='FlowNetS', base_channels=4),
                          evidence_drop_prob=0.0).train()
    feats = [torch.randn(1, 4, 2, 2) for _ in range(3)]
    outs, _ = run(memory, feats, imgs=[torch.randn(1, 3, 32, 32) for _ in range(3)])
    outs[-1].square().sum().backward()
    assert memory.flow_net.predict_flow3.weight.grad.abs().sum() > 0


def test_evidence_drop_only_in_training():
    f1, f2 = torch.randn(1, 2, 3, 3), torch.randn(1, 2, 3, 3)
    memory = MemNetWarper(flow_net=dict(type='HandShiftFlow', dx=1), evidence_drop_prob=1.0)
    shift = torch.zeros(1, 2, 3, 3)
    shift[:, 0] = 1
    memory.train()
    outs, state = run(memory, [f1, f2])
    assert torch.equal(outs[0], f1)  # the first frame always keeps its evidence
    assert torch.equal(outs[1], flow_warp(f1, shift))  # M2 = phi(M1, D) only
    assert state.last_mode == 'warp_only'
    memory.eval()
    outs, state = run(memory, [f1, f2])
    assert torch.equal(outs[1], 0.5 * (flow_warp(f1, shift) + f2))
    assert state.last_mode == 'evidence'
    memory.train()
    memory.evidence_drop_prob = 0.0
    assert torch.equal(run(memory, [f1, f2])[0][1], outs[1])


def test_evidence_drop_rate():
    memory = MemNetWarper(flow_net=dict(type='HandShiftFlow'), evidence_drop_prob=0.8).train()
    torch.manual_seed(0)
    feats = const_feats(range(200), channels=1, size=1)
    state = memory.new_state()
    drops = 0
    for t, feat in enumerate(feats):
        memory.read(feat, state, ctx_for(t))
        drops += state.last_mode == 'warp_only'
    assert 0.7 < drops / 199 < 0.9


def test_state_reset_and_interleaved_videos():
    torch.manual_seed(0)
    memory = MemNetWarper(flow_net=TINY_FLOW).eval()
    video_a = [(torch.randn(1, 4, 2, 2), torch.randn(1, 3, 32, 32)) for _ in range(4)]
    video_b = [(torch.randn(1, 4, 2, 2), torch.randn(1, 3, 32, 32)) for _ in range(4)]
    alone_a = run(memory, [f for f, _ in video_a], imgs=[i for _, i in video_a])[0]
    alone_b = run(memory, [f for f, _ in video_b], imgs=[i for _, i in video_b])[0]
    state_a, state_b = memory.new_state(), memory.new_state()
    for t in range(4):
        out_a = memory.read(video_a[t][0], state_a, ctx_for(t, video_a[t][1], 'a'))
        out_b = memory.read(video_b[t][0], state_b, ctx_for(t, video_b[t][1], 'b'))
        assert torch.equal(out_a, alone_a[t]) and torch.equal(out_b, alone_b[t])
    state_a.reset()
    assert state_a.is_empty and state_a.stats()['memory_bytes'] == 0
    again = run(memory, [f for f, _ in video_b], state=state_a, imgs=[i for _, i in video_b])[0]
    assert all(torch.equal(x, y) for x, y in zip(again, alone_b))


def test_frames_out_of_order_are_rejected():
    memory = MemNetWarper(flow_net=dict(type='HandShiftFlow')).eval()
    _, state = run(memory, const_feats([1, 2]))
    with pytest.raises(ValueError, match='frame 1 read after frame 1'):
        memory.read(const_feats([3])[0], state, ctx_for(1))


def test_propagation_delta_zero_equals_normal_inference():
    torch.manual_seed(0)
    feats = [torch.randn(1, 4, 2, 2) for _ in range(5)]
    imgs = [torch.randn(1, 3, 32, 32) for _ in range(5)]
    memory = MemNetWarper(flow_net=TINY_FLOW).eval()
    normal = run(memory, feats, imgs=imgs)[0]
    memory.set_propagation(delta=0)
    assert all(torch.equal(a, b) for a, b in zip(run(memory, feats, imgs=imgs)[0], normal))
    built = MemNetWarper(flow_net=TINY_FLOW, propagation=dict(delta=0, window=4)).eval()
    built.load_state_dict(memory.state_dict())
    assert all(torch.equal(a, b) for a, b in zip(run(built, feats, imgs=imgs)[0], normal))


def test_propagation_warps_without_evidence():
    """delta=2, window=3: frames 0, 3 give evidence; 1, 2, 4, 5 are only warped."""
    memory = MemNetWarper(flow_net=dict(type='HandShiftFlow', dx=1),
                          propagation=dict(delta=2)).eval()
    feats = [torch.randn(1, 2, 3, 4) for _ in range(6)]
    outs, state = run(memory, feats)
    shift = torch.zeros(1, 2, 3, 4)
    shift[:, 0] = 1
    assert torch.equal(outs[1], flow_warp(feats[0], shift))
    assert torch.equal(outs[2], flow_warp(outs[1], shift))
    assert torch.equal(outs[3], 0.5 * (flow_warp(outs[2], shift) + feats[3]))
    # Fields still come from consecutive images on propagated frames.
    assert memory.flow_net.calls == [(1, 0), (2, 1), (3, 2), (4, 3), (5, 4)]
    memory.training = True
    with pytest.raises(ValueError, match='window'):
        memory.set_propagation(delta=3, window=3)


def test_anticipation_uses_no_images():
    """Anticipated frames: no flow network, extrapolated constant velocity carries on."""
    memory = MemNetWarper(flow_net=dict(type='HandShiftFlow', dx=1),
                          propagation=dict(delta=3, window=6, anticipate=True)).eval()
    feats = [torch.randn(1, 1, 2, 8) for _ in range(6)]
    outs, state = run(memory, feats)
    # Frames 0-2 observed (fields D_{1,0}, D_{2,1} = +1); 3-5 anticipated.
    assert memory.flow_net.calls == [(1, 0), (2, 1)]
    assert state.stats()['flows'] == 0 and state.last_mode == 'anticipate'
    for k in (1, 2, 3):
        shift = torch.zeros(1, 2, 2, 8)
        shift[:, 0] = k
        assert torch.equal(outs[2 + k], flow_warp(outs[2], shift))
    # Frame 6 starts a new window: back to evidence, warped from the last image (frame 2).
    out6 = memory.read(feats[0], state, ctx_for(6))
    assert memory.flow_net.calls[-1] == (6, 2)
    assert state.last_mode == 'evidence' and out6.shape == feats[0].shape


def test_anticipation_extrapolates_constant_acceleration():
    """Observed frames 0-2 (steps of 1 and 2 px), anticipated 3-5: 3, 4, 5 px more."""
    memory = MemNetWarper(flow_net=dict(type='AcceleratingFlow', v=1, a=1),
                          propagation=dict(delta=3, window=6, anticipate=True)).eval()
    torch.manual_seed(0)
    feats = [torch.randn(1, 2, 3, 24) for _ in range(6)]
    outs, _ = run(memory, feats)
    for t, step in ((3, 3), (4, 4), (5, 5)):
        shift = torch.zeros(1, 2, 3, 24)
        shift[:, 0] = -step
        assert torch.equal(outs[t], flow_warp(outs[t - 1], shift)), t


def test_stats_and_clone():
    memory = MemNetWarper(flow_net=dict(type='HandShiftFlow')).eval()
    outs, state = run(memory, const_feats([1, 2, 3]))
    stats = state.stats()
    assert stats['flows'] == 1 and stats['warps'] == 1 and stats['memory_maps'] == 1
    assert stats['mean_flows'] == pytest.approx(2 / 3)
    assert stats['memory_bytes'] > 0
    copy = state.clone()
    assert isinstance(copy, WarpMemoryState)
    later = memory.read(const_feats([7])[0], copy, ctx_for(3))
    assert state.last_frame_id == 2 and copy.last_frame_id == 3
    assert torch.equal(memory.read(const_feats([7])[0], state, ctx_for(3)), later)


def test_bad_inputs():
    with pytest.raises(ValueError, match="level must be 'pixel'"):
        MemNetWarper(flow_net=dict(type='HandShiftFlow'), level='instance')
    with pytest.raises(ValueError, match='evidence_drop_prob'):
        MemNetWarper(flow_net=dict(type='HandShiftFlow'), evidence_drop_prob=1.5)
    memory = MemNetWarper(flow_net=dict(type='HandShiftFlow')).eval()
    state = memory.new_state()
    with pytest.raises(ValueError, match='ctx.img'):
        memory.read(torch.zeros(1, 2, 2, 2), state, FrameContext(img=None))
    memory.read(torch.zeros(1, 2, 2, 2), state, ctx_for(0))
    with pytest.raises(ValueError, match='does not match the memory'):
        memory.read(torch.zeros(1, 3, 2, 2), state, ctx_for(1))
    with pytest.raises(ValueError, match='warp_mode'):
        ctx = ctx_for(2)
        ctx.extra['warp_mode'] = 'skip'
        memory.read(torch.zeros(1, 2, 2, 2), state, ctx)


def test_default_config_builds_full_flownets():
    memory = MODELS.build(dict(type='MemNetWarper'))
    assert memory.flow_net.base_channels == 64 and memory.flow_net.out_level == 3
    assert memory.evidence_drop_prob == 0.8 and memory.aggregation == 'mean'
