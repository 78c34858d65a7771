"""PSRoIPool: compiled op (CPU; CUDA where a GPU exists) and the pure-PyTorch fallback.

Both are checked against a loop-per-bin float64 reference written here from the
R-FCN definition, against pinned values, by float64 gradcheck (bins on the
border and degenerate rois included), by torch.library.opcheck, and on every
bad-input case with its message.
"""
import importlib
import math
import re
import warnings
from typing import List, Tuple

import pytest
import torch
from torch import Tensor

from mmvid_memory.ops import PSRoIPool, compiled_ps_roi_pool_available, ps_roi_pool
from mmvid_memory.ops import ps_roi_pool_pytorch

psroi_module = importlib.import_module('mmvid_memory.ops.ps_roi_pool')

needs_compiled = pytest.mark.skipif(not compiled_ps_roi_pool_available(),
                                    reason='mmvid_memory._C is not built')
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA device')


def compiled_op(input: Tensor, rois: Tensor, output_size, spatial_scale: float = 1.0) -> Tensor:
    """The registered op itself, never the fallback."""
    kh, kw = (output_size, output_size) if isinstance(output_size, int) else output_size
    return torch.ops.mmvid_memory.ps_roi_pool(input, rois, kh, kw, float(spatial_scale))


IMPLEMENTATIONS = [
    pytest.param(compiled_op, id='compiled', marks=needs_compiled),
    pytest.param(ps_roi_pool_pytorch, id='fallback'),
]


# ----------------------------------------------------------------------------- reference
def c_round(value: float) -> float:
    """C's round(): halves away from zero."""
    return math.copysign(math.floor(abs(value) + 0.5), value)


def reference_ps_roi_pool(input: Tensor, rois: Tensor, pooled_height: int, pooled_width: int,
                          spatial_scale: float) -> Tensor:
    """R-FCN's position-sensitive RoI pooling, one bin at a time, in float64.

    Args:
        input (Tensor): (N, C*kh*kw, H, W).
        rois (Tensor): (K, 5) rows [batch_index, x1, y1, x2, y2].

    Returns:
        Tensor: (K, C, kh, kw) float64.
    """
    data = input.detach().double()
    _, num_maps, height, width = data.shape
    channels = num_maps // (pooled_height * pooled_width)
    output = torch.zeros(rois.size(0), channels, pooled_height, pooled_width,
                         dtype=torch.float64)
    for k, (batch, x1, y1, x2, y2) in enumerate(rois.double().tolist()):
        start_w, start_h = c_round(x1) * spatial_scale, c_round(y1) * spatial_scale
        end_w, end_h = (c_round(x2) + 1) * spatial_scale, (c_round(y2) + 1) * spatial_scale
        bin_h = max(end_h - start_h, 0.1) / pooled_height
        bin_w = max(end_w - start_w, 0.1) / pooled_width
        for i in range(pooled_height):
            h0 = min(max(math.floor(i * bin_h + start_h), 0), height)
            h1 = min(max(math.ceil((i + 1) * bin_h + start_h), 0), height)
            for j in range(pooled_width):
                w0 = min(max(math.floor(j * bin_w + start_w), 0), width)
                w1 = min(max(math.ceil((j + 1) * bin_w + start_w), 0), width)
                if h1 <= h0 or w1 <= w0:
                    continue
                for c in range(channels):
                    map_index = (c * pooled_height + i) * pooled_width + j
                    output[k, c, i, j] = data[int(batch), map_index, h0:h1, w0:w1].mean()
    return output


