"""Time PSRoIPool on R-FCN's shapes: compiled op vs pure-PyTorch fallback (vs torchvision).

R-FCN with 7x7 bins and 31 classes (30 ImageNet VID classes + background) pools
7*7*31 = 1519 score channels and 7*7*4 = 196 box channels from a stride-16
feature map of a ~600x1000 image (38x63), for 300 rois (and a 1000-roi case).

Prints one row per case and implementation with the best-of-N forward and
forward+backward times (the minimum is the figure least disturbed by other
processes on a shared machine; the median is printed too) and the speed-up
over the fallback, after checking that every implementation agrees with the
fallback. Not a test: no timing is asserted anywhere.

Example::

    python tools/analysis_tools/benchmark_psroi_pool.py --threads 2
"""
import argparse
import statistics
import time
from typing import Callable, Dict, List, Optional, Tuple

import torch
from torch import Tensor

from mmvid_memory.ops.ps_roi_pool import (compiled_ps_roi_pool_available, ps_roi_pool,
                                          ps_roi_pool_pytorch)

POOL_SIZE = 7
NUM_CLASSES = 31
FEATURE_HEIGHT, FEATURE_WIDTH = 38, 63
STRIDE = 16

# (name, channels per bin, number of rois)
CASES = [
    ('cls 300 rois', NUM_CLASSES, 300),
    ('reg 300 rois', 4, 300),
    ('cls 1000 rois', NUM_CLASSES, 1000),
    ('reg 1000 rois', 4, 1000),
]

PoolFn = Callable[[Tensor, Tensor, Tuple[int, int], float], Tensor]


def random_rois(num_rois: int, image_height: int, image_width: int,
                generator: torch.Generator, device: torch.device) -> Tensor:
    """Proposal-like boxes: centres anywhere, sides log-uniform in [16, image size] pixels.

    Returns:
        Tensor: (num_rois, 5) rows ``[0, x1, y1, x2, y2]`` clipped to the image.
    """
    centre = torch.rand(num_rois, 2, generator=generator) * torch.tensor(
        [image_width, image_height])
    log_lo, log_hi = torch.log(torch.tensor(16.)), torch.log(torch.tensor(float(image_height)))
    sides = torch.exp(log_lo + (log_hi - log_lo) * torch.rand(num_rois, 2, generator=generator))
    top_left = (centre - sides / 2).clamp(min=0)
    bottom_right = torch.minimum(centre + sides / 2,
                                 torch.tensor([image_width - 1., image_height - 1.]))
    rois = torch.cat([torch.zeros(num_rois, 1), top_left, bottom_right], dim=1)
    return rois.to(device)


