//! Times hierarchical balanced k-means code building on the torch reference's input sizes:
//! 12,101 × 96 Gaussians and 12,101 × 768 row-normalised Gaussians, K = 128, ≤ 100 iterations.
//!
//! `cargo run --release -p eager-core --example kmeans_bench -- [--items N] [--k K]
//!  [--iters I] [--seed S] [--plain]` prints one JSON line (see benches/kmeans.md).
use std::time::Instant;

use eager_core::kmeans::{build_codes_with_progress, KMeansConfig};
use eager_core::rng::SeededRng;

#[path = "common/mod.rs"]
mod common;
use common::*;

fn arg(args: &[String], name: &str, default: u64) -> u64 {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let n = arg(&args, "--items", 12_101) as usize;
    let k = arg(&args, "--k", 128) as usize;
    let iters = arg(&args, "--iters", 100) as usize;
    let seed = arg(&args, "--seed", 2024);
    let balanced = !args.iter().any(|a| a == "--plain");
    let mut rng = SeededRng::new(seed);
    // stand-ins as in eager_ref.py: behaviour 96-d Gaussians, semantic 768-d row-normalised
    let behaviour: Vec<f32> = (0..n * 96).map(|_| rng.normal()).collect();
    let mut semantic: Vec<f32> = (0..n * 768).map(|_| rng.normal()).collect();
    for row in semantic.chunks_mut(768) {
        let norm = row.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
        row.iter_mut().for_each(|v| *v /= norm);
    }
    let cfg = KMeansConfig { k, balanced, max_iters: iters, seed, ..KMeansConfig::default() };
    let mut per_tree = Vec::new();
    let mut root_iters = Vec::new();
    let mut lengths = Vec::new();
    let t_all = Instant::now();
    for (x, d) in [(&behaviour, 96usize), (&semantic, 768usize)] {
        let t = Instant::now();
        let mut first_iters = None;
        let table = build_codes_with_progress(x, d, &cfg, &mut |p| {
            if first_iters.is_none() {
                first_iters = Some(p.kmeans_iters);
            }
        })?;
        per_tree.push((t.elapsed().as_secs_f64() * 1000.0).round() / 1000.0);
        root_iters.push(first_iters.unwrap_or(0));
        lengths.push(table.length);
    }
    let total = t_all.elapsed().as_secs_f64();
    println!(
        "{{\"impl\": \"eager-core\", \"n_items\": {n}, \"k\": {k}, \"balanced\": {balanced}, \"max_iters\": {iters}, \
         \"threads\": {}, \"kmeans_seconds\": {:.3}, \"per_tree_seconds\": {:?}, \"root_iters\": {:?}, \
         \"code_lengths\": {:?}, \"peak_rss_mb\": {:.1}}}",
        rayon::current_num_threads(),
        total,
        per_tree,
        root_iters,
        lengths,
        peak_rss_mb()
    );
    Ok(())
}