# ----------------------------------------------------------------------------- inputs
def random_rois(num_rois: int, num_images: int, height: int, width: int, spatial_scale: float,
                generator: torch.Generator) -> Tensor:
    """Rois in image coordinates: ordinary, half-integer, zero-size, inverted, off-image."""
    image_h, image_w = height / spatial_scale, width / spatial_scale
    rois: List[List[float]] = []
    for k in range(num_rois):
        u = torch.rand(4, generator=generator, dtype=torch.float64).tolist()
        kind = k % 5
        if kind == 0:  # anywhere, possibly across the border
            x1, x2 = sorted([(u[0] * 1.4 - 0.2) * image_w, (u[1] * 1.4 - 0.2) * image_w])
            y1, y2 = sorted([(u[2] * 1.4 - 0.2) * image_h, (u[3] * 1.4 - 0.2) * image_h])
        elif kind == 1:  # half-integer corners exercise the rounding
            x1, y1 = math.floor(u[0] * image_w) + 0.5, math.floor(u[1] * image_h) + 0.5
            x2, y2 = x1 + math.floor(u[2] * image_w), y1 + math.floor(u[3] * image_h)
        elif kind == 2:  # zero size
            x1 = x2 = u[0] * image_w
            y1 = y2 = u[1] * image_h
        elif kind == 3:  # inverted (x2 < x1): extent clamps to 0.1
            x2, x1 = sorted([u[0] * image_w, u[1] * image_w])
            y2, y1 = sorted([u[2] * image_h, u[3] * image_h])
        else:  # entirely outside the image
            x1, y1 = image_w + 2 + u[0] * image_w, -image_h - 5 + u[1]
            x2, y2 = x1 + u[2] * image_w, y1 + u[3] * image_h
        batch = float(torch.randint(0, num_images, (1, ), generator=generator))
        rois.append([batch, x1, y1, x2, y2])
    return torch.tensor(rois, dtype=torch.float64)


def random_case(seed: int, dtype: torch.dtype = torch.float64,
                max_rois: int = 10) -> Tuple[Tensor, Tensor, Tuple[int, int], float]:
    """A random small problem: input (N, C*kh*kw, H, W), rois (K, 5), (kh, kw), scale."""
    generator = torch.Generator().manual_seed(seed)

    def randint(low: int, high: int) -> int:
        return int(torch.randint(low, high + 1, (1, ), generator=generator))

    pooled = (randint(1, 4), randint(1, 4))
    num_images, channels, height, width = randint(1, 3), randint(1, 3), randint(1, 9), randint(1, 9)
    spatial_scale = [1.0, 0.5, 0.25, 1 / 3, 1 / 16][seed % 5]
    input = torch.randn(num_images, channels * pooled[0] * pooled[1], height, width,
                        generator=generator, dtype=torch.float64)
    rois = random_rois(randint(1, max_rois), num_images, height, width, spatial_scale, generator)
    return input.to(dtype), rois.to(dtype), pooled, spatial_scale


