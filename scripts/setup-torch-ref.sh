#!/usr/bin/env bash
# Installs what `npm run bench:speed` needs for the PyTorch reference (../shared/torch-ref):
# Debian's torch and an optimised BLAS. Without libopenblas0-pthread, Debian's torch falls back
# to netlib's reference BLAS and the reference runs several times slower (benches/kmeans.md).
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
$SUDO apt-get install -y -q python3-torch libopenblas0-pthread
echo "libblas.so.3 -> $(readlink -f /usr/lib/"$(uname -m)"-linux-gnu/libblas.so.3 || echo unknown)"