def synchronize(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def run_times(fn: Callable[[], None], repeats: int, device: torch.device) -> List[float]:
    """Seconds of ``repeats`` timed runs after one warm-up run."""
    fn()  # warm-up (allocations, lazy init)
    times = []
    for _ in range(repeats):
        synchronize(device)
        start = time.perf_counter()
        fn()
        synchronize(device)
        times.append(time.perf_counter() - start)
    return times


def time_pool(pool: PoolFn, input: Tensor, rois: Tensor,
              repeats: int) -> Tuple[List[float], List[float]]:
    """Run times of the forward alone and of forward + backward."""
    scale = 1.0 / STRIDE
    size = (POOL_SIZE, POOL_SIZE)
    leaf = input.detach().requires_grad_(True)
    grad = torch.ones_like(pool(input, rois, size, scale))

    def forward() -> None:
        with torch.no_grad():
            pool(input, rois, size, scale)

    def forward_backward() -> None:
        leaf.grad = None
        pool(leaf, rois, size, scale).backward(grad)

    return (run_times(forward, repeats, input.device),
            run_times(forward_backward, repeats, input.device))


def max_difference(pool: PoolFn, reference: PoolFn, input: Tensor, rois: Tensor) -> float:
    """Largest absolute difference of outputs and input gradients from the reference."""
    grads = []
    outputs = []
    for fn in (pool, reference):
        leaf = input.detach().clone().requires_grad_(True)
        output = fn(leaf, rois, (POOL_SIZE, POOL_SIZE), 1.0 / STRIDE)
        output.backward(torch.ones_like(output))
        outputs.append(output.detach().double())
        grads.append(leaf.grad.double())
    return max((outputs[0] - outputs[1]).abs().max().item(),
               (grads[0] - grads[1]).abs().max().item())


def torchvision_pool() -> Optional[PoolFn]:
    """``torchvision.ops.ps_roi_pool`` where torchvision imports (a GPU machine)."""
    try:
        from torchvision.ops import ps_roi_pool as tv_ps_roi_pool
    except Exception:  # noqa: BLE001 (any import failure means: not available here)
        return None

    def pool(input: Tensor, rois: Tensor, size: Tuple[int, int], scale: float) -> Tensor:
        return tv_ps_roi_pool(input, rois, size, scale)

    return pool


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--threads', type=int, default=2, help='torch CPU threads')
    parser.add_argument('--device', default='cpu', help='cpu or cuda')
    parser.add_argument('--dtype', default='float32', choices=['float32', 'float64', 'float16',
                                                              'bfloat16'])
    parser.add_argument('--repeats', type=int, default=10, help='timed runs (median reported)')
    parser.add_argument('--fallback-repeats', type=int, default=5,
                        help='timed runs of the slower fallback')
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    dtype = getattr(torch, args.dtype)

    impls: Dict[str, Tuple[PoolFn, int]] = {'fallback': (ps_roi_pool_pytorch,
                                                         args.fallback_repeats)}
    if compiled_ps_roi_pool_available():
        impls['compiled'] = (ps_roi_pool, args.repeats)
    else:
        print('compiled op not available: build it with `python setup.py build_ext --inplace`')
    tv_pool = torchvision_pool()
    if tv_pool is not None:
        impls['torchvision'] = (tv_pool, args.repeats)

    print(f'PSRoIPool {POOL_SIZE}x{POOL_SIZE}, feature map {FEATURE_HEIGHT}x{FEATURE_WIDTH} '
          f'(stride {STRIDE}), device {device}, dtype {args.dtype}, '
          f'{torch.get_num_threads()} threads, torch {torch.__version__}; '
          f'times in ms, best (median) of {args.repeats} runs, fallback of '
          f'{args.fallback_repeats}')
    header = (f'{"case":<14} {"impl":<12} {"fwd ms":>16} {"fwd+bwd ms":>16} '
              f'{"fwd speed-up":>13} {"fwd+bwd speed-up":>17} {"max |diff|":>11}')
    print(header)
    print('-' * len(header))
    generator = torch.Generator().manual_seed(0)
    for name, channels, num_rois in CASES:
        input = torch.randn(1, channels * POOL_SIZE * POOL_SIZE, FEATURE_HEIGHT, FEATURE_WIDTH,
                            generator=generator).to(device=device, dtype=dtype)
        rois = random_rois(num_rois, FEATURE_HEIGHT * STRIDE, FEATURE_WIDTH * STRIDE, generator,
                           device).to(dtype)
        base_fwd = base_total = None
        for impl_name, (pool, repeats) in impls.items():
            diff = max_difference(pool, ps_roi_pool_pytorch, input, rois)
            fwd, total = time_pool(pool, input, rois, repeats)
            if base_fwd is None:
                base_fwd, base_total = min(fwd), min(total)
            print(f'{name:<14} {impl_name:<12} '
                  f'{min(fwd) * 1e3:>7.2f} ({statistics.median(fwd) * 1e3:>6.2f}) '
                  f'{min(total) * 1e3:>7.2f} ({statistics.median(total) * 1e3:>6.2f}) '
                  f'{base_fwd / min(fwd):>12.1f}x {base_total / min(total):>16.1f}x '
                  f'{diff:>11.2e}')


if __name__ == '__main__':
    main()
