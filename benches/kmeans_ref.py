#!/usr/bin/env python3
"""Times only the k-means part of ../shared/torch-ref/eager_ref.py (balanced `kmeans_equal`
trees for the 96-d and 768-d stand-in vectors of beauty, K=128, <=100 iterations), exactly as
its main() does, and prints one JSON line. Run with Debian's torch: /usr/bin/python3.

usage: /usr/bin/python3 benches/kmeans_ref.py [--ref PATH] [--threads 2] [--seed 2024]
"""
import argparse
import importlib.util
import json
import os
import sys
import time

p = argparse.ArgumentParser()
here = os.path.dirname(os.path.abspath(__file__))
p.add_argument('--ref', default=os.path.join(here, '..', '..', 'shared', 'torch-ref', 'eager_ref.py'))
p.add_argument('--threads', type=int, default=2)
p.add_argument('--seed', type=int, default=2024)
p.add_argument('--iters', type=int, default=100)
a = p.parse_args()

# eager_ref parses sys.argv at import and sets the thread / OpenBLAS env before importing torch
sys.argv = [a.ref, '--threads', str(a.threads), '--seed', str(a.seed), '--kmeans-iters', str(a.iters), '--quiet']
spec = importlib.util.spec_from_file_location('eager_ref', a.ref)
ref = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ref)
torch, F = ref.torch, ref.F

torch.set_num_threads(a.threads)
gen = torch.Generator().manual_seed(a.seed)
item_num = 12101  # beauty
feats = [torch.randn(item_num, 96, generator=gen),
         F.normalize(torch.randn(item_num, 768, generator=gen), dim=1)]
t0 = time.perf_counter()
per_tree, iters = [], []
for s in range(2):
    t = time.perf_counter()
    _, _, it = ref.build_codes(feats[s], a.iters, gen)
    per_tree.append(round(time.perf_counter() - t, 3))
    iters.append(it)
print(json.dumps({'impl': 'pytorch-eager-ref kmeans_equal', 'torch_version': torch.__version__,
                  'threads': a.threads, 'n_items': item_num, 'points_clustered': ref.K * ref.K,
                  'kmeans_seconds': round(time.perf_counter() - t0, 3), 'per_tree_seconds': per_tree,
                  'iters': iters, 'openblas_coretype': os.environ.get('OPENBLAS_CORETYPE', '')}))
