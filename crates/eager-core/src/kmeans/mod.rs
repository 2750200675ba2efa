//! k-means clustering (plain with k-means++ seeding, and balanced equal-size) and the
//! hierarchical k-means that turns an embedding matrix into item codes.
//!
//! Inputs are row-major `[n, d]` f32 matrices (row r = item id r+1). Every random draw comes
//! from [`SeededRng`](crate::rng::SeededRng) and every parallel reduction has a fixed order, so
//! the same seed gives bit-identical results.
pub mod balanced;
pub mod centroids;
pub mod distance;
pub mod hierarchical;
mod lloyd;
pub mod plain;
pub mod seeding;

use serde::{Deserialize, Serialize};

use crate::error::{EagerError, Result};
use crate::rng::SeededRng;

pub use hierarchical::{build_codes, build_codes_with_progress, CodesProgress};

/// How the first centroids are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum KMeansInit {
    /// k-means++ D² sampling.
    #[default]
    PlusPlus,
    /// Means of a random equal partition (what the reference `kmeans_equal` does).
    RandomPartition,
}

/// Configuration of one k-means run, and of every node of the hierarchical build.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct KMeansConfig {
    /// Branching factor K: clusters per node, and the code vocabulary size (paper: 256).
    pub k: usize,
    /// Equal-size clusters (sizes differ by at most 1) instead of plain Lloyd k-means.
    pub balanced: bool,
    /// Maximum Lloyd iterations per run.
    pub max_iters: usize,
    /// Stop when (sum over clusters of the centre shift)² falls below this.
    pub tol: f64,
    /// Seed of every random draw.
    pub seed: u64,
    /// Independent runs (different seeds); the lowest inertia wins.
    pub n_init: usize,
    /// Centroid initialisation.
    pub init: KMeansInit,
}

impl Default for KMeansConfig {
    fn default() -> Self {
        KMeansConfig {
            k: 256,
            balanced: true,
            max_iters: 100,
            tol: 1e-6,
            seed: 2024,
            n_init: 1,
            init: KMeansInit::PlusPlus,
        }
    }
}

impl KMeansConfig {
    /// Checks ranges; errors name the field.
    pub fn validate(&self) -> Result<()> {
        if self.k < 2 || self.k > (1 << 24) {
            return Err(EagerError::invalid(format!("k must be in 2..=16777216, got {}", self.k)));
        }
        if self.max_iters == 0 {
            return Err(EagerError::invalid("maxIters must be at least 1"));
        }
        if !(self.tol.is_finite() && self.tol >= 0.0) {
            return Err(EagerError::invalid(format!("tol must be finite and >= 0, got {}", self.tol)));
        }
        if self.n_init == 0 || self.n_init > 1000 {
            return Err(EagerError::invalid(format!("nInit must be in 1..=1000, got {}", self.n_init)));
        }
        Ok(())
    }
}

/// Result of one flat k-means run.
#[derive(Debug, Clone, PartialEq)]
pub struct Clustering {
    /// Cluster of each point, `[n]`, each `< k`.
    pub assign: Vec<u32>,
    /// Final centres, `[k, d]`.
    pub centroids: Vec<f32>,
    /// Number of clusters.
    pub k: usize,
    /// Lloyd iterations run.
    pub iters: usize,
    /// Sum of squared distances of points to their assigned centres (at the last assignment).
    pub inertia: f64,
}

/// Checks an embedding matrix: `dim > 0`, length a multiple of `dim`, at least one row, all
/// values finite. Returns the row count.
pub fn check_matrix(x: &[f32], dim: usize) -> Result<usize> {
    if dim == 0 {
        return Err(EagerError::invalid("dim must be at least 1"));
    }
    if x.len() % dim != 0 {
        return Err(EagerError::invalid(format!("embeddings length {} is not a multiple of dim {dim}", x.len())));
    }
    let n = x.len() / dim;
    if n == 0 {
        return Err(EagerError::invalid("embeddings are empty (0 rows)"));
    }
    if n > u32::MAX as usize - 1 {
        return Err(EagerError::invalid(format!("too many rows: {n}")));
    }
    if let Some(pos) = x.iter().position(|v| !v.is_finite()) {
        return Err(EagerError::invalid(format!(
            "embeddings row {} (item id {}) column {} is not finite",
            pos / dim,
            pos / dim + 1,
            pos % dim
        )));
    }
    Ok(n)
}

/// One flat k-means run over `x` (`[n, dim]`) with `cfg.k` clusters, balanced or plain
/// according to `cfg.balanced`; `n_init` runs, lowest inertia kept (ties: earliest run).
pub fn kmeans(x: &[f32], dim: usize, cfg: &KMeansConfig) -> Result<Clustering> {
    cfg.validate()?;
    let n = check_matrix(x, dim)?;
    if n < cfg.k {
        return Err(EagerError::invalid(format!("k-means needs at least k = {} points, got {n}", cfg.k)));
    }
    let mut rng = SeededRng::new(cfg.seed);
    Ok(run_unchecked(x, n, dim, cfg, cfg.balanced, &mut rng))
}

/// [`kmeans`] without argument checks (callers guarantee `n >= k >= 2`, finite values);
/// `balanced` overrides `cfg.balanced`.
pub(crate) fn run_unchecked(
    x: &[f32],
    n: usize,
    d: usize,
    cfg: &KMeansConfig,
    balanced: bool,
    rng: &mut SeededRng,
) -> Clustering {
    let mut best: Option<Clustering> = None;
    for run in 0..cfg.n_init {
        let mut run_rng = rng.fork(run as u64);
        let c = if balanced {
            balanced::balanced_kmeans(x, n, d, cfg, &mut run_rng)
        } else {
            plain::plain_kmeans(x, n, d, cfg, &mut run_rng)
        };
        match &best {
            Some(b) if b.inertia <= c.inertia => {}
            _ => best = Some(c),
        }
    }
    // n_init >= 1 was validated, so `best` is set; an empty result is unreachable
    best.unwrap_or_else(|| Clustering {
        assign: vec![0; n],
        centroids: vec![0.0; cfg.k * d],
        k: cfg.k,
        iters: 0,
        inertia: 0.0,
    })
}

/// Initial centres according to `cfg.init`, `[k, d]`.
pub(crate) fn initial_centers(x: &[f32], n: usize, d: usize, cfg: &KMeansConfig, rng: &mut SeededRng) -> Vec<f32> {
    match cfg.init {
        KMeansInit::PlusPlus => seeding::kmeans_plus_plus(x, n, d, cfg.k, rng),
        KMeansInit::RandomPartition => seeding::random_partition_means(x, n, d, cfg.k, rng),
    }
}

#[cfg(test)]
mod tests;
