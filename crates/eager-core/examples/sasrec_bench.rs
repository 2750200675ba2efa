//! SASRec training throughput and peak memory on Beauty's sizes: 12,101 items, 22,363 random
//! sequences whose lengths follow a 5-core-like spread (5..=60 items), default model (hidden 64,
//! 2 layers, full-softmax cross-entropy), batch 256. Only speed and memory are meaningful.
//!
//! `cargo run --release -p eager-core --example sasrec_bench -- [epochs] [batch] [threads]`
//! (defaults 1 epoch, batch 256, RAYON_NUM_THREADS or 2 threads). Prints one JSON line.
use std::time::Instant;

use candle_core::Device;
use eager_core::rng::SeededRng;
use eager_core::sasrec::{SasRec, SasRecConfig, Sequences};

#[path = "common/mod.rs"]
mod common;
use common::*;

fn main() -> eager_core::Result<()> {
    let epochs = pos_arg(1, 1);
    let batch = pos_arg(2, 256);
    let threads = setup_threads(3);
    let mut rng = SeededRng::new(7);
    let (users, mut items, mut offsets) = (22_363usize, Vec::new(), vec![0usize]);
    for _ in 0..users {
        // Mostly short histories, a few long ones (like the 5-core Amazon sets).
        let len = 3 + (rng.below(8) * rng.below(8)).min(57);
        items.extend((0..len).map(|_| 1 + rng.below(N_ITEMS) as u32));
        offsets.push(items.len());
    }
    let train = Sequences::new(items, offsets, N_ITEMS)?;
    let mut model = SasRec::new(&SasRecConfig::default(), N_ITEMS, 2024, &Device::Cpu)?;
    let rss_before = peak_rss_mb();
    let t0 = Instant::now();
    let mut loss = 0.0;
    for _ in 0..epochs {
        loss = model.train_epoch(&train, batch, &mut |_| {})?;
    }
    let seconds = t0.elapsed().as_secs_f64();
    println!(
        "{}",
        serde_json::json!({
            "impl": "eager-core sasrec",
            "threads": threads,
            "epochs": epochs,
            "batch": batch,
            "users": users,
            "epoch_seconds": seconds / epochs as f64,
            "last_loss": loss,
            "peak_rss_mb_before_training": rss_before,
            "peak_rss_mb": peak_rss_mb(),
        })
    );
    Ok(())
}
