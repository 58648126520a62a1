#!/usr/bin/env bash
# The GPU run, on the lent device machine (repo root, $OUT set by the device tool): bash bench/gpu/run.sh [run.py flags]
# Needs bench/gpu/artifacts from bench/gpu/prepare.sh (carried). Writes results.md and friends under $OUT. docs/gpu.md.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2
OUT=${OUT:-/tmp/gpu-out}
if [ ! -f bench/gpu/artifacts/sizes.jsonl ]; then
  echo "error: bench/gpu/artifacts is missing: run bench/gpu/prepare.sh on the CPU machine and carry bench/gpu/artifacts" >&2
  exit 2
fi
chmod +x bench/gpu/artifacts/actorlab/actorlab 2>/dev/null
exec python3 bench/gpu/run.py --out "$OUT" "$@"