# ----------------------------------------------------------------------------- values
@pytest.mark.parametrize('impl', IMPLEMENTATIONS)
@pytest.mark.parametrize('seed', range(8))
def test_matches_reference(impl, seed):
    input, rois, pooled, scale = random_case(seed)
    output = impl(input, rois, pooled, scale)
    assert output.shape == (rois.size(0), input.size(1) // (pooled[0] * pooled[1]), *pooled)
    assert output.dtype == torch.float64
    torch.testing.assert_close(output, reference_ps_roi_pool(input, rois, *pooled, scale),
                               rtol=0, atol=1e-12)


@pytest.mark.parametrize('impl', IMPLEMENTATIONS)
def test_pinned_values(impl):
    # One image, C = 1, 2x2 bins: channel m holds 16*m + arange(16) on a 4x4 map.
    input = (torch.arange(64, dtype=torch.float32).view(1, 4, 4, 4))
    rois = torch.tensor([
        [0, 0.0, 0.0, 3.0, 3.0],  # whole map: bins [0,2) and [2,4) on each axis
        [0, 0.5, 0.5, 2.5, 2.5],  # rounds half away from zero to [1, 3] -> end 4
        [0, 10.0, 10.0, 12.0, 12.0],  # off the map: every bin empty
        [0, -0.5, -0.5, 0.4, 0.4],  # rounds to [-1, 0]: bin 0 = row/col -1 (clipped: empty)
    ])
    output = impl(input, rois, 2, 1.0)
    expected = torch.tensor([
        [[[2.5, 20.5], [42.5, 60.5]]],
        [[[7.5, 24.5], [43.5, 60.5]]],
        [[[0.0, 0.0], [0.0, 0.0]]],
        [[[0.0, 0.0], [0.0, 48.0]]],
    ])
    torch.testing.assert_close(output, expected, rtol=0, atol=0)


@pytest.mark.parametrize('impl', IMPLEMENTATIONS)
def test_spatial_scale_and_rectangular_bins(impl):
    # 2x3 bins on an 8x12 map of a stride-4 image; one roi covering the image.
    input = torch.randn(2, 2 * 2 * 3, 8, 12, dtype=torch.float64,
                        generator=torch.Generator().manual_seed(3))
    rois = torch.tensor([[1, 0.0, 0.0, 47.0, 31.0]], dtype=torch.float64)
    output = impl(input, rois, (2, 3), 0.25)
    # Exactly a 4x4 block per bin.
    blocks = input[1].view(2, 2, 3, 2, 4, 3, 4)  # (c, i, j, bin rows, 4, bin cols, 4)
    expected = torch.stack([blocks[:, i, j, i, :, j, :].mean(dim=(-1, -2)) for i in range(2)
                            for j in range(3)], dim=-1).view(1, 2, 2, 3)
    torch.testing.assert_close(output, expected, rtol=0, atol=1e-12)


@needs_compiled
@pytest.mark.parametrize('seed', range(4))
def test_fallback_matches_compiled_float32(seed):
    input, rois, pooled, scale = random_case(100 + seed, torch.float32, max_rois=20)
    compiled_input = input.clone().requires_grad_(True)
    fallback_input = input.clone().requires_grad_(True)
    compiled = compiled_op(compiled_input, rois, pooled, scale)
    fallback = ps_roi_pool_pytorch(fallback_input, rois, pooled, scale)
    torch.testing.assert_close(compiled, fallback, rtol=1e-5, atol=1e-6)
    grad = torch.randn_like(compiled)
    compiled.backward(grad)
    fallback.backward(grad)
    torch.testing.assert_close(compiled_input.grad, fallback_input.grad, rtol=1e-5, atol=1e-6)


@needs_compiled
@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
def test_cpu_half_precision_matches_float32(dtype):
    input, rois, pooled, scale = random_case(7, torch.float32, max_rois=12)
    # Round the data to the 16-bit type first so that only the arithmetic differs.
    input, rois = input.to(dtype), rois.to(dtype)
    output = compiled_op(input, rois, pooled, scale)
    assert output.dtype == dtype
    expected = compiled_op(input.float(), rois.float(), pooled, scale)
    torch.testing.assert_close(output.float(), expected, rtol=1e-2, atol=1e-2)


@pytest.mark.parametrize('impl', IMPLEMENTATIONS)
def test_non_contiguous_inputs(impl):
    input, rois, pooled, scale = random_case(11)
    # input as a channels-last view and rois as a strided column slice of a wider tensor
    input_nc = input.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2)
    wide = torch.zeros(rois.size(0), 9, dtype=rois.dtype)
    wide[:, ::2] = rois
    rois_nc = wide[:, ::2]
    assert not input_nc.is_contiguous() and not rois_nc.is_contiguous()
    input_nc.requires_grad_(True)
    output = impl(input_nc, rois_nc, pooled, scale)
    torch.testing.assert_close(output, impl(input, rois, pooled, scale), rtol=0, atol=0)
    output.sum().backward()
    leaf = input.clone().requires_grad_(True)
    impl(leaf, rois, pooled, scale).sum().backward()
    torch.testing.assert_close(input_nc.grad, leaf.grad, rtol=0, atol=0)


@pytest.mark.parametrize('impl', IMPLEMENTATIONS)
def test_no_rois_gives_empty_output_and_zero_gradient(impl):
    input = torch.randn(2, 3 * 2 * 2, 5, 6, dtype=torch.float64, requires_grad=True)
    rois = torch.zeros(0, 5, dtype=torch.float64)
    output = impl(input, rois, 2, 0.5)
    assert output.shape == (0, 3, 2, 2)
    output.sum().backward()
    assert input.grad.shape == input.shape
    assert torch.count_nonzero(input.grad) == 0


# ----------------------------------------------------------------------------- gradients
@pytest.mark.parametrize('impl', IMPLEMENTATIONS)
@pytest.mark.parametrize('seed', range(4))
def test_gradcheck_float64(impl, seed):
    input, rois, pooled, scale = random_case(200 + seed, max_rois=6)
    input.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda x: impl(x, rois, pooled, scale), (input, ))


