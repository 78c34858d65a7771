#!/usr/bin/env bash
# One prepared check of mmvid_memory's CUDA kernels, for a machine with an NVIDIA GPU.
#
# The kernels compile with nvcc in CI (tools/check_cuda_compile.sh) but a CPU-only
# machine cannot run them. On a GPU machine this script, in well under 8 minutes:
#   1. env      prints torch, CUDA and the GPU, and checks that a CUDA build of torch runs
#   2. build    builds mmvid_memory._C with its CUDA kernels (setup.py build_ext --inplace)
#   3. tests    runs the CUDA tests of tests/test_ops/test_ps_roi_pool.py (-m cuda): CUDA
#               against the CPU kernel forward and backward in float32, float64, float16 and
#               bfloat16, float64 gradcheck, opcheck, errors on the device
#   4. compare  tools/analysis_tools/compare_ps_roi_pool_devices.py --device cuda: the largest
#               differences from the CPU kernel per dtype on R-FCN's shapes, and a gradcheck
#   5. psroi    tools/analysis_tools/benchmark_psroi_pool.py --device cuda: the compiled op
#               against the pure-PyTorch fallback and torchvision's ps_roi_pool (if it imports)
#   6. bench-baseline, 7. bench-memory
#               tools/analysis_tools/benchmark.py --device cuda on the shipped SynthVID R-FCN-18
#               baseline and on the OGEM memory detector (untrained memory: times only), on
#               160x160 synthetic frames (SynthVID's size; no data set is generated)
# and prints one summary (also written to OUT/summary.txt; every step's log is in OUT/).
#
# Usage: bash tools/gpu_check.sh [--python PY] [--out DIR] [--budget SECONDS]
#                                [--skip-build] [--skip-benchmarks] [--dry-run] [-h|--help]
#   --python PY        interpreter with a CUDA build of torch (default: .venv/bin/python if
#                      present, else python3)
#   --out DIR          logs and JSON reports (default: work_dirs/gpu_check)
#   --budget SECONDS   whole-run limit (default 480); a step whose limit does not fit in
#                      what is left is skipped and reported as such
#   --skip-build       use the mmvid_memory._C already built
#   --skip-benchmarks  steps 1-4 only
#   --dry-run          print the plan (steps, commands, limits) and exit without running
# Exit status: 0 all steps passed; 1 a step failed or was skipped for the budget; 2 bad
# arguments; 3 no usable CUDA device (nothing was checked).
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

usage() { sed -n '2,/^set -uo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; }

PY=""
OUT="work_dirs/gpu_check"
BUDGET=480
SKIP_BUILD=0
SKIP_BENCH=0
DRY_RUN=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --python) [[ $# -ge 2 ]] || { echo "gpu_check: --python needs a value" >&2; exit 2; }
              PY="$2"; shift 2 ;;
    --out) [[ $# -ge 2 ]] || { echo "gpu_check: --out needs a value" >&2; exit 2; }
           OUT="$2"; shift 2 ;;
    --budget) [[ $# -ge 2 && "$2" =~ ^[0-9]+$ && "$2" -gt 0 ]] || {
                echo "gpu_check: --budget needs a positive number of seconds" >&2; exit 2; }
              BUDGET="$2"; shift 2 ;;
    --skip-build) SKIP_BUILD=1; shift ;;
    --skip-benchmarks) SKIP_BENCH=1; shift ;;
    --dry-run) DRY_RUN=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "gpu_check: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
if [[ -z "$PY" ]]; then
  if [[ -x .venv/bin/python ]]; then PY=.venv/bin/python; else PY=python3; fi
fi

BASELINE_CONFIG=configs/rfcn/rfcn_r18-dc5_1xb4-12e_synthvid.py
BASELINE_CKPT=checkpoints/rfcn_r18-dc5_1xb4-12e_synthvid-ffeba89b.pth
MEMORY_CONFIG=configs/ogem/ogem-pix-inst_rfcn_r18-dc5_synthvid.py
BENCH_ARGS="--device cuda --synthetic 160 160 --max-videos 2 --video-length 60 --warmup 10"
export PY OUT BASELINE_CONFIG BASELINE_CKPT MEMORY_CONFIG BENCH_ARGS

