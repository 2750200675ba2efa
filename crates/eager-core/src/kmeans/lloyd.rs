//! The Lloyd iteration shared by plain and balanced k-means; only the assignment step differs.
use super::centroids::{center_shift, update_centroids};
use super::distance::{row_sq_norms, sq_dists};
use super::{initial_centers, Clustering, KMeansConfig};
use crate::rng::SeededRng;

/// Lloyd iterations over `x` (`[n, d]`, `n >= k`) with assignment rule `assign_step(dists
/// [n, k], n, k) -> cluster per point`. Stops when the assignment no longer changes (the centres
/// then already are its means), when (Σ centre shift)² < `tol`, or after `max_iters`.
pub(crate) fn lloyd(
    x: &[f32],
    n: usize,
    d: usize,
    cfg: &KMeansConfig,
    rng: &mut SeededRng,
    assign_step: impl Fn(&[f32], usize, usize) -> Vec<u32>,
) -> Clustering {
    let k = cfg.k;
    let x2 = row_sq_norms(x, d); // [n]
    let mut centers = initial_centers(x, n, d, cfg, rng); // [k, d]
    let mut dists = vec![0f32; n * k]; // [n, k]
    let mut assign: Vec<u32> = vec![u32::MAX; n];
    let mut iters = 0;
    let mut inertia;
    loop {
        let c2 = row_sq_norms(&centers, d);
        sq_dists(x, &x2, &centers, &c2, d, &mut dists);
        let next = assign_step(&dists, n, k);
        inertia = next.iter().enumerate().map(|(i, &a)| dists[i * k + a as usize] as f64).sum::<f64>();
        iters += 1;
        let changed = next != assign;
        assign = next;
        if !changed {
            break;
        }
        let old = centers.clone();
        update_centroids(x, d, &assign, &mut centers);
        let shift = center_shift(&old, &centers, d);
        if shift * shift < cfg.tol || iters >= cfg.max_iters {
            break;
        }
    }
    Clustering { assign, centroids: centers, k, iters, inertia }
}
