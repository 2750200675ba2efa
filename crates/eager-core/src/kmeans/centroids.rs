//! Centroid update (mean of each cluster's points) and the centre-shift convergence measure.
use rayon::prelude::*;

/// Point indices of each cluster, ascending: `(offsets [k+1], members [n])`, CSR layout.
pub fn cluster_members(assign: &[u32], k: usize) -> (Vec<usize>, Vec<u32>) {
    let mut offsets = vec![0usize; k + 1];
    for &a in assign {
        offsets[a as usize + 1] += 1;
    }
    for c in 0..k {
        offsets[c + 1] += offsets[c];
    }
    let mut next = offsets.clone();
    let mut members = vec![0u32; assign.len()];
    for (i, &a) in assign.iter().enumerate() {
        members[next[a as usize]] = i as u32;
        next[a as usize] += 1;
    }
    (offsets, members)
}

/// Sets each centroid (`centers`, `[k, d]`) to the mean of its points; a cluster without points
/// keeps its old centre. Sums run in f64 in ascending point order, one cluster per task, so the
/// result is bit-identical whatever the thread count.
pub fn update_centroids(x: &[f32], d: usize, assign: &[u32], centers: &mut [f32]) {
    if d == 0 {
        return;
    }
    let k = centers.len() / d;
    let (offsets, members) = cluster_members(assign, k);
    centers.par_chunks_mut(d).enumerate().for_each(|(c, center)| {
        let pts = &members[offsets[c]..offsets[c + 1]];
        if pts.is_empty() {
            return;
        }
        let mut acc = vec![0f64; d];
        for &i in pts {
            let row = &x[i as usize * d..(i as usize + 1) * d];
            for (a, v) in acc.iter_mut().zip(row) {
                *a += *v as f64;
            }
        }
        let inv = 1.0 / pts.len() as f64;
        for (o, a) in center.iter_mut().zip(&acc) {
            *o = (*a * inv) as f32;
        }
    });
}

/// Sum over clusters of the Euclidean distance each centre moved.
pub fn center_shift(old: &[f32], new: &[f32], d: usize) -> f64 {
    if d == 0 {
        return 0.0;
    }
    old.chunks(d)
        .zip(new.chunks(d))
        .map(|(a, b)| {
            a.iter()
                .zip(b)
                .map(|(x, y)| {
                    let t = (*x - *y) as f64;
                    t * t
                })
                .sum::<f64>()
                .sqrt()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn means_and_members() {
        let x = [0.0f32, 0.0, 2.0, 2.0, 10.0, 10.0, 4.0, 0.0];
        let assign = [0u32, 0, 1, 0];
        let (off, mem) = cluster_members(&assign, 3);
        assert_eq!(off, vec![0, 3, 4, 4]);
        assert_eq!(mem, vec![0, 1, 3, 2]);
        let mut c = vec![9.0f32; 6];
        update_centroids(&x, 2, &assign, &mut c);
        assert_eq!(c, vec![2.0, 2.0 / 3.0, 10.0, 10.0, 9.0, 9.0]);
        assert!((center_shift(&[0.0, 0.0], &[3.0, 4.0], 2) - 5.0).abs() < 1e-12);
    }
}