# Each step is a function run as `timeout LIMIT bash -c step_<name>` (exported below).
step_env() {
  "$PY" - <<'PYEOF'
import sys
import torch
print('torch', torch.__version__, 'CUDA build', torch.version.cuda)
if not torch.cuda.is_available():
    print('no CUDA device visible to this torch')
    sys.exit(3)
print('device', torch.cuda.get_device_name(0), 'capability', torch.cuda.get_device_capability(0))
(torch.ones(2, device='cuda') * 2).sum().item()
PYEOF
}
step_build() {
  MAX_JOBS="${MAX_JOBS:-8}" "$PY" setup.py -q build_ext --inplace || return 1
  "$PY" - <<'PYEOF'
import torch
import mmvid_memory  # noqa: F401
from mmvid_memory.ops import compiled_ps_roi_pool_available
assert compiled_ps_roi_pool_available(), 'mmvid_memory._C did not build'
x = torch.randn(1, 4, 4, 4, device='cuda')
rois = torch.tensor([[0, 0., 0, 3, 3]], device='cuda')
out = torch.ops.mmvid_memory.ps_roi_pool(x, rois, 2, 2, 1.0)
print('CUDA kernel ran: output', tuple(out.shape), 'on', out.device)
PYEOF
}
step_tests() {
  local out rc
  out="$("$PY" -m pytest tests/test_ops/test_ps_roi_pool.py tests/test_apis/test_benchmark.py \
           -m cuda -q -rs -p no:cacheprovider 2>&1)"
  rc=$?
  echo "$out"
  # A skipped CUDA test checked nothing: that is a failure here.
  if echo "$out" | grep -q -E '[0-9]+ skipped' || ! echo "$out" | grep -q -E '[0-9]+ passed'; then
    echo 'CUDA tests were skipped or none ran: nothing was checked on the GPU'
    return 4
  fi
  return $rc
}
step_compare() {
  "$PY" tools/analysis_tools/compare_ps_roi_pool_devices.py --device cuda --out "$OUT/compare.json"
}
step_psroi() {
  "$PY" tools/analysis_tools/benchmark_psroi_pool.py --device cuda --repeats 20 --fallback-repeats 5
}
step_bench-baseline() {
  # shellcheck disable=SC2086
  "$PY" tools/analysis_tools/benchmark.py "$BASELINE_CONFIG" "$BASELINE_CKPT" $BENCH_ARGS \
    --out "$OUT/bench_baseline.json"
}
step_bench-memory() {
  # shellcheck disable=SC2086
  "$PY" tools/analysis_tools/benchmark.py "$MEMORY_CONFIG" $BENCH_ARGS --out "$OUT/bench_memory.json"
}
export -f step_env step_build step_tests step_compare step_psroi step_bench-baseline step_bench-memory

# name|limit in seconds|what it does (for --dry-run)
STEPS=(
  "env|60|torch, CUDA build and device; one CUDA operation"
  "build|240|MAX_JOBS=8 $PY setup.py -q build_ext --inplace; run the CUDA kernel once"
  "tests|180|$PY -m pytest tests/test_ops/test_ps_roi_pool.py tests/test_apis/test_benchmark.py -m cuda (a skip is a failure)"
  "compare|90|$PY tools/analysis_tools/compare_ps_roi_pool_devices.py --device cuda --out $OUT/compare.json"
  "psroi|120|$PY tools/analysis_tools/benchmark_psroi_pool.py --device cuda --repeats 20 --fallback-repeats 5"
  "bench-baseline|90|$PY tools/analysis_tools/benchmark.py $BASELINE_CONFIG $BASELINE_CKPT $BENCH_ARGS --out $OUT/bench_baseline.json"
  "bench-memory|90|$PY tools/analysis_tools/benchmark.py $MEMORY_CONFIG $BENCH_ARGS --out $OUT/bench_memory.json"
)

