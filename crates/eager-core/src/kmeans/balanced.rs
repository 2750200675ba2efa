//! Balanced (equal-size) k-means: Lloyd iterations whose assignment step respects capacities,
//! so cluster sizes differ by at most one (`n = q·k + r`: r clusters of q+1, the rest of q).
//!
//! Assignment is greedy by distance over all (point, cluster) pairs: the globally closest pair
//! whose point is free and whose cluster has room is taken first. A point whose nearest
//! cluster filled up moves on to its nearest cluster with room. Same spirit as the reference
//! `kmeans_equal` (points claimed in order of preference under a capacity), without its
//! random cluster order.
use std::cmp::Ordering;
use std::collections::BinaryHeap;

use rayon::prelude::*;

use super::distance::argmin;
use super::lloyd::lloyd;
use super::{Clustering, KMeansConfig};
use crate::rng::SeededRng;

/// Balanced k-means over `x` (`[n, d]`, `n >= k`). Stops when the assignment no longer
/// changes, when (Σ centre shift)² < `tol`, or after `max_iters`.
pub fn balanced_kmeans(x: &[f32], n: usize, d: usize, cfg: &KMeansConfig, rng: &mut SeededRng) -> Clustering {
    lloyd(x, n, d, cfg, rng, capacity_assign)
}

/// A candidate (point, cluster) pair; the heap pops the smallest (distance, point, cluster).
#[derive(Clone, Copy, PartialEq)]
struct Candidate {
    dist: f32,
    point: u32,
    cluster: u32,
}

impl Eq for Candidate {}

impl Ord for Candidate {
    fn cmp(&self, other: &Self) -> Ordering {
        // reversed: BinaryHeap is a max-heap
        other.dist.total_cmp(&self.dist).then(other.point.cmp(&self.point)).then(other.cluster.cmp(&self.cluster))
    }
}

impl PartialOrd for Candidate {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Capacity-constrained greedy assignment from a distance matrix `dists` (`[n, k]`, `n >= k`).
/// Clusters fill up to q+1 until r of them have q+1 points, then the cap is q, so the final
/// sizes are exactly r × (q+1) and (k−r) × q. Deterministic: ties go to the lower point, then
/// the lower cluster.
pub fn capacity_assign(dists: &[f32], n: usize, k: usize) -> Vec<u32> {
    let q = n / k;
    let r = n % k;
    let mut counts = vec![0usize; k];
    let mut full = vec![false; k];
    let mut penalty = vec![0f32; k]; // +inf for full clusters
    let mut big = 0usize; // clusters that reached q+1
    let mut assign = vec![u32::MAX; n];
    let initial: Vec<Candidate> = dists
        .par_chunks(k)
        .enumerate()
        .map(|(i, row)| {
            let c = argmin(row).unwrap_or(0);
            Candidate { dist: row[c], point: i as u32, cluster: c as u32 }
        })
        .collect();
    let mut heap = BinaryHeap::from(initial);
    while let Some(cand) = heap.pop() {
        let c = cand.cluster as usize;
        let i = cand.point as usize;
        if full[c] {
            // nearest cluster with room for this point (ties -> lower cluster); full clusters
            // carry an infinite penalty so the scan is branch-free
            let row = &dists[i * k..(i + 1) * k];
            let mut best = (usize::MAX, f32::INFINITY);
            for (j, (&v, &p)) in row.iter().zip(&penalty).enumerate() {
                let v = v + p;
                if v < best.1 {
                    best = (j, v);
                }
            }
            if best.0 != usize::MAX {
                heap.push(Candidate { dist: best.1, point: cand.point, cluster: best.0 as u32 });
            }
            continue;
        }
        assign[i] = c as u32;
        counts[c] += 1;
        if counts[c] == q + 1 {
            full[c] = true;
            penalty[c] = f32::INFINITY;
            big += 1;
            if big == r {
                // no more room above q: clusters already at q are full too
                for j in 0..k {
                    if counts[j] >= q {
                        full[j] = true;
                        penalty[j] = f32::INFINITY;
                    }
                }
            }
        } else if counts[c] == q && big == r {
            full[c] = true;
            penalty[c] = f32::INFINITY;
        }
    }
    assign
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sizes(assign: &[u32], k: usize) -> Vec<usize> {
        let mut s = vec![0; k];
        for &a in assign {
            s[a as usize] += 1;
        }
        s
    }

    #[test]
    fn capacities_hold_for_all_remainders() {
        let mut rng = SeededRng::new(3);
        for (n, k) in [(10, 3), (9, 3), (7, 2), (100, 7), (128, 128), (129, 128)] {
            let dists: Vec<f32> = (0..n * k).map(|_| rng.next_f32()).collect();
            let a = capacity_assign(&dists, n, k);
            let s = sizes(&a, k);
            let (mn, mx) = (*s.iter().min().unwrap(), *s.iter().max().unwrap());
            assert!(mx - mn <= 1 && mn == n / k, "n={n} k={k} sizes {s:?}");
        }
    }

    #[test]
    fn greedy_by_distance() {
        // 4 points, 2 clusters of 2. Every point prefers cluster 0; the two closest to it
        // (points 2 and 3) get it.
        let dists = [3.0f32, 10.0, 2.0, 10.0, 0.5, 10.0, 1.0, 10.0];
        assert_eq!(capacity_assign(&dists, 4, 2), vec![1, 1, 0, 0]);
        // all ties: lower points first, lower clusters first
        let flat = [1.0f32; 10];
        assert_eq!(capacity_assign(&flat, 5, 2), vec![0, 0, 0, 1, 1]);
    }
}
