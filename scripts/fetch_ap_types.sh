#!/usr/bin/env bash
# Fetch the vendor ap_types headers (Xilinx, Apache-2.0, bundled in the hls4ml wheel on PyPI) that the
# vendor-comparison tests and `nn2hls csim --ap-types` build against, and print their folder.
#
#   export NN2HLS_AP_TYPES="$(scripts/fetch_ap_types.sh)"      # then: pytest -n 2 runs the vendor tests
#   scripts/fetch_ap_types.sh DIR                               # unpack under DIR instead of the cache
#
# Default DIR: ${XDG_CACHE_HOME:-~/.cache}/nn2hls. Nothing is written into the repository. A second call
# finds the headers already there and only prints the path. Needs python with pip (the wheel is
# downloaded with `pip download`, not installed). .ci/run uses this script too.
set -euo pipefail

HLS4ML_VERSION="1.3.0"
DEST="${1:-${XDG_CACHE_HOME:-$HOME/.cache}/nn2hls}"
HEADERS="$DEST/hls4ml-$HLS4ML_VERSION/hls4ml/templates/vivado/ap_types"
PYTHON="${PYTHON:-python3}"

if [ ! -f "$HEADERS/ap_fixed.h" ]; then
    mkdir -p "$DEST"
    WHEELS="$(mktemp -d "${TMPDIR:-/tmp}/nn2hls-ap-types.XXXXXX")"
    trap 'rm -rf "$WHEELS"' EXIT
    "$PYTHON" -m pip download --quiet --no-deps "hls4ml==$HLS4ML_VERSION" -d "$WHEELS" >&2
    "$PYTHON" - "$WHEELS" "$DEST/hls4ml-$HLS4ML_VERSION" <<'PY'
import glob, sys, zipfile
wheels, target = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(glob.glob(f"{wheels}/hls4ml-*.whl")[0]) as wheel:
    for name in wheel.namelist():
        if "/templates/vivado/ap_types/" in name:
            wheel.extract(name, target)
PY
fi
test -f "$HEADERS/ap_fixed.h" || { echo "error: no ap_fixed.h in $HEADERS after unpacking" >&2; exit 1; }
echo "$HEADERS"
