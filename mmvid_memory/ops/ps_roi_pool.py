"""Position-sensitive RoI pooling (R-FCN) as a PyTorch custom op.

The compiled kernels live in ``mmvid_memory._C`` (``csrc/``) and are reached as
``torch.ops.mmvid_memory.ps_roi_pool``; this file registers their fake (meta)
implementations and their autograd formula. When the extension is missing,
:func:`ps_roi_pool` falls back, with one warning, to
:func:`ps_roi_pool_pytorch`, a vectorized pure-PyTorch implementation of the
same arithmetic.

Semantics (original R-FCN, Dai et al. 2016): a roi ``[b, x1, y1, x2, y2]`` in
image coordinates is rounded (halves away from zero), its end corner gets +1,
both corners are multiplied by ``spatial_scale``, and its width and height are
at least 0.1. Bin ``(i, j)`` of a ``kh x kw`` grid covers rows
``[floor(i * bh + y1), ceil((i + 1) * bh + y1))`` with ``bh = height / kh``
(columns likewise), clipped to the feature map; output channel ``c`` of that
bin is the mean of input channel ``(c * kh + i) * kw + j`` over the bin, or 0
for an empty bin. The backward is the exact adjoint of that forward.
"""
import warnings
from numbers import Integral
from typing import Optional, Sequence, Tuple, Union

import torch
from torch import Tensor, nn

__all__ = ['ps_roi_pool', 'ps_roi_pool_pytorch', 'PSRoIPool', 'compiled_ps_roi_pool_available']

OutputSize = Union[int, Sequence[int]]

_OP_NAME = 'mmvid_memory::ps_roi_pool'
_BACKWARD_OP_NAME = 'mmvid_memory::ps_roi_pool_backward'
# R-FCN raises a roi's extent to at least this many feature-map cells.
_MIN_ROI_SIZE = 0.1


def _load_compiled() -> Tuple[bool, Optional[str]]:
    """Import ``mmvid_memory._C`` (which registers the op) and report success."""
    try:
        from mmvid_memory import _C  # noqa: F401
    except ImportError as err:
        return False, f'{type(err).__name__}: {err}'
    for name in ('ps_roi_pool', 'ps_roi_pool_backward'):
        if not hasattr(torch.ops.mmvid_memory, name):
            return False, (f'mmvid_memory._C imported but does not register mmvid_memory::{name} '
                           '(a stale build?)')
    return True, None


_COMPILED, _LOAD_ERROR = _load_compiled()
_FALLBACK_WARNED = False


def compiled_ps_roi_pool_available() -> bool:
    """Whether the compiled op ``torch.ops.mmvid_memory.ps_roi_pool`` is registered."""
    return _COMPILED


def _pair(output_size: OutputSize) -> Tuple[int, int]:
    """``output_size`` as ``(kh, kw)``; both must be positive ints."""
    if isinstance(output_size, Integral):
        size = (output_size, output_size)
    elif isinstance(output_size, (tuple, list, torch.Size)):
        size = tuple(output_size)
    else:  # e.g. 2.5: bins cannot be fractional, and tuple() of it would be a bare TypeError
        size = ()
    if (len(size) != 2 or not all(isinstance(s, Integral) and not isinstance(s, bool) for s in size)
            or min(size) <= 0):
        raise ValueError(f'ps_roi_pool: output_size must be a positive int or a pair (kh, kw) of '
                         f'positive ints, got {output_size!r}')
    return int(size[0]), int(size[1])


def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).replace('torch.', '')


