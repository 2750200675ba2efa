#!/usr/bin/env bash
# k-means speed: eager-core (Rust) vs the PyTorch reference, same machine, same run.
# Sizes: beauty, 12,101 items, 96-d Gaussians and 768-d row-normalised Gaussians, K=128,
# balanced, <=100 iterations. Order: ours, reference, ours (the machine is shared: interleave).
# usage: bash benches/kmeans.sh   (from the repository root)
# needs: apt-get install -y python3-torch python3-numpy libopenblas0-pthread
# (without libopenblas0-pthread Debian's torch falls back to netlib BLAS, ~1.5 GFLOP/s: check
#  that /usr/bin/python3 -c 'import torch' matmuls are fast before trusting the ratio)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p eager-core --example kmeans_bench >/dev/null 2>&1
ours=target/release/examples/kmeans_bench
echo "# uptime: $(uptime)"
"$ours"
/usr/bin/python3 benches/kmeans_ref.py --threads 2
"$ours"
"$ours" --items 16384   # the reference's padded point count (K*K leaves)
