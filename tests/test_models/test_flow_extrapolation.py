"""Anticipation (constant acceleration), box propagation, propagation windows."""
import pytest
import torch

from mmvid_memory.models.memory import (align_previous_flow, anticipate_memory, extrapolate_flows,
                                        flow_acceleration, flow_warp, frames_since_evidence,
                                        mean_flow_in_boxes, propagate_boxes, uses_image_evidence)


def uniform(dx: float, dy: float, h: int = 6, w: int = 9) -> torch.Tensor:
    flow = torch.zeros(1, 2, h, w)
    flow[:, 0], flow[:, 1] = dx, dy
    return flow


def test_constant_acceleration_uniform_field_is_exact():
    """Velocity v_t = v0 + a t (pixels per frame); the field D_{t,t-1} is -v_t."""
    v0, acc = torch.tensor([0.5, -1.0]), torch.tensor([0.25, 0.5])

    def field(t):
        v = v0 + acc * t
        return uniform(-v[0].item(), -v[1].item())

    future = extrapolate_flows(field(2), field(1), num_steps=4)
    assert len(future) == 4
    for j, predicted in enumerate(future, start=1):
        assert torch.equal(predicted, field(2 + j))


def test_constant_velocity_and_plain_formula():
    last = uniform(1.0, 2.0)
    assert all(torch.equal(f, last) for f in extrapolate_flows(last, None, num_steps=3))
    assert all(torch.equal(f, last) for f in extrapolate_flows(last, last, num_steps=3))
    prev = uniform(0.5, 1.0)
    plain = extrapolate_flows(last, prev, num_steps=2, follow_content=False)
    assert torch.equal(plain[1], last + 2 * (last - prev))


def test_alignment_samples_the_older_field_where_content_was():
    """A[p] = D_{t-1,t-2}[p + D_{t,t-1}[p]]: an exact integer look-up here."""
    prev = torch.zeros(1, 2, 4, 6)
    prev[0, 0] = torch.arange(6.)  # x-component varies along x
    last = uniform(2.0, 0.0, 4, 6)
    aligned = align_previous_flow(prev, last)
    assert aligned[0, 0, 0].tolist() == [2., 3., 4., 5., 5., 5.]  # border-clamped
    accel = flow_acceleration(last, prev)
    assert torch.equal(accel[:, 0], 2.0 - aligned[:, 0])


def test_anticipated_memory_of_an_accelerating_pattern():
    """A blob moves +1, +2 px (accelerating by 1 px/frame^2): anticipation puts it at +3, +4
    steps further, exactly (integer shifts)."""
    def blob(x0):
        feat = torch.zeros(1, 1, 3, 24)
        feat[0, 0, 1, x0:x0 + 2] = torch.tensor([1.0, 2.0])
        return feat

    # Positions 1, 2, 4 at frames t-2, t-1, t; the content moves right, so D = -v.
    flow_prev, flow_last = uniform(-1, 0, 3, 24), uniform(-2, 0, 3, 24)
    futures = anticipate_memory(blob(4), flow_last, flow_prev, num_steps=3)
    assert [torch.equal(f, blob(x)) for f, x in zip(futures, (7, 11, 16))] == [True] * 3


def test_extrapolation_checks():
    with pytest.raises(ValueError, match='num_steps'):
        extrapolate_flows(uniform(0, 0), uniform(0, 0), num_steps=0)
    with pytest.raises(ValueError, match='differ'):
        extrapolate_flows(uniform(0, 0), uniform(0, 0, 3, 3))


def test_box_propagation_uniform_field():
    boxes = torch.tensor([[10., 20., 50., 60.], [0., 0., 4., 4.]])
    backward = uniform(-0.5, 0.25, 8, 8)  # D_{t,s}: content moved by (+0.5, -0.25) cells
    moved = propagate_boxes(boxes, backward, stride=16)
    assert torch.equal(moved, boxes + torch.tensor([8., -4., 8., -4.]))
    forward = uniform(0.5, -0.25, 8, 8)  # D_{s,t}
    assert torch.equal(propagate_boxes(boxes, forward, stride=16, direction='forward'), moved)
    assert propagate_boxes(boxes[:0], backward, stride=16).shape == (0, 4)


def test_box_propagation_reads_the_field_inside_the_box():
    """Only the object's region moves; the box follows it, the background box stays."""
    flow = torch.zeros(1, 2, 10, 10)  # D_{s,t} (forward), stride 8: an 80x80 image
    flow[0, 0, 2:6, 2:6] = 1.5
    boxes = torch.tensor([[20., 20., 44., 44.], [64., 64., 76., 76.]])
    moved = propagate_boxes(boxes, flow, stride=8, direction='forward')
    assert torch.allclose(moved[0], boxes[0] + torch.tensor([12., 0., 12., 0.]))
    assert torch.equal(moved[1], boxes[1])
    mean = mean_flow_in_boxes(boxes, flow[0], stride=8)
    assert mean.shape == (2, 2)
    with pytest.raises(ValueError, match='direction'):
        propagate_boxes(boxes, flow, stride=8, direction='sideways')
    with pytest.raises(ValueError, match='boxes'):
        propagate_boxes(boxes[:, :3], flow, stride=8)


def test_propagation_windows():
    # delta = 2, window = 3: evidence at 0, 3, 6; frames 2, 5 are 2 frames after it.
    assert [uses_image_evidence(f, 2) for f in range(7)] == [
        True, False, False, True, False, False, True]
    assert [frames_since_evidence(f, 2) for f in range(7)] == [0, 1, 2, 0, 1, 2, 0]
    # delta = 4 in windows of 10: the last 4 frames of each window are propagated.
    assert [uses_image_evidence(f, 4, 10) for f in range(10)] == [True] * 6 + [False] * 4
    assert [frames_since_evidence(f, 4, 10) for f in range(10)] == [0] * 6 + [1, 2, 3, 4]
    assert all(uses_image_evidence(f, 0) for f in range(5))
    with pytest.raises(ValueError, match='window'):
        uses_image_evidence(0, 4, 4)
    with pytest.raises(ValueError, match='delta'):
        uses_image_evidence(0, -1)


def test_anticipation_follows_a_spatially_varying_field():
    """Content at rest on the left half, moving at constant velocity on the right: the
    extrapolated fields keep each region's motion (exact away from the boundary)."""
    field = torch.zeros(1, 2, 4, 16)
    field[0, 0, :, 8:] = -1.0  # right half moves +1 px per frame
    future = extrapolate_flows(field, None, num_steps=2)
    for f in future:
        assert torch.equal(f[..., :7], field[..., :7])
        assert torch.equal(f[..., 10:], field[..., 10:])
    mem = torch.arange(16.).view(1, 1, 1, 16).repeat(1, 1, 4, 1)
    assert torch.equal(flow_warp(mem, future[0])[..., 10:], mem[..., 9:15])