selected() {  # whether step $1 runs with the given flags
  case "$1" in
    build) [[ $SKIP_BUILD -eq 0 ]] ;;
    psroi|bench-*) [[ $SKIP_BENCH -eq 0 ]] ;;
    *) true ;;
  esac
}

if [[ $DRY_RUN -eq 1 ]]; then
  echo "[gpu_check] plan (dry run): python $PY, out $OUT, budget ${BUDGET} s"
  for step in "${STEPS[@]}"; do
    IFS='|' read -r name limit cmd <<< "$step"
    if selected "$name"; then
      echo "  $name (limit ${limit} s): $cmd"
    else
      echo "  $name: skipped by a flag"
    fi
  done
  exit 0
fi

mkdir -p "$OUT"
start=$SECONDS
declare -a RESULTS
failed=0
n=0
for step in "${STEPS[@]}"; do
  IFS='|' read -r name limit cmd <<< "$step"
  n=$((n + 1))
  log="$OUT/$(printf '%02d' "$n")_$name.log"
  if ! selected "$name"; then
    RESULTS+=("$(printf '%-15s %-9s %6s  %s' "$name" skipped - 'by a flag')")
    continue
  fi
  left=$((BUDGET - (SECONDS - start)))
  if [[ $left -lt $limit ]]; then
    RESULTS+=("$(printf '%-15s %-9s %6s  %s' "$name" SKIPPED - "budget: ${left} s left, needs ${limit} s")")
    failed=1
    continue
  fi
  echo "[gpu_check] $name (limit ${limit} s): $cmd"
  t0=$SECONDS
  timeout --signal=TERM --kill-after=10 "$limit" bash -c "step_$name" > "$log" 2>&1
  rc=$?
  took=$((SECONDS - t0))
  last="$(grep -v '^\s*$' "$log" | tail -n 1 | cut -c1-110)"
  if [[ $rc -eq 0 ]]; then
    status=passed
  elif [[ $rc -eq 124 || $rc -eq 137 ]]; then
    status=TIMEOUT; failed=1
  else
    status="FAILED"; failed=1
  fi
  RESULTS+=("$(printf '%-15s %-9s %5ss  %s' "$name" "$status" "$took" "$last")")
  if [[ $name == env && $rc -ne 0 ]]; then
    echo "[gpu_check] no usable CUDA device with $PY (log: $log):" >&2
    tail -n 5 "$log" >&2
    exit 3
  fi
  if [[ $name == build && $rc -ne 0 ]]; then
    echo "[gpu_check] the CUDA build failed; the later steps would test nothing (log: $log)" >&2
    break
  fi
done

{
  echo "================ gpu_check summary ($(date -u '+%Y-%m-%d %H:%M UTC'), $((SECONDS - start)) s) ================"
  grep -h -v '^\s*$' "$OUT"/01_env.log 2>/dev/null | head -n 2
  printf '%-15s %-9s %6s  %s\n' step status time 'last line of its log'
  printf '%s\n' "${RESULTS[@]}"
  for name in compare psroi bench-baseline bench-memory; do
    log="$(ls "$OUT"/*_"$name".log 2>/dev/null | head -n 1)"
    [[ -n "$log" && -s "$log" ]] || continue
    echo "---- $name ($log)"
    case "$name" in
      compare) grep -E '^(dtype|float|bfloat|RESULT)' "$log" ;;
      psroi) grep -E '^(PSRoIPool|case|-{5}|cls|reg)' "$log" ;;
      *) grep -v -E 'Warning|warn\(|^\s+(import|warnings\.|_bootstrap)' "$log" | tail -n 25 ;;
    esac
  done
  if [[ $failed -eq 0 ]]; then echo "RESULT: all steps passed"; else echo "RESULT: FAILED (see above)"; fi
} | tee "$OUT/summary.txt"
exit $failed
