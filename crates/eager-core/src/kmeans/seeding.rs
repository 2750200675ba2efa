//! Initial centroids: k-means++ (D² sampling) and random equal partition means.
use rayon::prelude::*;

use super::distance::sq_dist;
use crate::rng::SeededRng;

const ROW_CHUNK: usize = 512;

/// k-means++ seeding (Arthur & Vassilvitskii 2007): the first centre is a uniform point, each
/// next one is drawn with probability proportional to its squared distance to the nearest
/// centre chosen so far. Returns `[k, d]`. When every remaining point coincides with a chosen
/// centre (total weight 0), the next centre is a uniform point (duplicates then leave empty
/// clusters, which the callers handle).
pub fn kmeans_plus_plus(x: &[f32], n: usize, d: usize, k: usize, rng: &mut SeededRng) -> Vec<f32> {
    let mut centers = Vec::with_capacity(k * d);
    let first = rng.below(n);
    centers.extend_from_slice(&x[first * d..(first + 1) * d]);
    let mut min_d2 = vec![f32::INFINITY; n];
    for c in 1..k {
        let last = &centers[(c - 1) * d..c * d];
        // update nearest-centre distances in parallel; every element is written by one task
        min_d2.par_chunks_mut(ROW_CHUNK).enumerate().for_each(|(ci, chunk)| {
            for (j, m) in chunk.iter_mut().enumerate() {
                let r = ci * ROW_CHUNK + j;
                let v = sq_dist(&x[r * d..(r + 1) * d], last);
                if v < *m {
                    *m = v;
                }
            }
        });
        // ordered f64 sum: independent of thread scheduling
        let total: f64 = min_d2.iter().map(|&v| v as f64).sum();
        let pick = if total > 0.0 && total.is_finite() {
            let target = rng.next_f64() * total;
            let mut acc = 0f64;
            let mut chosen = None;
            for (i, &v) in min_d2.iter().enumerate() {
                acc += v as f64;
                if acc > target && v > 0.0 {
                    chosen = Some(i);
                    break;
                }
            }
            // rounding can leave target just above the final sum: take the last positive weight
            chosen.unwrap_or_else(|| min_d2.iter().rposition(|&v| v > 0.0).unwrap_or(0))
        } else {
            rng.below(n)
        };
        centers.extend_from_slice(&x[pick * d..(pick + 1) * d]);
    }
    centers
}

/// Means of a random equal partition of the points (the reference `kmeans_equal` init):
/// shuffle the indices, cut them into `k` near-equal slices, average each. Returns `[k, d]`.
pub fn random_partition_means(x: &[f32], n: usize, d: usize, k: usize, rng: &mut SeededRng) -> Vec<f32> {
    let mut idx: Vec<usize> = (0..n).collect();
    rng.shuffle(&mut idx);
    let mut centers = vec![0f32; k * d];
    let mut acc = vec![0f64; d];
    for c in 0..k {
        let (lo, hi) = (c * n / k, (c + 1) * n / k);
        acc.fill(0.0);
        for &i in &idx[lo..hi] {
            for (a, v) in acc.iter_mut().zip(&x[i * d..(i + 1) * d]) {
                *a += *v as f64;
            }
        }
        let cnt = (hi - lo).max(1) as f64;
        for (o, a) in centers[c * d..(c + 1) * d].iter_mut().zip(&acc) {
            *o = (*a / cnt) as f32;
        }
    }
    centers
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plus_plus_picks_distinct_points_from_separated_blobs() {
        // two far-apart pairs: the second centre must come from the other pair
        let x = [0.0f32, 0.0, 0.1, 0.0, 100.0, 0.0, 100.1, 0.0];
        for seed in 0..20 {
            let c = kmeans_plus_plus(&x, 4, 2, 2, &mut SeededRng::new(seed));
            assert!((c[0] - c[2]).abs() > 50.0, "seed {seed}: {c:?}");
        }
    }

    #[test]
    fn identical_points_do_not_hang() {
        let x = vec![1.0f32; 10 * 3];
        let c = kmeans_plus_plus(&x, 10, 3, 4, &mut SeededRng::new(1));
        assert_eq!(c, vec![1.0; 12]);
    }
}
