//! `tfidf-svd`: the no-download fallback text embedding (for the embedded demo and tests).
//!
//! Not a pretrained model: TF-IDF over lowercase alphanumeric terms (sklearn's smooth idf,
//! `ln((1 + n) / (1 + df)) + 1`, rows L2-normalised), then a truncated SVD by the randomized
//! range finder of Halko, Martinsson & Tropp (2011) with power iterations, all random draws
//! from [`SeededRng`]. Output row i = `U_i * S` (as sklearn's `TruncatedSVD.transform`),
//! L2-normalised; a text with no known term gives a zero row. Singular vector signs are fixed
//! (largest-magnitude entry of each left vector positive) so the result does not depend on
//! arithmetic noise.
use std::collections::HashMap;

use crate::error::{EagerError, Result};
use crate::rng::SeededRng;

/// Options of [`tfidf_svd`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TfidfSvdOptions {
    /// Output dimension (columns past the matrix rank are zero).
    pub dim: usize,
    /// Seed of the random projection.
    pub seed: u64,
    /// Terms seen in fewer documents than this are dropped.
    pub min_df: usize,
    /// Extra random directions beyond `dim` (accuracy of the range finder).
    pub oversample: usize,
    /// Power iterations (accuracy for slowly decaying spectra).
    pub power_iters: usize,
}

impl Default for TfidfSvdOptions {
    fn default() -> Self {
        TfidfSvdOptions { dim: 64, seed: 0, min_df: 1, oversample: 16, power_iters: 4 }
    }
}

/// Sparse rows: `(column, value)` pairs per document.
type Csr = Vec<Vec<(usize, f64)>>;

/// Lowercase alphanumeric terms of a text.
fn terms(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase)
}

/// TF-IDF matrix of the texts: rows L2-normalised, and the vocabulary size.
fn tfidf(texts: &[&str], min_df: usize) -> (Csr, usize) {
    let docs: Vec<HashMap<String, usize>> = texts
        .iter()
        .map(|t| {
            let mut m = HashMap::new();
            for w in terms(t) {
                *m.entry(w).or_insert(0) += 1;
            }
            m
        })
        .collect();
    let mut df: HashMap<&str, usize> = HashMap::new();
    for d in &docs {
        for w in d.keys() {
            *df.entry(w.as_str()).or_insert(0) += 1;
        }
    }
    // Sorted vocabulary: column ids must not depend on hash order.
    let mut vocab: Vec<&str> = df.iter().filter(|(_, &c)| c >= min_df.max(1)).map(|(w, _)| *w).collect();
    vocab.sort_unstable();
    let col: HashMap<&str, usize> = vocab.iter().enumerate().map(|(i, w)| (*w, i)).collect();
    let n = texts.len() as f64;
    let rows = docs
        .iter()
        .map(|d| {
            let mut row: Vec<(usize, f64)> = d
                .iter()
                .filter_map(|(w, &tf)| {
                    let &c = col.get(w.as_str())?;
                    let idf = ((1.0 + n) / (1.0 + df[w.as_str()] as f64)).ln() + 1.0;
                    Some((c, tf as f64 * idf))
                })
                .collect();
            row.sort_unstable_by_key(|&(c, _)| c);
            let norm = row.iter().map(|(_, v)| v * v).sum::<f64>().sqrt();
            if norm > 0.0 {
                row.iter_mut().for_each(|(_, v)| *v /= norm);
            }
            row
        })
        .collect();
    (rows, vocab.len())
}

/// `A @ X` for sparse `A [n, v]` and dense column-major-by-row `X [v, k]` -> `[n, k]`.
fn a_mul(a: &Csr, x: &[f64], k: usize) -> Vec<f64> {
    let mut y = vec![0.0; a.len() * k];
    for (r, row) in a.iter().enumerate() {
        let yr = &mut y[r * k..(r + 1) * k];
        for &(c, v) in row {
            let xc = &x[c * k..(c + 1) * k];
            yr.iter_mut().zip(xc).for_each(|(o, xi)| *o += v * xi);
        }
    }
    y
}

/// `Aᵀ @ Y` for sparse `A [n, v]` and dense `Y [n, k]` -> `[v, k]`.
fn at_mul(a: &Csr, v: usize, y: &[f64], k: usize) -> Vec<f64> {
    let mut x = vec![0.0; v * k];
    for (r, row) in a.iter().enumerate() {
        let yr = &y[r * k..(r + 1) * k];
        for &(c, val) in row {
            let xc = &mut x[c * k..(c + 1) * k];
            xc.iter_mut().zip(yr).for_each(|(o, yi)| *o += val * yi);
        }
    }
    x
}

