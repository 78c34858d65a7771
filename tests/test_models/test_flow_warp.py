"""flow_warp and the field helpers: identity, exact shifts, zeros outside."""
import pytest
import torch
import torch.nn.functional as F

from mmvid_memory.models.memory import flow_warp, resize_flow, sample_field, sample_points


def shifted(feat: torch.Tensor, dx: int, dy: int) -> torch.Tensor:
    """Reference backward warp by an integer shift: out[y, x] = feat[y+dy, x+dx]."""
    h, w = feat.shape[-2:]
    out = torch.zeros_like(feat)
    ys, ye = max(0, -dy), min(h, h - dy)
    xs, xe = max(0, -dx), min(w, w - dx)
    if ys < ye and xs < xe:
        out[..., ys:ye, xs:xe] = feat[..., ys + dy:ye + dy, xs + dx:xe + dx]
    return out


def uniform_flow(n: int, h: int, w: int, dx: float, dy: float) -> torch.Tensor:
    flow = torch.zeros(n, 2, h, w)
    flow[:, 0] = dx
    flow[:, 1] = dy
    return flow


@pytest.mark.parametrize('size', [(7, 10), (38, 63), (1, 5), (4, 1), (1, 1)])
def test_zero_flow_is_identity(size):
    torch.manual_seed(0)
    feat = torch.randn(2, 3, *size)
    assert torch.equal(flow_warp(feat, torch.zeros(2, 2, *size)), feat)


@pytest.mark.parametrize('dx,dy', [(3, -2), (-1, 0), (0, 4), (5, 5), (-12, 1), (63, 0)])
@pytest.mark.parametrize('size', [(7, 10), (38, 63), (1, 5)])
def test_integer_shift_is_exact_with_zeros_outside(dx, dy, size):
    torch.manual_seed(1)
    feat = torch.randn(1, 4, *size) + 10.0  # no true zeros inside
    out = flow_warp(feat, uniform_flow(1, *size, dx, dy))
    expected = shifted(feat, dx, dy)
    assert torch.equal(out, expected)
    # Every location that reads outside the map is exactly zero.
    assert (out == 0).sum() == (expected == 0).sum()


def test_shift_direction_is_backward():
    """out[p] = feat[p + flow[p]]: a +1 x-flow brings the right neighbour."""
    feat = torch.arange(5.).view(1, 1, 1, 5)
    out = flow_warp(feat, uniform_flow(1, 1, 5, 1.0, 0.0))
    assert out.flatten().tolist() == [1., 2., 3., 4., 0.]


def test_fractional_flow_is_bilinear():
    feat = torch.tensor([[0., 10.], [20., 30.]]).view(1, 1, 2, 2)
    out = flow_warp(feat, uniform_flow(1, 2, 2, 0.25, 0.5))
    # p = (0, 0) samples (0.25, 0.5): rows 0/1 mixed 1:1, columns 3:1.
    assert out[0, 0, 0, 0].item() == pytest.approx(0.5 * (2.5 + 22.5))
    # p = (1, 1) samples (1.25, 1.5): half of its weight lies outside.
    assert out[0, 0, 1, 1].item() == pytest.approx(0.75 * 0.5 * 30.0)


def test_matches_grid_sample_align_corners_true():
    torch.manual_seed(2)
    feat = torch.randn(2, 3, 9, 13)
    flow = torch.randn(2, 2, 9, 13) * 4
    h, w = feat.shape[-2:]
    ys, xs = torch.meshgrid(torch.arange(h).float(), torch.arange(w).float(), indexing='ij')
    grid = torch.stack([2 * (xs + flow[:, 0]) / (w - 1) - 1,
                        2 * (ys + flow[:, 1]) / (h - 1) - 1], dim=-1)
    ref = F.grid_sample(feat, grid, mode='bilinear', padding_mode='zeros', align_corners=True)
    torch.testing.assert_close(flow_warp(feat, flow), ref, atol=1e-5, rtol=1e-5)


def test_gradients_wrt_feat_and_flow():
    torch.manual_seed(3)
    feat = torch.randn(1, 2, 4, 5, dtype=torch.float64, requires_grad=True)
    # Keep sample points off integer positions, where bilinear is not smooth.
    flow = (torch.rand(1, 2, 4, 5, dtype=torch.float64) * 0.8 + 0.1).requires_grad_(True)
    assert torch.autograd.gradcheck(flow_warp, (feat, flow))


def test_shape_errors_name_the_input():
    feat = torch.zeros(1, 3, 4, 5)
    with pytest.raises(ValueError, match='flow'):
        flow_warp(feat, torch.zeros(1, 2, 4, 6))
    with pytest.raises(ValueError, match='flow'):
        flow_warp(feat, torch.zeros(1, 3, 4, 5))
    with pytest.raises(ValueError, match='feat'):
        flow_warp(torch.zeros(3, 4, 5), torch.zeros(1, 2, 4, 5))


def test_sample_field_clamps_to_border():
    field = torch.arange(4.).view(1, 1, 1, 4).repeat(1, 2, 1, 1)
    out = sample_field(field, uniform_flow(1, 1, 4, 2.0, 0.0))
    assert out[0, 0, 0].tolist() == [2., 3., 3., 3.]


def test_sample_points():
    field = torch.tensor([[0., 10.], [20., 30.]]).view(1, 2, 2)
    values = sample_points(field, torch.tensor([0.5, 5.0]), torch.tensor([0.5, -1.0]))
    assert values[0].tolist() == pytest.approx([15.0, 10.0])


def test_resize_flow_rescales_vectors():
    flow = uniform_flow(1, 4, 6, 1.5, -2.0)
    out = resize_flow(flow, (8, 3))
    assert out.shape == (1, 2, 8, 3)
    assert torch.allclose(out[:, 0], torch.full((1, 8, 3), 0.75))
    assert torch.allclose(out[:, 1], torch.full((1, 8, 3), -4.0))
    assert resize_flow(flow, (4, 6)) is flow


def test_flow_warp_and_gather_sampler_agree_inside():
    """Two implementations (padded grid_sample, floor + gather) on the same samples."""
    torch.manual_seed(4)
    feat = torch.randn(2, 5, 9, 14)
    flow = (torch.rand(2, 2, 9, 14) * 2 - 1) * 0.9  # every sample of the interior is inside
    torch.testing.assert_close(flow_warp(feat, flow)[..., 1:-1, 1:-1],
                               sample_field(feat, flow)[..., 1:-1, 1:-1])
