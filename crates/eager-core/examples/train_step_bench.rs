//! Training-step throughput of the EAGER model on the released code's configuration
//! (hidden 96, 4 heads, FFN 1024, 1 encoder + 2 decoder layers per stream, K 128, L 2,
//! batch 256, history 19, GCT InfoNCE with 2048 negatives, STT on) with random data.
//!
//! `cargo run --release -p eager-core --example train_step_bench -- [steps] [batch] [threads]`
//! (defaults 20 steps, batch 256, RAYON_NUM_THREADS or 2 threads; CANDLE_NUM_THREADS defaults
//! to 1 here). Prints one JSON line. `EAGER_BENCH_PHASES=1` also prints a forward / backward /
//! optimiser breakdown to stderr; `EAGER_BENCH_CONFIG='{...}'` merges JSON over the config.
use std::time::Instant;

use eager_core::eager::{EagerConfig, EagerModel, StreamInput, TrainBatch, Trainer};
use eager_core::rng::SeededRng;

#[path = "common/mod.rs"]
mod common;
use common::*;

/// Process CPU time (user + system) in seconds, from /proc (Linux; 0 elsewhere).
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else { return 0.0 };
    // Fields after the command name (which ends with ')'): utime is the 12th, stime the 13th.
    let Some(rest) = stat.rsplit(')').next() else { return 0.0 };
    let f: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (tick(11) + tick(12)) / 100.0
}

fn merge(base: &mut serde_json::Value, over: serde_json::Value) {
    match (base, over) {
        (serde_json::Value::Object(b), serde_json::Value::Object(o)) => {
            for (k, v) in o {
                merge(b.entry(k).or_insert(serde_json::Value::Null), v);
            }
        }
        (b, o) => *b = o,
    }
}

fn main() -> eager_core::Result<()> {
    let steps = pos_arg(1, 20);
    let batch = pos_arg(2, 256);
    // candle's element-wise pool spin-waits; next to rayon's pool (matmuls, fused kernels) it
    // oversubscribes the cores (about 3x slower steps on 2 cores). Set before any candle op.
    if std::env::var("CANDLE_NUM_THREADS").is_err() {
        std::env::set_var("CANDLE_NUM_THREADS", "1");
    }
    let threads = setup_threads(3);

    let mut rng = SeededRng::new(2024);
    let codes_b = random_codes(&mut rng)?;
    let codes_s = random_codes(&mut rng)?;
    let emb_b: Vec<f32> = (0..N_ITEMS * 96).map(|_| rng.normal()).collect();
    let emb_s: Vec<f32> = (0..N_ITEMS * 768).map(|_| rng.normal()).collect();
    // EAGER_BENCH_CONFIG: JSON merged over the released configuration (for experiments).
    let mut cfg_json = serde_json::to_value(EagerConfig::released())?;
    if let Ok(extra) = std::env::var("EAGER_BENCH_CONFIG") {
        merge(&mut cfg_json, serde_json::from_str(&extra)?);
    }
    let cfg = EagerConfig::from_json(&cfg_json.to_string())?;
    let model = EagerModel::new(
        cfg.clone(),
        N_ITEMS,
        Some(StreamInput { codes: &codes_b, embeddings: Some((&emb_b, 96)) }),
        Some(StreamInput { codes: &codes_s, embeddings: Some((&emb_s, 768)) }),
        1,
    )?;
    let n_params = model.params().num_parameters();
    let mut trainer = Trainer::new(model, 1, 1e-3)?;
    let t = cfg.max_history;
    let make_batch = |rng: &mut SeededRng| -> eager_core::Result<TrainBatch> {
        let mut hist = vec![0u32; batch * t];
        let mut targets = Vec::with_capacity(batch);
        for row in hist.chunks_mut(t) {
            let len = 4 + rng.below(t - 3); // 4..=19 real items, like Beauty's windows
            for v in row[t - len..].iter_mut() {
                *v = 1 + rng.below(N_ITEMS) as u32;
            }
            targets.push(1 + rng.below(N_ITEMS) as u32);
        }
        TrainBatch::new(hist, targets, t)
    };
    if std::env::var("EAGER_BENCH_PHASES").is_ok() {
        // Phase breakdown on a separate copy: forward, backward, optimiser.
        let model = trainer.model().clone();
        let mut adam = eager_core::optim::Adam::new(model.params(), eager_core::optim::AdamConfig::default())?;
        for _ in 0..4 {
            let b = make_batch(&mut rng)?;
            let c0 = cpu_seconds();
            let t0 = Instant::now();
            let (loss, _) = model.losses(&b, &mut rng, true)?;
            let t1 = Instant::now();
            let grads = loss.backward()?;
            let t2 = Instant::now();
            let norm = eager_core::optim::grad_norm(model.params(), &grads)?;
            let t3 = Instant::now();
            adam.step(model.params(), &grads)?;
            let t4 = Instant::now();
            eprintln!(
                "cpu {:.0} ms | forward {:.0} ms, backward {:.0} ms, grad norm {:.0} ms ({norm:.3}), adam {:.0} ms",
                (cpu_seconds() - c0) * 1e3,
                (t1 - t0).as_secs_f64() * 1e3,
                (t2 - t1).as_secs_f64() * 1e3,
                (t3 - t2).as_secs_f64() * 1e3,
                (t4 - t3).as_secs_f64() * 1e3
            );
        }
    }
    let warmup = 3.min(steps);
    let mut times = Vec::new();
    let mut last = None;
    let mut cpu = 0.0;
    for i in 0..steps + warmup {
        let b = make_batch(&mut rng)?;
        let c0 = cpu_seconds();
        let t0 = Instant::now();
        let r = trainer.step(&b)?;
        let dt = t0.elapsed().as_secs_f64();
        if i >= warmup {
            times.push(dt);
            cpu += cpu_seconds() - c0;
        }
        last = Some(r);
    }
    let total: f64 = times.iter().sum();
    let mut sorted = times.clone();
    sorted.sort_by(|a, b| a.total_cmp(b));
    let median = sorted.get(sorted.len() / 2).copied().unwrap_or(0.0);
    println!(
        "{}",
        serde_json::json!({
            "impl": "eager-core (candle, fused CPU kernels)",
            "threads": threads,
            "batch": batch,
            "timed_steps": times.len(),
            "n_params": n_params,
            "train_samples_per_s": (times.len() * batch) as f64 / total,
            "train_step_ms_median": median * 1e3,
            "cpu_ms_per_step": cpu * 1e3 / times.len().max(1) as f64,
            "last": last.map(|r| serde_json::to_value(r).unwrap_or_default()),
        })
    );
    Ok(())
}
