//! SASRec end-to-end checks on tiny synthetic data.
use candle_core::Device;

use crate::error::Result;
use crate::sasrec::*;

fn tiny_cfg() -> SasRecConfig {
    SasRecConfig {
        hidden: 16,
        heads: 2,
        ffn_dim: 32,
        dropout: 0.1,
        attn_dropout: 0.1,
        max_len: 8,
        lr: 5e-3,
        ..SasRecConfig::default()
    }
}

/// Users walk a cycle 1 → 2 → … → 10 → 1 from different starting points.
fn cyclic(users: usize, len: usize, n: u32) -> Result<Sequences> {
    let mut items = Vec::new();
    let mut offsets = vec![0];
    for u in 0..users {
        for j in 0..len {
            items.push(((u + j) as u32 % n) + 1);
        }
        offsets.push(items.len());
    }
    Sequences::new(items, offsets, n as usize)
}

#[test]
fn every_parameter_gets_a_gradient() -> Result<()> {
    for norm_first in [false, true] {
        let cfg = SasRecConfig { norm_first, ..tiny_cfg() };
        let mut rng = crate::rng::SeededRng::new(3);
        let model = SasRecModel::new(&cfg, 10, &Device::Cpu, &mut rng)?;
        let seqs = cyclic(4, 6, 10)?;
        let windows = batch::training_windows(&seqs, cfg.max_len);
        let b = batch::train_batch(&seqs, &windows);
        let grads = model.loss(&b, true, &mut rng)?.backward()?;
        for (name, var) in model.store().iter() {
            let g = grads.get(var.as_tensor()).unwrap_or_else(|| panic!("no gradient for {name}"));
            let v: Vec<f32> = g.flatten_all()?.to_vec1()?;
            assert!(v.iter().all(|x| x.is_finite()) && v.iter().any(|&x| x != 0.0), "bad gradient for {name}");
        }
    }
    Ok(())
}

#[test]
fn learns_a_cycle_deterministically() -> Result<()> {
    let seqs = cyclic(20, 7, 10)?;
    let run = || -> Result<(Vec<f64>, Vec<u32>, Vec<f32>)> {
        let mut m = SasRec::new(&tiny_cfg(), 10, 42, &Device::Cpu)?;
        let mut losses = Vec::new();
        for _ in 0..30 {
            losses.push(m.train_epoch(&seqs, 16, &mut |_| {})?);
        }
        let hist = Sequences::new(vec![3, 4, 5, 9, 10], vec![0, 3, 5], 10)?;
        Ok((losses, m.top_k(&hist, 1, false)?, m.embeddings()?))
    };
    let (l1, top1, e1) = run()?;
    let (l2, top2, e2) = run()?;
    assert_eq!(l1, l2);
    assert_eq!(e1, e2);
    assert_eq!(top1, top2);
    assert!(l1[29] < 0.5 * l1[0], "loss {} -> {}", l1[0], l1[29]);
    assert_eq!(top1, vec![6, 1], "next items of 3,4,5 and 9,10");
    assert_eq!(e1.len(), 10 * 16);
    Ok(())
}