@pytest.mark.parametrize('impl', IMPLEMENTATIONS)
def test_gradcheck_bins_on_the_border(impl):
    # 3x3 bins on a 5x5 map; each roi has bins that end exactly on row/column 5 or beyond
    # it, start before 0, or are degenerate. The adjoint must cover the last row/column.
    input = torch.randn(1, 2 * 9, 5, 5, dtype=torch.float64, requires_grad=True,
                        generator=torch.Generator().manual_seed(5))
    rois = torch.tensor([
        [0, 0.0, 0.0, 4.0, 4.0],  # exactly the map
        [0, 2.0, 2.0, 9.0, 9.0],  # across the bottom-right border
        [0, -3.0, -3.0, 1.0, 1.0],  # across the top-left border
        [0, 4.0, 4.0, 4.0, 4.0],  # one cell at the corner
        [0, 3.0, 1.0, 2.0, 0.0],  # inverted: extent 0.1
        [0, 6.0, 6.0, 8.0, 8.0],  # outside: all bins empty
    ], dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda x: impl(x, rois, 3, 1.0), (input, ))
    grad = torch.autograd.grad(impl(input, rois, 3, 1.0).sum(), input)[0]
    assert grad[0, :, 4, :].abs().sum() > 0 and grad[0, :, :, 4].abs().sum() > 0


@needs_compiled
def test_gradgradcheck_compiled():
    input, rois, pooled, scale = random_case(300, max_rois=5)
    input.requires_grad_(True)
    assert torch.autograd.gradgradcheck(lambda x: compiled_op(x, rois, pooled, scale), (input, ))