def _check_inputs(input: Tensor, rois: Tensor, pooled_height: int, pooled_width: int,
                  spatial_scale: float) -> None:
    """Shape, dtype and device checks; works on fake tensors (no data access).

    The messages are the same as the C++ kernels' (``csrc/ps_roi_pool_checks.h``).
    """
    if pooled_height <= 0 or pooled_width <= 0:
        raise ValueError(f'ps_roi_pool: output_size must be positive, got '
                         f'({pooled_height}, {pooled_width})')
    if not spatial_scale > 0 or spatial_scale == float('inf'):
        raise ValueError(f'ps_roi_pool: spatial_scale must be positive and finite, got '
                         f'{spatial_scale}')
    if input.dim() != 4:
        raise ValueError(f'ps_roi_pool: input must be a 4-D tensor (N, C*kh*kw, H, W), got shape '
                         f'{list(input.shape)}')
    if rois.dim() != 2 or rois.size(1) != 5:
        raise ValueError(f'ps_roi_pool: rois must have shape (K, 5) with rows '
                         f'[batch_index, x1, y1, x2, y2], got shape {list(rois.shape)}')
    bins = pooled_height * pooled_width
    if input.size(1) % bins != 0:
        raise ValueError(f'ps_roi_pool: input has {input.size(1)} channels, not divisible by '
                         f'kh*kw = {pooled_height}*{pooled_width} = {bins}')
    if not input.dtype.is_floating_point:
        raise TypeError(f'ps_roi_pool: input must be a floating-point tensor, got '
                        f'{_dtype_name(input.dtype)}')
    if rois.dtype != input.dtype:
        raise TypeError(f'ps_roi_pool: input and rois must have the same dtype, got input '
                        f'{_dtype_name(input.dtype)} and rois {_dtype_name(rois.dtype)}')
    if rois.device != input.device:
        raise ValueError(f'ps_roi_pool: input and rois must be on the same device, got input on '
                         f'{input.device} and rois on {rois.device}')


def _check_roi_values(rois: Tensor, batch_size: int) -> None:
    """Data checks: finite rows and batch indices in ``[0, N)`` (``int()`` truncation)."""
    if rois.numel() == 0:
        return
    batch_index = rois[:, 0]
    bad_index = ~((batch_index >= 0) & (batch_index < batch_size))
    non_finite = ~torch.isfinite(rois).all(dim=1)
    if not bool((bad_index | non_finite).any()):
        return
    first_non_finite = torch.nonzero(non_finite)
    if first_non_finite.numel():
        k = int(first_non_finite[0, 0])
        raise ValueError(f'ps_roi_pool: rois[{k}] has a non-finite value')
    k = int(torch.nonzero(bad_index)[0, 0])
    raise ValueError(f'ps_roi_pool: rois[{k}] has batch index {float(batch_index[k]):g}, outside '
                     f'[0, N) for input with N = {batch_size} images')


def _round_half_away_from_zero(x: Tensor) -> Tensor:
    """C's ``round``; exact because ``x - trunc(x)`` is exact in floating point."""
    whole = torch.trunc(x)
    step = torch.where((x - whole).abs() >= 0.5, torch.sign(x), torch.zeros_like(x))
    return whole + step


def _bin_edges(roi_start: Tensor, roi_end: Tensor, bins: int, size: int,
               spatial_scale: float) -> Tuple[Tensor, Tensor]:
    """First and one-past-last feature-map index of each bin along one axis.

    Args:
        roi_start (Tensor): (K,) start coordinates in image space (opmath dtype).
        roi_end (Tensor): (K,) end coordinates in image space (opmath dtype).
        bins (int): Number of bins along this axis (kh or kw).
        size (int): Feature-map size along this axis (H or W).
        spatial_scale (float): Image to feature-map scale.

    Returns:
        tuple[Tensor, Tensor]: (K, bins) int64 ``lo`` and ``hi`` in ``[0, size]``.
    """
    # One operation per step, in the kernels' order, so the results agree bit for bit.
    start = _round_half_away_from_zero(roi_start) * spatial_scale
    end = (_round_half_away_from_zero(roi_end) + 1) * spatial_scale
    bin_size = (end - start).clamp(min=_MIN_ROI_SIZE) / bins
    index = torch.arange(bins, dtype=roi_start.dtype, device=roi_start.device)
    lo = torch.floor(index * bin_size[:, None] + start[:, None])
    hi = torch.ceil((index + 1) * bin_size[:, None] + start[:, None])
    return lo.clamp(0, size).long(), hi.clamp(0, size).long()