#[test]
fn save_load_roundtrip() -> Result<()> {
    let seqs = cyclic(8, 5, 10)?;
    let mut a = SasRec::new(&tiny_cfg(), 10, 1, &Device::Cpu)?;
    a.train_epoch(&seqs, 4, &mut |_| {})?;
    let dir = std::env::temp_dir().join(format!("eager-sasrec-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| crate::EagerError::io("tmp", e))?;
    let p = dir.join("m.safetensors");
    a.save(&p)?;
    let mut b = SasRec::new(&tiny_cfg(), 10, 2, &Device::Cpu)?;
    b.load(&p)?;
    assert_eq!(a.embeddings()?, b.embeddings()?);
    assert_eq!(a.scores(&seqs)?, b.scores(&seqs)?);
    let mut c = SasRec::new(&tiny_cfg(), 11, 2, &Device::Cpu)?;
    assert!(c.load(&p).is_err());
    std::fs::remove_dir_all(&dir).map_err(|e| crate::EagerError::io("tmp", e))?;
    Ok(())
}

/// Manual benchmark / quality run on a real dataset (ignored by default):
/// `EAGER_SASREC_DATA=../shared/datasets/beauty EAGER_SASREC_EPOCHS=1 cargo test --release -p eager-core
///  sasrec_real_data -- --ignored --nocapture`. Reports seconds per epoch and validation/test
/// Recall/NDCG@10 (history excluded) of the last epoch.
#[test]
#[ignore]
fn sasrec_real_data() -> Result<()> {
    let dir = std::env::var("EAGER_SASREC_DATA").unwrap_or_else(|_| "../../../shared/datasets/beauty".into());
    let epochs: usize = std::env::var("EAGER_SASREC_EPOCHS").ok().and_then(|s| s.parse().ok()).unwrap_or(1);
    let eval_every: usize = std::env::var("EAGER_SASREC_EVAL_EVERY").ok().and_then(|s| s.parse().ok()).unwrap_or(1);
    let batch: usize = std::env::var("EAGER_SASREC_BATCH").ok().and_then(|s| s.parse().ok()).unwrap_or(256);
    let mut cfg = SasRecConfig::default();
    if let Ok(j) = std::env::var("EAGER_SASREC_CONFIG") {
        cfg = serde_json::from_str(&j)?;
    }
    let text = std::fs::read_to_string(format!("{dir}/sequences.txt")).map_err(|e| crate::EagerError::io(&dir, e))?;
    let users: Vec<Vec<u32>> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split_whitespace().skip(1).map(|x| x.parse().unwrap_or(0)).collect())
        .collect();
    let limit: usize = std::env::var("EAGER_SASREC_USERS").ok().and_then(|s| s.parse().ok()).unwrap_or(usize::MAX);
    let users: Vec<Vec<u32>> = users.into_iter().take(limit).collect();
    let n = users.iter().flatten().copied().max().unwrap_or(0) as usize;
    let flat = |parts: &dyn Fn(&Vec<u32>) -> Vec<u32>| -> Result<Sequences> {
        let mut items = Vec::new();
        let mut off = vec![0];
        for u in &users {
            items.extend(parts(u));
            off.push(items.len());
        }
        Sequences::new(items, off, n)
    };
    let train = flat(&|u| u[..u.len() - 2].to_vec())?;
    let test_hist = flat(&|u| u[..u.len() - 1].to_vec())?;
    let val_t: Vec<u32> = users.iter().map(|u| u[u.len() - 2]).collect();
    let test_t: Vec<u32> = users.iter().map(|u| u[u.len() - 1]).collect();
    let metric = |top: &[u32], targets: &[u32]| -> (f64, f64) {
        let (mut r, mut nd) = (0.0, 0.0);
        for (row, &t) in top.chunks(10).zip(targets) {
            if let Some(p) = row.iter().position(|&x| x == t) {
                r += 1.0;
                nd += 1.0 / ((p + 2) as f64).log2();
            }
        }
        (r / targets.len() as f64, nd / targets.len() as f64)
    };
    let mut m = SasRec::new(&cfg, n, 42, &Device::Cpu)?;
    for e in 0..epochs {
        let t0 = std::time::Instant::now();
        let loss = m.train_epoch(&train, batch, &mut |_| {})?;
        let secs = t0.elapsed().as_secs_f64();
        if (e + 1) % eval_every == 0 || e + 1 == epochs {
            let t1 = std::time::Instant::now();
            let (vr, vn) = metric(&m.top_k(&train, 10, true)?, &val_t);
            let (tr, tn) = metric(&m.top_k(&test_hist, 10, true)?, &test_t);
            println!(
                "epoch {} loss {loss:.4} train {secs:.1}s eval {:.1}s val R@10 {vr:.4} N@10 {vn:.4} test R@10 {tr:.4} N@10 {tn:.4}",
                e + 1,
                t1.elapsed().as_secs_f64()
            );
        } else {
            println!("epoch {} loss {loss:.4} train {secs:.1}s", e + 1);
        }
    }
    Ok(())
}

/// The fused layers (default config) compute the same loss and the same gradients as the
/// composed reference layer (itself built from candle's differentiable ops) on a left-padded
/// batch, once the composed weights are copied over (q | k | v stacked into `qkv`).
#[test]
fn fused_layers_equal_composed_layers() -> Result<()> {
    use std::collections::HashMap;

    use candle_core::Tensor;

    let cfg = SasRecConfig { dropout: 0.0, attn_dropout: 0.0, ..tiny_cfg() };
    let dev = Device::Cpu;
    let composed = SasRecModel::with_layer_impl(&cfg, 10, &dev, &mut crate::rng::SeededRng::new(5), false)?;
    let fused = SasRecModel::with_layer_impl(&cfg, 10, &dev, &mut crate::rng::SeededRng::new(6), true)?;
    // Non-trivial values everywhere (layer-norm scales and shifts included).
    for (p, (_, var)) in composed.store().iter().enumerate() {
        let vals: Vec<f32> = (0..var.elem_count())
            .map(|e| 0.4 * (0.37 * (e as f64 + 1.0) + 1.7 * (p as f64 + 1.0)).sin() as f32)
            .collect();
        var.set(&Tensor::from_vec(vals, var.shape(), &dev)?)?;
    }
    let source = |fused_name: &str| -> Vec<String> {
        let (prefix, rest) = match fused_name.strip_prefix("layers.") {
            Some(r) => {
                let i = r.split('.').next().unwrap_or("0");
                (format!("layers.{i}."), r[i.len() + 1..].to_string())
            }
            None => return vec![fused_name.to_string()],
        };
        let names: Vec<String> = match rest.as_str() {
            "self_attn.qkv.weight" => ["q", "k", "v"].iter().map(|x| format!("self_attn.{x}.weight")).collect(),
            "self_attn.qkv.bias" => ["q", "k", "v"].iter().map(|x| format!("self_attn.{x}.bias")).collect(),
            r if r.starts_with("self_attn.out.") => vec![r.replace("self_attn.out.", "self_attn.o.")],
            r if r.starts_with("self_attn.ln.") => vec![r.replace("self_attn.ln.", "self_attn_norm.")],
            r if r.starts_with("ffn.ln.") => vec![r.replace("ffn.ln.", "ffn_norm.")],
            r => vec![r.to_string()],
        };
        names.into_iter().map(|n| format!("{prefix}{n}")).collect()
    };
    let gather = |names: &[String], get: &dyn Fn(&str) -> Option<Tensor>| -> Result<Tensor> {
        let parts = names
            .iter()
            .map(|n| get(n).ok_or_else(|| crate::EagerError::invalid(format!("no composed parameter {n}"))))
            .collect::<Result<Vec<_>>>()?;
        Ok(Tensor::cat(&parts, 0)?)
    };
    let mut map = HashMap::new();
    for name in fused.store().names() {
        let t = gather(&source(name), &|n| composed.store().get(n).map(|v| v.as_tensor().clone()))?;
        map.insert(name.clone(), t);
    }
    assert_eq!(map.len(), composed.store().len() - 4 * cfg.layers, "q, k, v weights and biases become one qkv pair");
    fused.store().assign(&map)?;

    // Users of different lengths, so rows are left-padded (and one row is mostly padding).
    let mut items = Vec::new();
    let mut offsets = vec![0];
    for (u, len) in [9usize, 3, 6, 2].iter().enumerate() {
        items.extend((0..*len).map(|j| ((u * 3 + j * 7) % 10) as u32 + 1));
        offsets.push(items.len());
    }
    let seqs = Sequences::new(items, offsets, 10)?;
    let b = batch::train_batch(&seqs, &batch::training_windows(&seqs, cfg.max_len));
    let mut rng = crate::rng::SeededRng::new(0);
    let (lc, lf) = (composed.loss(&b, true, &mut rng)?, fused.loss(&b, true, &mut rng)?);
    let (a, c) = (lf.to_scalar::<f32>()?, lc.to_scalar::<f32>()?);
    assert!((a - c).abs() < 1e-4, "loss fused {a} vs composed {c}");
    let (gf, gc) = (lf.backward()?, lc.backward()?);
    for (name, var) in fused.store().iter() {
        let want = gather(&source(name), &|n| composed.store().get(n).and_then(|v| gc.get(v.as_tensor()).cloned()))?;
        let got = gf
            .get(var.as_tensor())
            .ok_or_else(|| crate::EagerError::invalid(format!("no fused gradient for {name}")))?;
        let diff = (got - &want)?.abs()?.max_all()?.to_scalar::<f32>()?;
        let scale = want.abs()?.max_all()?.to_scalar::<f32>()?;
        assert!(scale > 0.0 && diff <= 2e-4 * scale.max(1e-2), "{name}: gradient differs by {diff} (scale {scale})");
    }
    // Evaluation scores agree too (the fused path then runs the inference feed-forward kernel).
    let hist = Sequences::new(vec![3, 4, 5, 9, 10, 1], vec![0, 3, 6], 10)?;
    let (ids, bb, t) = batch::history_batch(&[hist.get(0), &hist.get(1)[1..]], cfg.max_len);
    let (sf, sc) = (fused.scores(&ids, bb, t)?, composed.scores(&ids, bb, t)?);
    let diff = (sf - sc)?.abs()?.max_all()?.to_scalar::<f32>()?;
    assert!(diff < 1e-4, "scores differ by {diff}");
    Ok(())
}
