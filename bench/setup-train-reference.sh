#!/usr/bin/env bash
# Installs the PyTorch eager reference for `ActorLab.Bench train`: Debian's python3-torch (CPU build).
set -euo pipefail
if python3 -c 'import torch' 2>/dev/null; then
  echo "python3 torch $(python3 -c 'import torch; print(torch.__version__)') already installed"
  exit 0
fi
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends python3-torch
python3 -c 'import torch; print("installed torch", torch.__version__)'