def ps_roi_pool_pytorch(input: Tensor, rois: Tensor, output_size: OutputSize,
                        spatial_scale: float = 1.0) -> Tensor:
    """Vectorized pure-PyTorch PSRoIPool (same semantics as the compiled op).

    Bin sums are read from a float64 summed-area table, so the result is a
    float64-accurate mean cast to ``input.dtype``; autograd differentiates it.

    Args:
        input (Tensor): (N, C*kh*kw, H, W) position-sensitive score maps.
        rois (Tensor): (K, 5) rows ``[batch_index, x1, y1, x2, y2]`` in image
            coordinates, same dtype and device as ``input``.
        output_size (int | tuple[int, int]): ``kh`` (= ``kw``) or ``(kh, kw)``.
        spatial_scale (float): Scale from image to ``input`` coordinates.

    Returns:
        Tensor: (K, C, kh, kw) pooled features, dtype of ``input``.
    """
    kh, kw = _pair(output_size)
    spatial_scale = float(spatial_scale)
    _check_inputs(input, rois, kh, kw, spatial_scale)
    _check_roi_values(rois, input.size(0))
    _, num_maps, height, width = input.shape
    channels = num_maps // (kh * kw)
    # Coordinates are rounded, scaled and binned in the kernels' type (at::opmath_type):
    # float64 for float64 data, float32 otherwise.
    opmath = torch.float64 if input.dtype == torch.float64 else torch.float32
    coords = rois.detach().to(opmath)
    rows_lo, rows_hi = _bin_edges(coords[:, 2], coords[:, 4], kh, height, spatial_scale)
    cols_lo, cols_hi = _bin_edges(coords[:, 1], coords[:, 3], kw, width, spatial_scale)

    # table[n, m, r, q] = sum of input[n, m, :r, :q]
    table = input.to(torch.float64).cumsum(2).cumsum(3)
    table = nn.functional.pad(table, (1, 0, 1, 0)).reshape(-1)
    plane_size = (height + 1) * (width + 1)
    device = input.device
    map_index = torch.arange(num_maps, device=device).view(channels, kh, kw)
    plane = (rois[:, 0].detach().long()[:, None, None, None] * num_maps + map_index) * plane_size

    def corner(rows: Tensor, cols: Tensor) -> Tensor:
        return table[plane + rows[:, None, :, None] * (width + 1) + cols[:, None, None, :]]

    total = (corner(rows_hi, cols_hi) - corner(rows_lo, cols_hi) - corner(rows_hi, cols_lo)
             + corner(rows_lo, cols_lo))
    area = ((rows_hi - rows_lo)[:, None, :, None] * (cols_hi - cols_lo)[:, None, None, :])
    mean = torch.where(area > 0, total / area.clamp(min=1), torch.zeros_like(total))
    return mean.to(input.dtype)


def _warn_fallback_once() -> None:
    global _FALLBACK_WARNED
    if not _FALLBACK_WARNED:
        _FALLBACK_WARNED = True
        warnings.warn(
            'mmvid_memory.ops.ps_roi_pool: the compiled extension mmvid_memory._C is not '
            f'available ({_LOAD_ERROR}); using the slower pure-PyTorch implementation. '
            'Rebuild it with `python setup.py build_ext --inplace`.', RuntimeWarning, stacklevel=3)


def ps_roi_pool(input: Tensor, rois: Tensor, output_size: OutputSize,
                spatial_scale: float = 1.0) -> Tensor:
    """Position-sensitive RoI pooling (R-FCN).

    Args:
        input (Tensor): (N, C*kh*kw, H, W) position-sensitive score maps;
            float32/float64 on the CPU, also float16/bfloat16 on CUDA.
        rois (Tensor): (K, 5) rows ``[batch_index, x1, y1, x2, y2]`` in image
            coordinates, same dtype and device as ``input``.
        output_size (int | tuple[int, int]): ``kh`` (= ``kw``) or ``(kh, kw)``.
        spatial_scale (float): Scale from image to ``input`` coordinates,
            e.g. 1/16 for a stride-16 feature map.

    Returns:
        Tensor: (K, C, kh, kw); output channel ``c`` of bin ``(i, j)`` pools
        input channel ``(c * kh + i) * kw + j``.
    """
    kh, kw = _pair(output_size)
    if not _COMPILED:
        _warn_fallback_once()
        return ps_roi_pool_pytorch(input, rois, (kh, kw), spatial_scale)
    return torch.ops.mmvid_memory.ps_roi_pool(input, rois, kh, kw, float(spatial_scale))


