#!/usr/bin/env bash
# Create (or verify) the project's virtual environment.
#
# Installs torch 2.13.0, mmcv 2.1.0 built from source with its ops, mmengine,
# mmdet and this package (editable, with its compiled extension) into $VENV.
#
# The mmcv wheel is built once per machine and cached outside the checkout in
#   $MMVID_CACHE/wheels/mmcv-<ver>_torch-<ver>_cp<ver>/
# A failed step prints which step failed and removes the half-built venv, so
# the next run starts clean instead of trusting it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="${VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3.11}"
CACHE="${MMVID_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mmvid_memory}"
STAMP="$VENV/.mmvid_env_ok"
JOBS="${MAX_JOBS:-$(nproc)}"
PIP_EXTRA=(-c "$ROOT/requirements/constraints.txt")
# The CPU build of torch lies here on the project's machines.
[ -d /opt/wheels ] && PIP_EXTRA+=(--find-links /opt/wheels)

env_hash() {
  cat requirements/*.txt tools/setup_env.sh | sha256sum | cut -d' ' -f1
}

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$(env_hash)" ]; then
  exit 0
fi

STEP="start"
log() { echo "[setup_env] $*"; }
on_fail() {
  local rc=$?
  echo "[setup_env] FAILED at step '$STEP' (exit $rc)." >&2
  echo "[setup_env] Removing the incomplete environment $VENV so that no later run trusts it." >&2
  rm -rf "$VENV"
  exit "$rc"
}
trap on_fail ERR

STEP="create venv with $PYTHON"
log "$STEP"
command -v "$PYTHON" >/dev/null || { echo "[setup_env] $PYTHON not found" >&2; false; }
rm -rf "$VENV"
"$PYTHON" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)

STEP="install build tools (requirements/build.txt)"
log "$STEP"
"${PIP[@]}" install -q "${PIP_EXTRA[@]}" -r requirements/build.txt

STEP="install torch (requirements/torch.txt)"
log "$STEP"
"${PIP[@]}" install -q "${PIP_EXTRA[@]}" -r requirements/torch.txt

MMCV_VERSION="$(sed -n 's/^mmcv==\([0-9.]*\).*/\1/p' requirements/mmcv.txt)"
TORCH_VERSION="$("$VENV/bin/python" -c 'import torch; print(torch.__version__)')"
PY_TAG="$("$VENV/bin/python" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')"
WHEEL_DIR="$CACHE/wheels/mmcv-${MMCV_VERSION}_torch-${TORCH_VERSION}_${PY_TAG}"
if ! ls "$WHEEL_DIR"/mmcv-*.whl >/dev/null 2>&1; then
  STEP="build mmcv $MMCV_VERSION from source with ops (about 9 min on 2 cores)"
  log "$STEP"
  mkdir -p "$CACHE/wheels"
  TMP_WHEEL_DIR="$(mktemp -d "$CACHE/wheels/.build.XXXXXX")"
  MMCV_WITH_OPS=1 MAX_JOBS="$JOBS" "${PIP[@]}" wheel --no-deps --no-build-isolation \
    -w "$TMP_WHEEL_DIR" "mmcv==$MMCV_VERSION" \
    || { rm -rf "$TMP_WHEEL_DIR"; false; }
  # Publish the wheel atomically: a crashed build never leaves a cache entry.
  rm -rf "$WHEEL_DIR"
  mv "$TMP_WHEEL_DIR" "$WHEEL_DIR"
else
  log "reusing cached mmcv wheel in $WHEEL_DIR"
fi

STEP="install mmcv from $WHEEL_DIR"
log "$STEP"
"${PIP[@]}" install -q "${PIP_EXTRA[@]}" "$WHEEL_DIR"/mmcv-*.whl

STEP="install runtime and test requirements"
log "$STEP"
"${PIP[@]}" install -q "${PIP_EXTRA[@]}" -r requirements/runtime.txt -r requirements/tests.txt

STEP="install mmvid_memory (editable, compiles mmvid_memory._C)"
log "$STEP"
MAX_JOBS="$JOBS" "${PIP[@]}" install -q --no-build-isolation --no-deps -e .

STEP="verify imports (torch, mmcv.ops, mmdet, mmvid_memory._C)"
log "$STEP"
"$VENV/bin/python" - <<'PY'
import torch, mmcv, mmengine, mmdet
from mmcv.ops import RoIAlign, nms  # noqa: F401  (mmcv built with ops)
import mmvid_memory
from mmvid_memory import _C  # noqa: F401
print(f"torch {torch.__version__}, mmcv {mmcv.__version__}, mmengine {mmengine.__version__}, "
      f"mmdet {mmdet.__version__}, mmvid_memory {mmvid_memory.__version__}")
PY

env_hash > "$STAMP"
# The editable install above already compiled mmvid_memory._C: tell the
# Makefile's extension rule (EXT_STAMP) so that it does not compile it again.
touch "$VENV/.mmvid_ext_built"
trap - ERR
log "environment ready: $VENV"
