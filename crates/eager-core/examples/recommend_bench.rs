//! Inference throughput (users/s) of EAGER's `recommend` on the torch reference's workload
//! (`../shared/torch-ref/eager_ref.py`, `eval_users_per_s`): released configuration (hidden 96,
//! 1 encoder + 2 decoder layers per stream, K 128, L 2), Beauty's 12,101 items on random
//! distinct codes, random histories of 4..=19 items, batches of 50 users, beam 100 per stream,
//! top-5 per stream, union rescored by both streams' log-likelihoods (merge `rescore`).
//! The weights are untrained (as in the reference): only the speed is meaningful.
//!
//! `cargo run --release -p eager-core --example recommend_bench -- [users] [beam] [threads] [batch]`
//! (defaults 2048 users, beam 100, RAYON_NUM_THREADS or 2 threads, batches of 50). Prints one JSON line.
use std::time::Instant;

use eager_core::eager::{EagerConfig, EagerModel, MergeMode, RecommendOptions, StreamInput};
use eager_core::rng::SeededRng;

#[path = "common/mod.rs"]
mod common;
use common::*;

fn main() -> eager_core::Result<()> {
    let users = pos_arg(1, 2048);
    let beam = pos_arg(2, 100);
    let threads = setup_threads(3);

    let mut rng = SeededRng::new(2024);
    let codes_b = random_codes(&mut rng)?;
    let codes_s = random_codes(&mut rng)?;
    let emb_b: Vec<f32> = (0..N_ITEMS * 96).map(|_| rng.normal()).collect();
    let emb_s: Vec<f32> = (0..N_ITEMS * 768).map(|_| rng.normal()).collect();
    let cfg = EagerConfig::released();
    let model = EagerModel::new(
        cfg.clone(),
        N_ITEMS,
        Some(StreamInput { codes: &codes_b, embeddings: Some((&emb_b, 96)) }),
        Some(StreamInput { codes: &codes_s, embeddings: Some((&emb_s, 768)) }),
        1,
    )?;
    let histories: Vec<Vec<u32>> = (0..users)
        .map(|_| {
            let len = 4 + rng.below(cfg.max_history - 3); // 4..=19 items
            (0..len).map(|_| 1 + rng.below(N_ITEMS) as u32).collect()
        })
        .collect();
    let refs: Vec<&[u32]> = histories.iter().map(|h| h.as_slice()).collect();
    let batch_users = pos_arg(4, 50);
    let opts =
        RecommendOptions { k: 5, beam, merge: MergeMode::Rescore, per_stream: 5, semantic_weight: 1.0, batch_users };
    // One untimed batch (allocator / thread-pool warm-up), then all users timed.
    model.recommend(&refs[..refs.len().min(50)], &opts)?;
    let t0 = Instant::now();
    let recs = model.recommend(&refs, &opts)?;
    let seconds = t0.elapsed().as_secs_f64();
    let returned: usize = recs.iter().map(|r| r.items.len()).sum();
    println!(
        "{}",
        serde_json::json!({
            "impl": "eager-core (candle)",
            "threads": threads,
            "eval_users": users,
            "eval_batch": opts.batch_users,
            "beam": beam,
            "per_stream": opts.per_stream,
            "k": opts.k,
            "eval_seconds": seconds,
            "eval_users_per_s": users as f64 / seconds.max(1e-9),
            "items_returned": returned,
            "peak_rss_mb": peak_rss_mb(),
        })
    );
    Ok(())
}
