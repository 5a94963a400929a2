#!/usr/bin/env bash
# Create (or update) the project environment in .venv/ at the repository root.
#
# Idempotent: a second run with unchanged pins only checks a stamp file and
# returns in a second. Everything comes from the pins in requirements/pins.txt.
#
# mmcv 2.1.0 with its C++ ops has no wheel for our torch, so it is built once
# from the PyPI sdist (MMCV_WITH_OPS=1, about 9 min on 2 cores; CPU ops only
# unless MMCV_FORCE_CUDA=1, as in docker/Dockerfile, which also honours
# TORCH_CUDA_ARCH_LIST)
# and the stripped wheel is cached in $MMKD_WHEEL_CACHE (default
# ~/.cache/mmkd_ext/wheels), keyed by the mmcv, torch and Python versions.
# torch 2.14's headers need C++20, while mmcv 2.1.0's setup.py asks for
# -std=c++17: the unpacked sdist (a temporary copy, never site-packages) gets
# its flag raised before the build.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${MMKD_VENV:-$ROOT/.venv}"
PINS="$ROOT/requirements/pins.txt"
PYTHON="${PYTHON:-python3.11}"
MMCV_VERSION="2.1.0"
CACHE="${MMKD_WHEEL_CACHE:-$HOME/.cache/mmkd_ext/wheels}"

command -v "$PYTHON" >/dev/null || PYTHON=python3
stamp_of() { cat "$PINS" "$ROOT/setup.py" "$0" | sha256sum | cut -c1-16; }
STAMP="$(stamp_of)"
if [ -f "$VENV/.mmkd_stamp" ] && [ "$(cat "$VENV/.mmkd_stamp")" = "$STAMP" ]; then
  echo "[setup_env] $VENV is up to date"
  exit 0
fi

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
PY="$VENV/bin/python"
PIP=("$PY" -m pip --disable-pip-version-check)

echo "[setup_env] installing pinned packages into $VENV"
"${PIP[@]}" install -q --upgrade "pip>=24" wheel 'setuptools>=77.0.3,<81'
# Install in two steps: torch first so mmcv's build (no isolation) sees it.
"${PIP[@]}" install -q $(grep -E '^(torch|torchvision|numpy|setuptools)' "$PINS" | sed 's/#.*//')
"${PIP[@]}" install -q -r "$PINS"

TORCH_VER="$("$PY" -c 'import torch; print(torch.__version__.split("+")[0])')"
PY_TAG="$("$PY" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')"
FORCE_CUDA="${MMCV_FORCE_CUDA:-0}"
KEY="mmcv-${MMCV_VERSION}_torch-${TORCH_VER}_${PY_TAG}_cuda${FORCE_CUDA}"
if [ "$FORCE_CUDA" != 0 ]; then
  # CUDA builds differ by target architectures.
  KEY="${KEY}_$(echo "${TORCH_CUDA_ARCH_LIST:-default}" | tr -c 'A-Za-z0-9.' '-')"
fi
mkdir -p "$CACHE/$KEY"
WHEEL="$(ls "$CACHE/$KEY"/mmcv-*.whl 2>/dev/null | head -n 1 || true)"
if [ -z "$WHEEL" ]; then
  echo "[setup_env] no cached mmcv wheel for $KEY: building from the sdist (~9 min)"
  BUILD="$(mktemp -d)"
  trap 'rm -rf "$BUILD"' EXIT
  "${PIP[@]}" download -q --no-deps --no-build-isolation --no-binary :all: "mmcv==$MMCV_VERSION" -d "$BUILD"
  tar -xzf "$BUILD"/mmcv-*.tar.gz -C "$BUILD"
  SRC="$(ls -d "$BUILD"/mmcv-$MMCV_VERSION)"
  sed -i 's/-std=c++1[47]/-std=c++20/g' "$SRC/setup.py"
  (cd "$SRC" && MMCV_WITH_OPS=1 FORCE_CUDA="$FORCE_CUDA" MAX_JOBS="$(nproc)" \
     "${PIP[@]}" wheel -q --no-build-isolation --no-deps . -w "$BUILD/dist")
  # Strip debug info: ~1.4 MB instead of tens of MB.
  (cd "$BUILD/dist" && mkdir x && cd x && "$PY" -m zipfile -e ../mmcv-*.whl . \
     && find . -name '*.so' -exec strip --strip-debug {} + \
     && "$PY" -m wheel pack . -d "$CACHE/$KEY" >/dev/null)
  WHEEL="$(ls "$CACHE/$KEY"/mmcv-*.whl | head -n 1)"
fi
if ! "$PY" -c "import mmcv, mmcv._ext; assert mmcv.__version__ == '$MMCV_VERSION'" 2>/dev/null; then
  "${PIP[@]}" install -q --no-deps --force-reinstall "$WHEEL"
fi
"${PIP[@]}" install -q --no-deps -e "$ROOT"
"$PY" -c 'import mmcv.ops, mmkd_ext; print("[setup_env] mmcv", mmcv.__version__, "ops ok")'
echo "$STAMP" > "$VENV/.mmkd_stamp"
