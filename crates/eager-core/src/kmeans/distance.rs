//! Squared Euclidean distances between points and centroids through one SGEMM:
//! `‖x − c‖² = ‖x‖² + ‖c‖² − 2 x·c`.
//!
//! Every output element is computed by one thread in a fixed order, so results do not depend
//! on how rayon schedules the work (same input => same bits).
use rayon::prelude::*;

/// Rows per rayon task for row-wise loops: large enough to amortise scheduling.
const ROW_CHUNK: usize = 256;

/// Squared L2 norm of every row of a row-major `[n, d]` matrix: `[n]`.
pub fn row_sq_norms(x: &[f32], d: usize) -> Vec<f32> {
    let mut out = vec![0f32; if d == 0 { 0 } else { x.len() / d }];
    out.par_chunks_mut(ROW_CHUNK).enumerate().for_each(|(ci, chunk)| {
        for (j, o) in chunk.iter_mut().enumerate() {
            let r = ci * ROW_CHUNK + j;
            *o = dot(&x[r * d..(r + 1) * d], &x[r * d..(r + 1) * d]);
        }
    });
    out
}

/// Dot product with 8 independent accumulators (vectorises; fixed summation order).
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let chunks = a.len() / 8;
    for i in 0..chunks {
        for l in 0..8 {
            acc[l] += a[i * 8 + l] * b[i * 8 + l];
        }
    }
    let mut s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for i in chunks * 8..a.len() {
        s += a[i] * b[i];
    }
    s
}

/// Squared distance between two vectors, computed directly (no cancellation).
#[inline]
pub fn sq_dist(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let chunks = a.len() / 8;
    for i in 0..chunks {
        for l in 0..8 {
            let t = a[i * 8 + l] - b[i * 8 + l];
            acc[l] += t * t;
        }
    }
    let mut s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for i in chunks * 8..a.len() {
        let t = a[i] - b[i];
        s += t * t;
    }
    s
}

/// Fills `out` (`[n, k]`, row-major) with squared distances between the rows of `x`
/// (`[n, d]`, norms `x2`) and of `c` (`[k, d]`, norms `c2`), clamped at 0.
pub fn sq_dists(x: &[f32], x2: &[f32], c: &[f32], c2: &[f32], d: usize, out: &mut [f32]) {
    let n = x2.len();
    let k = c2.len();
    debug_assert_eq!(x.len(), n * d);
    debug_assert_eq!(c.len(), k * d);
    debug_assert_eq!(out.len(), n * k);
    if n == 0 || k == 0 {
        return;
    }
    if d == 0 {
        out.fill(0.0);
        return;
    }
    let par = crate::linalg::parallelism(n, k, d);
    // SAFETY: the pointers and strides describe the slices exactly, checked above:
    // dst [n, k] row-major (rs = k, cs = 1); lhs X [n, d] (rs = d, cs = 1);
    // rhs Cᵀ [d, k] read from C [k, d] (rs = 1, cs = d). gemm computes
    // dst = alpha·dst + beta·lhs·rhs and with read_dst = false never reads dst.
    unsafe {
        gemm::gemm(
            n,
            k,
            d,
            out.as_mut_ptr(),
            1,
            k as isize,
            false,
            x.as_ptr(),
            1,
            d as isize,
            c.as_ptr(),
            d as isize,
            1,
            0.0f32,
            -2.0f32,
            false,
            false,
            false,
            par,
        );
    }
    out.par_chunks_mut(ROW_CHUNK * k).enumerate().for_each(|(ci, block)| {
        for (j, row) in block.chunks_mut(k).enumerate() {
            let xi = x2[ci * ROW_CHUNK + j];
            for (o, cj) in row.iter_mut().zip(c2) {
                *o = (*o + xi + cj).max(0.0);
            }
        }
    });
}

/// Index of the smallest value (ties -> lower index); `None` for an empty row.
#[inline]
pub fn argmin(row: &[f32]) -> Option<usize> {
    let mut best: Option<(usize, f32)> = None;
    for (j, &v) in row.iter().enumerate() {
        match best {
            Some((_, b)) if v >= b => {}
            _ => best = Some((j, v)),
        }
    }
    best.map(|(j, _)| j)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_direct_distances() {
        let mut rng = crate::rng::SeededRng::new(5);
        let (n, k, d) = (300, 17, 37);
        let x: Vec<f32> = (0..n * d).map(|_| rng.normal()).collect();
        let c: Vec<f32> = (0..k * d).map(|_| rng.normal()).collect();
        let mut out = vec![0f32; n * k];
        sq_dists(&x, &row_sq_norms(&x, d), &c, &row_sq_norms(&c, d), d, &mut out);
        for i in 0..n {
            for j in 0..k {
                let direct = sq_dist(&x[i * d..(i + 1) * d], &c[j * d..(j + 1) * d]);
                assert!((out[i * k + j] - direct).abs() < 1e-3 * (1.0 + direct), "{i},{j}");
            }
        }
    }

    #[test]
    fn argmin_ties_go_low() {
        assert_eq!(argmin(&[3.0, 1.0, 1.0, 2.0]), Some(1));
        assert_eq!(argmin(&[]), None);
    }
}