@needs_compiled
def test_backward_is_deterministic():
    input, rois, pooled, scale = random_case(301, torch.float32, max_rois=20)
    grad = torch.randn(rois.size(0), input.size(1) // (pooled[0] * pooled[1]), *pooled)
    args = (grad, rois, *pooled, scale, *input.shape)
    first = torch.ops.mmvid_memory.ps_roi_pool_backward(*args)
    assert torch.equal(first, torch.ops.mmvid_memory.ps_roi_pool_backward(*args))


# ----------------------------------------------------------------------------- registration
@needs_compiled
@pytest.mark.parametrize('seed', [0, 2])
def test_opcheck(seed):
    input, rois, pooled, scale = random_case(400 + seed, max_rois=4)
    input.requires_grad_(True)
    torch.library.opcheck(torch.ops.mmvid_memory.ps_roi_pool.default,
                          (input, rois, *pooled, scale))
    grad = torch.randn(rois.size(0), input.size(1) // (pooled[0] * pooled[1]), *pooled,
                       dtype=torch.float64, requires_grad=True)
    torch.library.opcheck(torch.ops.mmvid_memory.ps_roi_pool_backward.default,
                          (grad, rois, *pooled, scale, *input.shape))


@needs_compiled
def test_torch_compile_fullgraph():
    input, rois, pooled, scale = random_case(500, torch.float32, max_rois=6)

    def head(features: Tensor, boxes: Tensor) -> Tensor:
        return ps_roi_pool(features * 2, boxes, pooled, scale).mean(dim=(2, 3))

    # aot_eager traces through the fake op and the registered autograd without
    # compiling C++ (inductor would take tens of seconds on these machines).
    compiled_head = torch.compile(head, fullgraph=True, backend='aot_eager')
    eager_input = input.clone().requires_grad_(True)
    compiled_input = input.clone().requires_grad_(True)
    expected = head(eager_input, rois)
    output = compiled_head(compiled_input, rois)
    torch.testing.assert_close(output, expected)
    expected.sum().backward()
    output.sum().backward()
    torch.testing.assert_close(compiled_input.grad, eager_input.grad)


def test_fallback_warns_once(monkeypatch):
    monkeypatch.setattr(psroi_module, '_COMPILED', False)
    monkeypatch.setattr(psroi_module, '_FALLBACK_WARNED', False)
    input, rois, pooled, scale = random_case(600)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        first = ps_roi_pool(input, rois, pooled, scale)
        ps_roi_pool(input, rois, pooled, scale)
    fallback_warnings = [w for w in caught if 'pure-PyTorch' in str(w.message)]
    assert len(fallback_warnings) == 1
    torch.testing.assert_close(first, reference_ps_roi_pool(input, rois, *pooled, scale),
                               rtol=0, atol=1e-12)


def test_module():
    pool = PSRoIPool((2, 3), spatial_scale=0.5)
    assert pool.output_size == (2, 3) and pool.spatial_scale == 0.5
    assert 'output_size=(2, 3), spatial_scale=0.5' in repr(pool)
    assert PSRoIPool(7).output_size == (7, 7)
    input = torch.randn(1, 4 * 6, 6, 7, dtype=torch.float64)
    rois = torch.tensor([[0, 1.0, 2.0, 11.0, 9.0]], dtype=torch.float64)
    torch.testing.assert_close(pool(input, rois),
                               reference_ps_roi_pool(input, rois, 2, 3, 0.5), rtol=0,
                               atol=1e-12)


# ----------------------------------------------------------------------------- bad input
def bad_input_cases():
    """(name, args, exception type, literal part of the message) for each rejected input."""
    x = torch.randn(2, 8, 5, 5)
    rois = torch.tensor([[0, 0.0, 0.0, 3.0, 3.0], [1, 1.0, 1.0, 4.0, 4.0]])
    return [
        ('channels not divisible', (torch.randn(1, 7, 5, 5), rois[:1], 2, 1.0), ValueError,
         'input has 7 channels, not divisible by kh*kw = 2*2 = 4'),
        ('input not 4-D', (torch.randn(8, 5, 5), rois, 2, 1.0), ValueError,
         'input must be a 4-D tensor (N, C*kh*kw, H, W), got shape [8, 5, 5]'),
        ('rois (K, 4)', (x, rois[:, 1:], 2, 1.0), ValueError,
         'rois must have shape (K, 5) with rows [batch_index, x1, y1, x2, y2], got shape [2, 4]'),
        ('rois 1-D', (x, rois[0], 2, 1.0), ValueError, 'got shape [5]'),
        ('batch index = N', (x, torch.tensor([[0, 0.0, 0, 1, 1], [2, 0.0, 0, 1, 1]]), 2, 1.0),
         ValueError, 'rois[1] has batch index 2, outside [0, N) for input with N = 2 images'),
        ('negative batch index', (x, torch.tensor([[-1, 0.0, 0, 1, 1]]), 2, 1.0), ValueError,
         'rois[0] has batch index -1, outside [0, N) for input with N = 2 images'),
        ('nan roi', (x, torch.tensor([[0, 0.0, float('nan'), 1, 1]]), 2, 1.0), ValueError,
         'rois[0] has a non-finite value'),
        ('dtype mismatch', (x, rois.double(), 2, 1.0), TypeError,
         'input and rois must have the same dtype, got input float32 and rois float64'),
        ('integer input', (x.long(), rois.long(), 2, 1.0), TypeError,
         'input must be a floating-point tensor, got int64'),
        ('device mismatch', (x, rois.to('meta'), 2, 1.0), ValueError,
         'input and rois must be on the same device, got input on cpu and rois on meta'),
        ('zero output size', (x, rois, (0, 2), 1.0), ValueError, 'output_size must be'),
        ('fractional output size', (x, rois, 2.5, 1.0), ValueError,
         'output_size must be a positive int or a pair (kh, kw) of positive ints, got 2.5'),
        ('string output size', (x, rois, '7', 1.0), ValueError, "got '7'"),
        ('zero spatial scale', (x, rois, 2, 0.0), ValueError,
         'spatial_scale must be positive and finite, got 0'),
    ]


BAD_CASES = bad_input_cases()


@pytest.mark.parametrize('impl', [pytest.param(ps_roi_pool, id='op', marks=needs_compiled),
                                  pytest.param(ps_roi_pool_pytorch, id='fallback')])
@pytest.mark.parametrize('case', BAD_CASES, ids=[case[0] for case in BAD_CASES])
def test_bad_input_raises_clear_error(impl, case):
    _, args, error, message = case
    with pytest.raises(error, match=re.escape(message)):
        impl(*args)


def test_module_refuses_fractional_output_size():
    with pytest.raises(ValueError, match=re.escape('positive ints, got 2.5')):
        PSRoIPool(output_size=2.5, spatial_scale=1 / 16)


@needs_compiled
def test_bad_output_size_in_compiled_op():
    # The public wrapper rejects it before the op; the op itself must too.
    x, rois = torch.randn(1, 4, 5, 5), torch.tensor([[0, 0.0, 0, 3, 3]])
    with pytest.raises(ValueError, match=re.escape('output_size must be positive, got (0, 2)')):
        torch.ops.mmvid_memory.ps_roi_pool(x, rois, 0, 2, 1.0)


@needs_compiled
def test_backward_op_rejects_wrong_grad_shape():
    rois = torch.tensor([[0, 0.0, 0, 3, 3]])
    with pytest.raises(ValueError, match=re.escape('grad_output must have shape [1, 2, 2, 2]')):
        torch.ops.mmvid_memory.ps_roi_pool_backward(torch.randn(1, 3, 2, 2), rois, 2, 2, 1.0, 1,
                                                    8, 5, 5)


# ----------------------------------------------------------------------------- CUDA
CUDA_DTYPES = [(torch.float32, 1e-5), (torch.float64, 1e-12), (torch.float16, 2e-3),
               (torch.bfloat16, 1e-2)]


@pytest.mark.cuda
@needs_cuda
@needs_compiled
@pytest.mark.parametrize('dtype,tolerance', CUDA_DTYPES, ids=lambda v: str(v))
@pytest.mark.parametrize('seed', range(3))
def test_cuda_matches_cpu(seed, dtype, tolerance):
    input, rois, pooled, scale = random_case(700 + seed, max_rois=30)
    input, rois = input.to(dtype), rois.to(dtype)
    # The CPU kernel runs the same opmath arithmetic on the same 16-bit values.
    cpu_input = input.clone().requires_grad_(True)
    cuda_input = input.cuda().requires_grad_(True)
    stream = torch.cuda.Stream()
    with torch.cuda.stream(stream):  # kernels must run on the current stream
        cuda_output = compiled_op(cuda_input, rois.cuda(), pooled, scale)
        grad = torch.randn(cuda_output.shape, dtype=torch.float64).to(dtype)
        cuda_output.backward(grad.cuda())
    stream.synchronize()
    cpu_output = compiled_op(cpu_input, rois, pooled, scale)
    cpu_output.backward(grad)
    torch.testing.assert_close(cuda_output.cpu(), cpu_output, rtol=tolerance, atol=tolerance)
    torch.testing.assert_close(cuda_input.grad.cpu(), cpu_input.grad, rtol=tolerance,
                               atol=tolerance)


@pytest.mark.cuda
@needs_cuda
@needs_compiled
def test_cuda_gradcheck_and_errors():
    input, rois, pooled, scale = random_case(800, max_rois=6)
    input = input.cuda().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda x: compiled_op(x, rois.cuda(), pooled, scale),
                                    (input, ))
    with pytest.raises(ValueError, match='must be on the same device, got input on cuda:0 and '
                       'rois on cpu'):
        compiled_op(input, rois, pooled, scale)
    bad_rois = rois.clone()
    bad_rois[-1, 0] = input.size(0)
    with pytest.raises(ValueError, match=rf'rois\[{rois.size(0) - 1}\] has batch index'):
        compiled_op(input, bad_rois.cuda(), pooled, scale)
    empty = compiled_op(input, rois[:0].cuda(), pooled, scale)
    assert empty.shape == (0, input.size(1) // (pooled[0] * pooled[1]), *pooled)


@pytest.mark.cuda
@needs_cuda
@needs_compiled
@pytest.mark.parametrize('seed', [0, 2])
def test_cuda_opcheck(seed):
    """The CUDA kernels against their schema, fake and autograd registration."""
    input, rois, pooled, scale = random_case(900 + seed, max_rois=4)
    input, rois = input.cuda().requires_grad_(True), rois.cuda()
    torch.library.opcheck(torch.ops.mmvid_memory.ps_roi_pool.default,
                          (input, rois, *pooled, scale))
    grad = torch.randn(rois.size(0), input.size(1) // (pooled[0] * pooled[1]), *pooled,
                       dtype=torch.float64, device='cuda', requires_grad=True)
    torch.library.opcheck(torch.ops.mmvid_memory.ps_roi_pool_backward.default,
                          (grad, rois, *pooled, scale, *input.shape))
