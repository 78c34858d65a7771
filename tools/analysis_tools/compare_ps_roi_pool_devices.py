"""Compare PSRoIPool's compiled kernel on a device with a reference, forward and backward.

``--device cuda`` (the GPU half, run by ``tools/gpu_check.sh``): the CUDA
kernel against the compiled CPU kernel, in float32, float64, float16 and
bfloat16, on R-FCN's shapes (7x7 bins, 300 rois on a 38x63 map) and small
random problems with rois across the border, inverted and empty; plus a
float64 ``gradcheck`` of the CUDA op.

``--device cpu`` (the CPU half, run by the test suite): the same comparison
of the compiled CPU kernel against the pure-PyTorch fallback, so the script's
cases, tolerances and report are exercised on every machine.

Prints one line per dtype and a final ``RESULT`` line; ``--out`` writes the
rows as JSON. Exit status 1 when a difference exceeds its tolerance (or the
gradcheck fails), 2 when the device or the compiled op is missing.

Examples::

    python tools/analysis_tools/compare_ps_roi_pool_devices.py --device cuda --out cmp.json
    python tools/analysis_tools/compare_ps_roi_pool_devices.py --device cpu
"""
import argparse
import sys
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch
from torch import Tensor

#: dtype -> absolute and relative tolerance of the comparison (the CUDA tests' values).
TOLERANCES: Dict[str, float] = {'float32': 1e-5, 'float64': 1e-12, 'float16': 2e-3,
                                'bfloat16': 1e-2}

Case = Tuple[str, Tensor, Tensor, Tuple[int, int], float]
PoolFn = Callable[[Tensor, Tensor, Tuple[int, int], float], Tensor]


def rfcn_case(generator: torch.Generator, num_rois: int = 300) -> Case:
    """R-FCN's class branch shape (31 classes, 7x7 bins) on a 38x63 stride-16 map.

    Returns:
        tuple: name, input (1, 1519, 38, 63) and rois (K, 5) in float64, (7, 7), 1/16.
    """
    height, width, stride = 38, 63, 16
    input = torch.randn(1, 31 * 49, height, width, generator=generator, dtype=torch.float64)
    centre = torch.rand(num_rois, 2, generator=generator, dtype=torch.float64) * torch.tensor(
        [width * stride, height * stride], dtype=torch.float64)
    sides = 16 * (height * stride / 16) ** torch.rand(num_rois, 2, generator=generator,
                                                      dtype=torch.float64)
    rois = torch.cat([torch.zeros(num_rois, 1, dtype=torch.float64), centre - sides / 2,
                      centre + sides / 2], dim=1)
    return f'rfcn {num_rois} rois', input, rois, (7, 7), 1.0 / stride


def random_case(seed: int) -> Case:
    """A small random problem whose rois cross the border, are inverted or empty."""
    generator = torch.Generator().manual_seed(seed)
    pooled = tuple(int(v) for v in torch.randint(1, 5, (2, ), generator=generator))
    images, channels = int(torch.randint(1, 3, (1, ), generator=generator)), 3
    height, width = (int(v) for v in torch.randint(2, 12, (2, ), generator=generator))
    scale = [1.0, 0.5, 0.25, 1 / 3][seed % 4]
    input = torch.randn(images, channels * pooled[0] * pooled[1], height, width,
                        generator=generator, dtype=torch.float64)
    num_rois = 12
    corners = (torch.rand(num_rois, 4, generator=generator, dtype=torch.float64) * 1.4 - 0.2) \
        * torch.tensor([width, height, width, height], dtype=torch.float64) / scale
    batch = torch.randint(0, images, (num_rois, 1), generator=generator).double()
    rois = torch.cat([batch, corners], dim=1)  # x2 < x1 (inverted) happens too
    rois[0, 1:] = rois[0, 1:3].repeat(2)  # an empty roi
    return f'random {seed}', input, rois, pooled, scale


def cases(seed: int = 0) -> List[Case]:
    return [rfcn_case(torch.Generator().manual_seed(seed))] + [random_case(seed * 10 + k)
                                                               for k in range(4)]


def compiled_pool(input: Tensor, rois: Tensor, pooled: Tuple[int, int], scale: float) -> Tensor:
    """The registered op itself, never the fallback."""
    return torch.ops.mmvid_memory.ps_roi_pool(input, rois, pooled[0], pooled[1], float(scale))


def forward_backward(pool: PoolFn, input: Tensor, rois: Tensor, pooled: Tuple[int, int],
                     scale: float, grad: Tensor) -> Tuple[Tensor, Tensor]:
    """Output and input gradient, both moved to the CPU in float64."""
    leaf = input.detach().clone().requires_grad_(True)
    output = pool(leaf, rois, pooled, scale)
    output.backward(grad.to(output))
    return output.detach().cpu().double(), leaf.grad.detach().cpu().double()