/// Orthonormalises the columns of row-major `y [n, k]` in place (Gram-Schmidt, twice for
/// stability); columns that become numerically zero are set to zero.
fn orthonormalize(y: &mut [f64], n: usize, k: usize) {
    // Work on contiguous columns: [k, n].
    let mut cols: Vec<Vec<f64>> = (0..k).map(|j| (0..n).map(|r| y[r * k + j]).collect()).collect();
    for j in 0..k {
        let (done, rest) = cols.split_at_mut(j);
        let cj = &mut rest[0];
        for _pass in 0..2 {
            for cp in done.iter() {
                let dot: f64 = cj.iter().zip(cp).map(|(a, b)| a * b).sum();
                cj.iter_mut().zip(cp).for_each(|(a, b)| *a -= dot * b);
            }
        }
        let norm = cj.iter().map(|x| x * x).sum::<f64>().sqrt();
        let inv = if norm > 1e-10 { 1.0 / norm } else { 0.0 };
        cj.iter_mut().for_each(|x| *x *= inv);
    }
    for (j, c) in cols.iter().enumerate() {
        c.iter().enumerate().for_each(|(r, &x)| y[r * k + j] = x);
    }
}

/// Eigen-decomposition of a symmetric `[k, k]` matrix by cyclic Jacobi rotations.
/// Returns eigenvalues (descending) and eigenvectors as columns of row-major `[k, k]`.
fn sym_eigen(mut a: Vec<f64>, k: usize) -> (Vec<f64>, Vec<f64>) {
    let mut v = vec![0.0; k * k];
    (0..k).for_each(|i| v[i * k + i] = 1.0);
    for _sweep in 0..100 {
        let off: f64 = (0..k)
            .flat_map(|i| (0..k).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i * k + j].powi(2))
            .sum();
        if off < 1e-22 {
            break;
        }
        for p in 0..k {
            for q in p + 1..k {
                let apq = a[p * k + q];
                if apq.abs() < 1e-300 {
                    continue;
                }
                let theta = (a[q * k + q] - a[p * k + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for r in 0..k {
                    let (arp, arq) = (a[r * k + p], a[r * k + q]);
                    a[r * k + p] = c * arp - s * arq;
                    a[r * k + q] = s * arp + c * arq;
                }
                for r in 0..k {
                    let (apr, aqr) = (a[p * k + r], a[q * k + r]);
                    a[p * k + r] = c * apr - s * aqr;
                    a[q * k + r] = s * apr + c * aqr;
                }
                for r in 0..k {
                    let (vrp, vrq) = (v[r * k + p], v[r * k + q]);
                    v[r * k + p] = c * vrp - s * vrq;
                    v[r * k + q] = s * vrp + c * vrq;
                }
            }
        }
    }
    let mut idx: Vec<usize> = (0..k).collect();
    idx.sort_by(|&i, &j| a[j * k + j].total_cmp(&a[i * k + i]).then(i.cmp(&j)));
    let vals = idx.iter().map(|&i| a[i * k + i]).collect();
    let mut vecs = vec![0.0; k * k];
    for (newc, &oldc) in idx.iter().enumerate() {
        (0..k).for_each(|r| vecs[r * k + newc] = v[r * k + oldc]);
    }
    (vals, vecs)
}

/// TF-IDF + truncated SVD embeddings of `texts`: row-major `[n, dim]`, rows unit-norm (or zero).
pub fn tfidf_svd(texts: &[&str], options: TfidfSvdOptions) -> Result<Vec<f32>> {
    let dim = options.dim;
    if dim == 0 {
        return Err(EagerError::invalid("dim must be at least 1"));
    }
    let n = texts.len();
    if n == 0 {
        return Ok(Vec::new());
    }
    let (a, v) = tfidf(texts, options.min_df);
    let k = (dim + options.oversample).min(n).min(v.max(1));
    let mut rng = SeededRng::new(options.seed);
    let omega: Vec<f64> = (0..v * k).map(|_| rng.normal() as f64).collect(); // [v, k]
    let mut y = a_mul(&a, &omega, k); // [n, k]
    orthonormalize(&mut y, n, k);
    for _ in 0..options.power_iters {
        let mut z = at_mul(&a, v, &y, k); // [v, k]
        orthonormalize(&mut z, v, k);
        y = a_mul(&a, &z, k);
        orthonormalize(&mut y, n, k);
    }
    // B = Qᵀ A [k, v]; B Bᵀ = Qᵀ A Aᵀ Q = Wᵀ W with W = Aᵀ Q [v, k].
    let w = at_mul(&a, v, &y, k); // [v, k]
    let mut g = vec![0.0; k * k];
    for r in 0..v {
        let wr = &w[r * k..(r + 1) * k];
        for i in 0..k {
            for j in 0..k {
                g[i * k + j] += wr[i] * wr[j];
            }
        }
    }
    let (evals, evecs) = sym_eigen(g, k);
    // Left singular vectors U = Q Ub, singular values S = sqrt(eig); embedding = U * S.
    let keep = dim.min(k);
    let mut out = vec![0f64; n * dim];
    for c in 0..keep {
        let s = evals[c].max(0.0).sqrt();
        let col: Vec<f64> = (0..n).map(|r| (0..k).map(|j| y[r * k + j] * evecs[j * k + c]).sum()).collect();
        // Deterministic sign: the largest-magnitude entry is positive.
        let pivot = col.iter().copied().fold(0.0f64, |m, x| if x.abs() > m.abs() { x } else { m });
        let sign = if pivot < 0.0 { -1.0 } else { 1.0 };
        (0..n).for_each(|r| out[r * dim + c] = sign * s * col[r]);
    }
    let mut res = Vec::with_capacity(n * dim);
    for r in 0..n {
        let row = &out[r * dim..(r + 1) * dim];
        let norm = row.iter().map(|x| x * x).sum::<f64>().sqrt();
        let inv = if norm > 1e-12 { 1.0 / norm } else { 0.0 };
        // `+ 0.0` turns -0.0 into 0.0, so a zero row is exactly zero.
        res.extend(row.iter().map(|x| (x * inv) as f32 + 0.0));
    }
    if res.iter().any(|x| !x.is_finite()) {
        return Err(EagerError::Numeric("tfidf-svd produced non-finite values".into()));
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jacobi_matches_known_eigenpairs() {
        // [[2,1],[1,2]] has eigenvalues 3 and 1.
        let (vals, vecs) = sym_eigen(vec![2.0, 1.0, 1.0, 2.0], 2);
        assert!((vals[0] - 3.0).abs() < 1e-12 && (vals[1] - 1.0).abs() < 1e-12);
        assert!((vecs[0].abs() - 0.5f64.sqrt()).abs() < 1e-12);
    }

    #[test]
    fn deterministic_unit_rows_and_topic_structure() {
        let texts = [
            "red nail polish lacquer",
            "nail polish top coat",
            "shimmer nail lacquer red",
            "hair shampoo conditioner",
            "dry hair shampoo",
            "conditioner for curly hair",
            "",
        ];
        let opt = TfidfSvdOptions { dim: 4, seed: 7, ..Default::default() };
        let a = tfidf_svd(&texts, opt).unwrap();
        let b = tfidf_svd(&texts, opt).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), texts.len() * 4);
        for r in 0..6 {
            let norm: f32 = a[r * 4..r * 4 + 4].iter().map(|x| x * x).sum::<f32>().sqrt();
            assert!((norm - 1.0).abs() < 1e-5, "row {r} norm {norm}");
        }
        assert!(a[24..28].iter().all(|&x| x == 0.0), "empty text gives a zero row");
        let cos = |i: usize, j: usize| (0..4).map(|c| a[i * 4 + c] * a[j * 4 + c]).sum::<f32>();
        // Nail texts are closer to each other than to hair texts.
        assert!(cos(0, 2) > cos(0, 3) + 0.3, "{} vs {}", cos(0, 2), cos(0, 3));
        assert!(cos(3, 4) > cos(4, 1) + 0.3);
    }

    #[test]
    fn exact_on_low_rank_input() {
        // Full-rank SVD (dim >= rank) reproduces all pairwise cosines of the TF-IDF rows.
        let texts = ["a b", "b c", "c a", "a b c"];
        let opt = TfidfSvdOptions { dim: 3, seed: 1, ..Default::default() };
        let e = tfidf_svd(&texts, opt).unwrap();
        let (rows, _) = tfidf(&texts, 1);
        let dense = |r: usize| {
            let mut d = [0.0f64; 3];
            rows[r].iter().for_each(|&(c, v)| d[c] = v);
            d
        };
        for i in 0..4 {
            for j in 0..4 {
                let want: f64 = dense(i).iter().zip(dense(j)).map(|(x, y)| x * y).sum();
                let got: f32 = (0..3).map(|c| e[i * 3 + c] * e[j * 3 + c]).sum();
                assert!((want as f32 - got).abs() < 1e-5, "({i},{j}) {want} vs {got}");
            }
        }
    }
}
