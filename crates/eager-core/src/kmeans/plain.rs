//! Plain (Lloyd) k-means: nearest-centre assignment, mean update, k-means++ seeding.
use rayon::prelude::*;

use super::distance::argmin;
use super::lloyd::lloyd;
use super::{Clustering, KMeansConfig};
use crate::rng::SeededRng;

/// Lloyd k-means over `x` (`[n, d]`, `n >= k`). Stops when the assignment no longer changes,
/// when (Σ centre shift)² < `tol`, or after `max_iters`. An empty cluster takes the point
/// farthest from its centre (from a cluster with at least two points; ties -> lower index).
pub fn plain_kmeans(x: &[f32], n: usize, d: usize, cfg: &KMeansConfig, rng: &mut SeededRng) -> Clustering {
    lloyd(x, n, d, cfg, rng, |dists, _n, k| {
        let mut next: Vec<u32> = dists.par_chunks(k).map(|row| argmin(row).unwrap_or(0) as u32).collect();
        fill_empty_clusters(dists, k, &mut next);
        next
    })
}

/// Gives every empty cluster one point: the farthest from its current centre among clusters
/// that keep at least one point (needs `n >= k`).
pub(crate) fn fill_empty_clusters(dists: &[f32], k: usize, assign: &mut [u32]) {
    let mut counts = vec![0usize; k];
    for &a in assign.iter() {
        counts[a as usize] += 1;
    }
    let empties: Vec<usize> = (0..k).filter(|&c| counts[c] == 0).collect();
    if empties.is_empty() {
        return;
    }
    let mut order: Vec<usize> = (0..assign.len()).collect();
    order.sort_by(|&a, &b| {
        let da = dists[a * k + assign[a] as usize];
        let db = dists[b * k + assign[b] as usize];
        db.total_cmp(&da).then(a.cmp(&b))
    });
    let mut cursor = 0;
    for c in empties {
        while cursor < order.len() && counts[assign[order[cursor]] as usize] < 2 {
            cursor += 1;
        }
        let Some(&i) = order.get(cursor) else { return };
        counts[assign[i] as usize] -= 1;
        assign[i] = c as u32;
        counts[c] = 1;
        cursor += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_clusters_get_far_points() {
        // 4 points, 3 clusters, all assigned to cluster 0: clusters 1, 2 take the two farthest
        let dists = [0.0f32, 9.0, 9.0, 5.0, 9.0, 9.0, 1.0, 9.0, 9.0, 5.0, 9.0, 9.0];
        let mut assign = vec![0u32; 4];
        fill_empty_clusters(&dists, 3, &mut assign);
        assert_eq!(assign, vec![0, 1, 0, 2]);
    }
}