def excess(value: Tensor, reference: Tensor, tolerance: float) -> Tuple[float, bool]:
    """Largest |difference| and whether every element is within tol + tol * |reference|."""
    if value.numel() == 0:
        return 0.0, True
    diff = (value - reference).abs()
    return float(diff.max()), bool((diff <= tolerance + tolerance * reference.abs()).all())


def compare(device: str, dtypes: Sequence[str], seed: int = 0) -> List[Dict]:
    """One row per dtype: the largest forward/backward differences over the cases.

    ``device='cpu'`` compares the compiled CPU kernel with the pure-PyTorch
    fallback; any other device compares its compiled kernel with the
    compiled CPU kernel.
    """
    from mmvid_memory.ops import ps_roi_pool_pytorch
    reference: PoolFn = ps_roi_pool_pytorch if device == 'cpu' else compiled_pool
    rows = []
    for dtype_name in dtypes:
        dtype, tolerance = getattr(torch, dtype_name), TOLERANCES[dtype_name]
        row = dict(dtype=dtype_name, tolerance=tolerance, forward=0.0, backward=0.0, ok=True,
                   cases=0)
        for name, input, rois, pooled, scale in cases(seed):
            input, rois = input.to(dtype), rois.to(dtype)
            grad_shape = (rois.size(0), input.size(1) // (pooled[0] * pooled[1]), *pooled)
            grad = torch.randn(grad_shape, generator=torch.Generator().manual_seed(seed),
                               dtype=torch.float64).to(dtype)
            out, grad_in = forward_backward(compiled_pool, input.to(device), rois.to(device),
                                            pooled, scale, grad.to(device))
            ref_out, ref_grad = forward_backward(reference, input, rois, pooled, scale, grad)
            for key, value, ref in (('forward', out, ref_out), ('backward', grad_in, ref_grad)):
                worst, ok = excess(value, ref, tolerance)
                row[key] = max(row[key], worst)
                if not ok:
                    row['ok'] = False
                    row.setdefault('failed', []).append(f'{name} {key}')
            row['cases'] += 1
        rows.append(row)
    return rows


def device_gradcheck(device: str) -> bool:
    """float64 gradcheck of the compiled op on ``device`` (one small case)."""
    _, input, rois, pooled, scale = random_case(99)
    input = input[:, :, :6, :6].to(device).requires_grad_(True)
    rois = rois[1:6].to(device)
    return bool(torch.autograd.gradcheck(lambda x: compiled_pool(x, rois, pooled, scale),
                                         (input, ), atol=1e-8, rtol=1e-6))


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--device', default='cuda', help="'cuda', 'cuda:N' or 'cpu'")
    parser.add_argument('--dtypes', nargs='+', default=list(TOLERANCES),
                        choices=list(TOLERANCES), help='dtypes to compare (default: all)')
    parser.add_argument('--seed', type=int, default=0, help='seed of the random cases')
    parser.add_argument('--out', default=None, help='write the rows to this JSON file')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    import mmvid_memory  # noqa: F401  (registers the op)
    from mmvid_memory.ops import compiled_ps_roi_pool_available
    if not compiled_ps_roi_pool_available():
        print('RESULT: FAILED: mmvid_memory._C is not built (python setup.py build_ext '
              '--inplace)')
        return 2
    if args.device.startswith('cuda') and not torch.cuda.is_available():
        print(f'RESULT: FAILED: --device {args.device}, but CUDA is not available here '
              f'(torch {torch.__version__}, CUDA build {torch.version.cuda})')
        return 2
    against = 'pure-PyTorch fallback' if args.device == 'cpu' else 'compiled CPU kernel'
    print(f'PSRoIPool compiled op on {args.device} against the {against}; torch '
          f'{torch.__version__}')
    rows = compare(args.device, args.dtypes, args.seed)
    print(f'{"dtype":<9} {"cases":>5} {"max |fwd diff|":>15} {"max |bwd diff|":>15} '
          f'{"tolerance":>10}  ok')
    for row in rows:
        print(f'{row["dtype"]:<9} {row["cases"]:>5} {row["forward"]:>15.3e} '
              f'{row["backward"]:>15.3e} {row["tolerance"]:>10.0e}  '
              f'{"yes" if row["ok"] else "NO: " + ", ".join(row["failed"])}')
    gradcheck = device_gradcheck(args.device)
    print(f'float64 gradcheck on {args.device}: {"passed" if gradcheck else "FAILED"}')
    ok = gradcheck and all(row['ok'] for row in rows)
    if args.out:
        from mmvid_memory.utils.metrics_json import write_metrics_json
        write_metrics_json(dict(device=args.device, against=against, rows=rows,
                                gradcheck=gradcheck, ok=ok), args.out)
    worst = ', '.join(f'{r["dtype"]} {max(r["forward"], r["backward"]):.1e}' for r in rows)
    print(f'RESULT: {"OK" if ok else "FAILED"}: {args.device} vs {against}, largest '
          f'differences {worst}; gradcheck {"passed" if gradcheck else "FAILED"}')
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