class PSRoIPool(nn.Module):
    """Module form of :func:`ps_roi_pool` (arguments as in mmcv's ``RoIPool``).

    Args:
        output_size (int | tuple[int, int]): ``kh`` (= ``kw``) or ``(kh, kw)``.
        spatial_scale (float): Scale from image to feature-map coordinates.
    """

    def __init__(self, output_size: OutputSize, spatial_scale: float = 1.0) -> None:
        super().__init__()
        self.output_size = _pair(output_size)
        self.spatial_scale = float(spatial_scale)

    def forward(self, input: Tensor, rois: Tensor) -> Tensor:
        """Pool ``input`` (N, C*kh*kw, H, W) over ``rois`` (K, 5) into (K, C, kh, kw)."""
        return ps_roi_pool(input, rois, self.output_size, self.spatial_scale)

    def extra_repr(self) -> str:
        return f'output_size={self.output_size}, spatial_scale={self.spatial_scale}'


if _COMPILED:

    @torch.library.register_fake(_OP_NAME)
    def _ps_roi_pool_fake(input: Tensor, rois: Tensor, pooled_height: int, pooled_width: int,
                          spatial_scale: float) -> Tensor:
        _check_inputs(input, rois, pooled_height, pooled_width, spatial_scale)
        channels = input.size(1) // (pooled_height * pooled_width)
        return input.new_empty((rois.size(0), channels, pooled_height, pooled_width))

    @torch.library.register_fake(_BACKWARD_OP_NAME)
    def _ps_roi_pool_backward_fake(grad_output: Tensor, rois: Tensor, pooled_height: int,
                                   pooled_width: int, spatial_scale: float, batch_size: int,
                                   num_maps: int, height: int, width: int) -> Tensor:
        return grad_output.new_empty((batch_size, num_maps, height, width))

    def _setup_context(ctx, inputs, output) -> None:
        input, rois, pooled_height, pooled_width, spatial_scale = inputs
        ctx.save_for_backward(rois)
        ctx.pool_args = (pooled_height, pooled_width, spatial_scale)
        ctx.input_shape = tuple(input.shape)

    def _backward(ctx, grad_output: Tensor):
        grad_input = None
        if ctx.needs_input_grad[0]:
            (rois, ) = ctx.saved_tensors
            grad_input = torch.ops.mmvid_memory.ps_roi_pool_backward(
                grad_output, rois, *ctx.pool_args, *ctx.input_shape)
        return grad_input, None, None, None, None

    torch.library.register_autograd(_OP_NAME, _backward, setup_context=_setup_context)

    def _setup_backward_context(ctx, inputs, output) -> None:
        grad_output, rois, pooled_height, pooled_width, spatial_scale = inputs[:5]
        ctx.save_for_backward(rois)
        ctx.pool_args = (pooled_height, pooled_width, spatial_scale)

    def _backward_backward(ctx, grad_grad_input: Tensor):
        # The backward is linear in grad_output, and its adjoint is the forward.
        grad_grad_output = None
        if ctx.needs_input_grad[0]:
            (rois, ) = ctx.saved_tensors
            grad_grad_output = torch.ops.mmvid_memory.ps_roi_pool(grad_grad_input, rois,
                                                                  *ctx.pool_args)
        return (grad_grad_output, ) + (None, ) * 8

    torch.library.register_autograd(_BACKWARD_OP_NAME, _backward_backward,
                                    setup_context=_setup_backward_context)
