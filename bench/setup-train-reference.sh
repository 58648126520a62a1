#!/usr/bin/env bash
# Installs the PyTorch eager reference for `ActorLab.Bench train`: Debian's python3-torch (CPU build).
set -euo pipefail
PY=/usr/bin/python3  # the system interpreter: Debian's python3-torch is invisible to pyenv/venv pythons
if $PY -c 'import torch' 2>/dev/null && [ -e /usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3 ]; then
  echo "$PY torch $($PY -c 'import torch; print(torch.__version__)') already installed"
  exit 0
fi
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
$SUDO apt-get update
# Debian builds torch against the generic libblas.so.3; OpenBLAS takes over that alternative, without it
# every matmul runs on the reference BLAS and the comparison would say nothing.
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends python3-torch libopenblas0-pthread
$PY -c 'import torch; print("installed torch", torch.__version__)'
