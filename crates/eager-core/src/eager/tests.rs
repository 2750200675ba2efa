//! Model-level tests: gradients reach every parameter, a tiny model memorises, determinism.
use candle_core::Tensor;

use super::batch::TrainBatch;
use super::config::{EagerConfig, GctForm};
use super::model::{EagerModel, LossParts, StreamInput};
use super::trainer::Trainer;
use crate::codes::CodeTable;
use crate::error::{EagerError, Result};
use crate::rng::SeededRng;

/// 12 items, K = 4, L = 2; semantic codes a permutation of the behaviour ones.
pub(crate) struct Fixture {
    pub num_items: usize,
    pub codes_b: CodeTable,
    pub codes_s: CodeTable,
    pub emb_b: Vec<f32>,
    pub emb_s: Vec<f32>,
}

pub(crate) const EMB_B: usize = 6;
pub(crate) const EMB_S: usize = 10;

pub(crate) fn fixture() -> Result<Fixture> {
    let n = 12usize;
    let codes_b: Vec<u32> = (0..n).flat_map(|i| [(i / 4) as u32, (i % 4) as u32]).collect();
    let codes_s: Vec<u32> = (0..n)
        .flat_map(|i| {
            let j = i * 5 % 12;
            [(j / 4) as u32, (j % 4) as u32]
        })
        .collect();
    let mut rng = SeededRng::new(99);
    let emb_b = (0..n * EMB_B).map(|_| rng.normal()).collect();
    let emb_s = (0..n * EMB_S).map(|_| rng.normal()).collect();
    Ok(Fixture {
        num_items: n,
        codes_b: CodeTable::new(4, 2, codes_b)?,
        codes_s: CodeTable::new(4, 2, codes_s)?,
        emb_b,
        emb_s,
    })
}

pub(crate) fn tiny_config() -> EagerConfig {
    let mut cfg = EagerConfig {
        hidden: 16,
        heads: 2,
        ffn: 32,
        encoder_layers: 1,
        decoder_layers: 2,
        max_history: 5,
        ..EagerConfig::default()
    };
    cfg.gct.negatives = 5;
    cfg.stt.negatives = 2;
    cfg
}

pub(crate) fn build(cfg: EagerConfig, f: &Fixture, seed: u64) -> Result<EagerModel> {
    EagerModel::new(
        cfg,
        f.num_items,
        Some(StreamInput { codes: &f.codes_b, embeddings: Some((&f.emb_b, EMB_B)) }),
        Some(StreamInput { codes: &f.codes_s, embeddings: Some((&f.emb_s, EMB_S)) }),
        seed,
    )
}

/// Every user walks the catalogue cyclically with a user-specific stride: the next item is a
/// deterministic function of the last two, so a model can fit it exactly.
pub(crate) fn cyclic_batch(n_items: usize, users: usize, t: usize) -> Result<TrainBatch> {
    let mut hist = Vec::new();
    let mut targets = Vec::new();
    for u in 0..users {
        let stride = 1 + u % 3;
        let start = u % n_items;
        let seq: Vec<u32> = (0..=t).map(|s| ((start + s * stride) % n_items) as u32 + 1).collect();
        let keep = 2 + u % (t - 1); // varying history lengths, right-aligned
        let mut row = vec![0u32; t];
        row[t - keep..].copy_from_slice(&seq[t - keep..t]);
        hist.extend(row);
        targets.push(seq[t]);
    }
    TrainBatch::new(hist, targets, t)
}

#[test]
fn every_parameter_gets_a_finite_nonzero_gradient() -> Result<()> {
    let f = fixture()?;
    for form in [GctForm::InfoNce, GctForm::SmoothL1, GctForm::Cosine] {
        let mut cfg = tiny_config();
        cfg.gct.form = form;
        let model = build(cfg, &f, 3)?;
        let batch = cyclic_batch(f.num_items, 16, 5)?;
        let (total, parts) = model.losses(&batch, &mut SeededRng::new(1), true)?;
        assert!(parts.recon.is_some() && parts.recog.is_some() && parts.con_semantic.is_some());
        let grads = total.backward()?;
        for (name, var) in model.params().iter() {
            let g = grads
                .get(var.as_tensor())
                .ok_or_else(|| crate::EagerError::invalid(format!("{form:?}: no gradient for {name}")))?;
            let v: Vec<f32> = g.flatten_all()?.to_vec1()?;
            assert!(v.iter().all(|x| x.is_finite()), "{form:?}: non-finite gradient in {name}");
            assert!(v.iter().any(|&x| x != 0.0), "{form:?}: zero gradient for {name}");
        }
    }
    Ok(())
}

fn with_pretrained_inputs() -> EagerConfig {
    let mut cfg = tiny_config();
    cfg.pretrained_inputs.behaviour = true;
    cfg.pretrained_inputs.semantic = true;
    cfg
}

fn values(var: &candle_core::Var) -> Result<Vec<f32>> {
    Ok(var.as_tensor().flatten_all()?.to_vec1()?)
}

fn param(model: &EagerModel, name: &str) -> Result<candle_core::Var> {
    model.params().get(name).cloned().ok_or_else(|| crate::EagerError::invalid(format!("no parameter {name}")))
}

#[test]
fn pretrained_inputs_get_gradients_and_leave_the_other_weights_unchanged() -> Result<()> {
    let f = fixture()?;
    let plain = build(tiny_config(), &f, 3)?;
    let model = build(with_pretrained_inputs(), &f, 3)?;
    // Same seed: every weight of the plain model is drawn identically; two projections more.
    for (name, var) in plain.params().iter() {
        assert_eq!(values(var)?, values(&param(&model, name)?)?, "{name}");
    }
    assert_eq!(model.params().vars().len(), plain.params().vars().len() + 2);
    let pb = model.params().get("encoder.inputs.behaviour.weight").map(|v| v.dims().to_vec());
    let ps = model.params().get("encoder.inputs.semantic.weight").map(|v| v.dims().to_vec());
    assert_eq!((pb, ps), (Some(vec![EMB_B, 16]), Some(vec![EMB_S, 16])));
    let batch = cyclic_batch(f.num_items, 16, 5)?;
    let (total, _) = model.losses(&batch, &mut SeededRng::new(1), true)?;
    let grads = total.backward()?;
    for name in ["encoder.inputs.behaviour.weight", "encoder.inputs.semantic.weight", "encoder.items.weight"] {
        let var = param(&model, name)?;
        let g: Vec<f32> = grads
            .get(var.as_tensor())
            .ok_or_else(|| crate::EagerError::invalid(format!("no gradient for {name}")))?
            .flatten_all()?
            .to_vec1()?;
        assert!(g.iter().all(|x| x.is_finite()) && g.iter().any(|&x| x != 0.0), "{name}: {g:?}");
    }
    Ok(())
}

/// Reference: folding `unit(E[i]) · W` into item i's id embedding by hand and zeroing `W` gives
/// the same encoder states as the model that adds the projection itself.
#[test]
fn pretrained_inputs_add_projected_unit_rows_to_the_item_embeddings() -> Result<()> {
    let f = fixture()?;
    let mut cfg = tiny_config();
    cfg.pretrained_inputs.semantic = true;
    let model = build(cfg.clone(), &f, 4)?;
    let folded = build(cfg, &f, 4)?;
    let (d, e) = (16usize, EMB_S);
    let w = values(&param(&model, "encoder.inputs.semantic.weight")?)?; // [e, d]
    let mut items = values(&param(&folded, "encoder.items.weight")?)?; // [N + 1, d]
    for i in 0..f.num_items {
        let row = &f.emb_s[i * e..(i + 1) * e];
        let norm = row.iter().map(|v| v * v).sum::<f32>().sqrt();
        for j in 0..d {
            let add: f32 = (0..e).map(|k| row[k] / norm * w[k * d + j]).sum();
            items[(i + 1) * d + j] += add;
        }
    }
    let items_var = param(&folded, "encoder.items.weight")?;
    items_var.set(&Tensor::from_vec(items, items_var.shape(), items_var.device())?)?;
    let w_var = param(&folded, "encoder.inputs.semantic.weight")?;
    w_var.set(&w_var.as_tensor().zeros_like()?)?;
    let hist: Vec<u32> = vec![0, 0, 3, 7, 12, 1, 2, 3, 4, 5];
    let noise = || super::layers::Noise::eval();
    let a: Vec<f32> = model.encode(&hist, 2, 5, &mut noise())?.states.flatten_all()?.to_vec1()?;
    let b: Vec<f32> = folded.encode(&hist, 2, 5, &mut noise())?.states.flatten_all()?.to_vec1()?;
    let plain: Vec<f32> =
        build(tiny_config(), &f, 4)?.encode(&hist, 2, 5, &mut noise())?.states.flatten_all()?.to_vec1()?;
    let max_diff = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
    assert!(max_diff < 1e-5, "max |diff| {max_diff}");
    assert!(a.iter().zip(&plain).any(|(x, y)| (x - y).abs() > 1e-3), "the input changed nothing");
    Ok(())
}

#[test]
fn pretrained_inputs_need_their_stream_and_embeddings() -> Result<()> {
    let f = fixture()?;
    let mut cfg = with_pretrained_inputs();
    cfg.streams.semantic = false;
    cfg.stt.enabled = false;
    let err = cfg.validate().err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.contains("pretrainedInputs.semantic"), "{err}");
    let mut cfg = tiny_config();
    cfg.gct.enabled = false;
    cfg.pretrained_inputs.behaviour = true;
    let res = EagerModel::new(
        cfg,
        f.num_items,
        Some(StreamInput { codes: &f.codes_b, embeddings: None }),
        Some(StreamInput { codes: &f.codes_s, embeddings: None }),
        1,
    );
    let err = res.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.contains("pretrainedInputs.behaviour") && err.contains("no behaviour embeddings"), "{err}");
    Ok(())
}

#[test]
fn tiny_model_memorises_a_tiny_dataset() -> Result<()> {
    let f = fixture()?;
    let mut cfg = tiny_config();
    cfg.hidden = 32;
    cfg.ffn = 64;
    cfg.dropout = 0.0;
    cfg.attention_dropout = 0.0;
    cfg.optimizer.clip_norm = 0.0;
    let model = build(cfg, &f, 5)?;
    let batch = cyclic_batch(f.num_items, 24, 5)?;
    let mut trainer = Trainer::new(model, 7, 5e-3)?;
    let first = trainer.step(&batch)?.losses;
    let mut last = first.clone();
    for _ in 0..250 {
        last = trainer.step(&batch)?.losses;
    }
    let eval = trainer.evaluate(&batch)?;
    let gen = |p: &super::LossParts| p.gen_behaviour.unwrap_or(0.0) + p.gen_semantic.unwrap_or(0.0);
    assert!(gen(&first) > 2.0, "initial generation loss {first:?}");
    assert!(gen(&eval) < 0.05, "generation loss after training {eval:?} (last step {last:?})");
    // The auxiliary tasks also fit (recognition is learnable; reconstruction with 2 negatives).
    assert!(eval.recog.unwrap_or(1.0) < 0.2 && eval.recon.unwrap_or(1.0) < 0.2, "aux losses {eval:?}");
    Ok(())
}

#[test]
fn same_seed_same_losses() -> Result<()> {
    let f = fixture()?;
    let batch = cyclic_batch(f.num_items, 10, 5)?;
    let run = |seed: u64| -> Result<Vec<f32>> {
        let mut t = Trainer::new(build(tiny_config(), &f, seed)?, seed, 1e-3)?;
        (0..3).map(|_| Ok(t.step(&batch)?.losses.total)).collect()
    };
    let a = run(11)?;
    assert_eq!(a, run(11)?);
    assert_ne!(a, run(12)?);
    Ok(())
}

#[test]
fn non_finite_loss_is_a_numeric_error_and_leaves_weights() -> Result<()> {
    let f = fixture()?;
    let mut t = Trainer::new(build(tiny_config(), &f, 1)?, 1, 1e-3)?;
    let (name, var) = t
        .model()
        .params()
        .iter()
        .next()
        .map(|(n, v)| (n.to_string(), v.clone()))
        .ok_or_else(|| crate::EagerError::invalid("no params"))?;
    let mut vals: Vec<f32> = var.as_tensor().flatten_all()?.to_vec1()?;
    vals[5] = f32::NAN; // a real item row of the encoder table
    var.set(&Tensor::from_vec(vals, var.shape(), var.device())?)?;
    let before: Vec<f32> = t.model().params().vars()[1].as_tensor().flatten_all()?.to_vec1()?;
    let batch = cyclic_batch(f.num_items, 12, 5)?;
    let err = t.step(&batch).err().map(|e| e.code()).unwrap_or("none");
    assert_eq!(err, "EAGER_NUMERIC", "{name}");
    let after: Vec<f32> = t.model().params().vars()[1].as_tensor().flatten_all()?.to_vec1()?;
    assert_eq!(before, after);
    assert_eq!(t.step_count(), 0);
    Ok(())
}

/// A tiny model trained a little (so its distributions are not flat).
fn trained_tiny() -> Result<(Fixture, EagerModel)> {
    let f = fixture()?;
    let mut cfg = tiny_config();
    cfg.dropout = 0.0;
    cfg.attention_dropout = 0.0;
    let model = build(cfg, &f, 21)?;
    let batch = cyclic_batch(f.num_items, 24, 5)?;
    let mut t = Trainer::new(model, 21, 3e-3)?;
    for _ in 0..25 {
        t.step(&batch)?;
    }
    let model = t.model().clone();
    Ok((f, model))
}

fn exhaustive(model: &EagerModel, kind: super::StreamKind, h: &[u32]) -> Result<Vec<(u32, f32)>> {
    let s = model.score_all(kind, h)?;
    let mut v: Vec<(u32, f32)> = s.iter().enumerate().map(|(i, &x)| (i as u32 + 1, x)).collect();
    v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    Ok(v)
}

#[test]
fn full_beam_equals_exhaustive_scoring() -> Result<()> {
    use super::layers::Noise;
    let (f, model) = trained_tiny()?;
    let histories: Vec<Vec<u32>> = vec![vec![1, 2, 3], vec![7], vec![12, 11, 10, 9, 8, 7, 6]];
    let refs: Vec<&[u32]> = histories.iter().map(|h| h.as_slice()).collect();
    let (hist, t) = {
        let t = 5;
        (super::batch::right_align(&refs, t), t)
    };
    let enc = model.encode(&hist, refs.len(), t, &mut Noise::eval())?;
    for stream in model.streams() {
        let found = model.beam_search(stream, &enc, f.num_items)?;
        for (u, h) in refs.iter().enumerate() {
            let ex = exhaustive(&model, stream.kind, h)?;
            assert_eq!(found[u].len(), f.num_items);
            let a: Vec<u32> = found[u].iter().map(|x| x.0).collect();
            let b: Vec<u32> = ex.iter().map(|x| x.0).collect();
            assert_eq!(a, b, "{:?} user {u}: beam {:?} vs exhaustive {:?}", stream.kind, found[u], ex);
            for (x, y) in found[u].iter().zip(&ex) {
                assert!((x.1 - y.1).abs() < 1e-4, "score {x:?} vs {y:?}");
            }
        }
    }
    Ok(())
}

#[test]
fn recommend_merges_streams_like_exhaustive_scoring() -> Result<()> {
    use super::beam::{MergeMode, RecommendOptions};
    let (f, model) = trained_tiny()?;
    let h: &[u32] = &[3, 4, 5];
    let eb = model.score_all(super::StreamKind::Behaviour, h)?;
    let es = model.score_all(super::StreamKind::Semantic, h)?;
    let rank = |score: &dyn Fn(usize) -> f32| -> Vec<u32> {
        let mut v: Vec<(u32, f32)> = (0..f.num_items).map(|i| (i as u32 + 1, score(i))).collect();
        v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        v.into_iter().map(|x| x.0).collect()
    };
    // Rescore over the whole catalogue = ranking by the summed log-likelihoods.
    let opts = RecommendOptions {
        k: f.num_items,
        beam: f.num_items,
        merge: MergeMode::Rescore,
        per_stream: f.num_items,
        semantic_weight: 1.0,
        batch_users: 8,
    };
    let r = model.recommend(&[h], &opts)?;
    assert_eq!(r[0].items, rank(&|i| eb[i] + es[i]));
    // A weighted semantic term ranks by the weighted sum; weight 0 = the behaviour stream alone.
    for w in [0.0f32, 0.3, 2.5] {
        let r = model.recommend(&[h], &RecommendOptions { semantic_weight: w, ..opts })?;
        assert_eq!(r[0].items, rank(&|i| eb[i] + w * es[i]), "semantic weight {w}");
        let score = |item: u32| eb[item as usize - 1] + w * es[item as usize - 1];
        for (item, s) in r[0].items.iter().zip(&r[0].scores) {
            assert!((s - score(*item)).abs() < 1e-4, "w {w}: item {item} score {s} vs {}", score(*item));
        }
    }
    assert_ne!(rank(&|i| eb[i]), rank(&|i| eb[i] + es[i]), "the fixture must tell the weights apart");
    for bad in [-0.5f32, f32::NAN, f32::INFINITY] {
        assert!(model.recommend(&[h], &RecommendOptions { semantic_weight: bad, ..opts }).is_err(), "weight {bad}");
    }
    // Confidence with full beams = ranking by the best per-token log-probability.
    let opts = RecommendOptions { merge: MergeMode::Confidence, ..opts };
    let r = model.recommend(&[h], &opts)?;
    assert_eq!(r[0].items, rank(&|i| (eb[i] / 2.0).max(es[i] / 2.0)));
    // Small k: exactly k distinct items, for both merges; k above the catalogue is clamped.
    for merge in [MergeMode::Rescore, MergeMode::Confidence] {
        for k in [1, 3, 5] {
            let r = model.recommend(
                &[h, &[1], &[9, 9, 9]],
                &RecommendOptions { k, beam: 2, merge, per_stream: 0, semantic_weight: 1.0, batch_users: 2 },
            )?;
            for rec in &r {
                let mut d = rec.items.clone();
                d.sort();
                d.dedup();
                assert_eq!(d.len(), k, "{merge:?} k={k}: {rec:?}");
            }
        }
        let r = model.recommend(&[h], &RecommendOptions { k: 50, merge, ..RecommendOptions::default() })?;
        assert_eq!(r[0].items.len(), f.num_items);
    }
    assert!(model.recommend(&[&[]], &RecommendOptions::default()).is_err());
    assert!(model.recommend(&[&[13]], &RecommendOptions::default()).is_err());
    Ok(())
}

/// `score_lists` gives each listed item the rescore sum of its exhaustive stream scores (the
/// reference: `score_all`, one history at a time), whatever the list order, batching or history
/// length; its scores are those `recommend` ranks by; bad input is an error.
#[test]
fn score_lists_is_the_rescore_sum_of_given_items() -> Result<()> {
    use super::beam::RecommendOptions;
    let (f, model) = trained_tiny()?;
    let hs: [&[u32]; 3] = [&[3, 4, 5], &[1], &[9, 2, 9, 7]];
    let cands: Vec<Vec<u32>> = vec![vec![12, 1, 5, 3], vec![], vec![7, 7, 2]];
    for (w, batch) in [(1.0f32, 1), (0.4, 2), (0.0, 64)] {
        let got = model.score_lists(&hs, &cands, w, batch)?;
        assert_eq!(got.iter().map(Vec::len).collect::<Vec<_>>(), vec![4, 0, 3]);
        for (u, h) in hs.iter().enumerate() {
            let eb = model.score_all(super::StreamKind::Behaviour, h)?;
            let es = model.score_all(super::StreamKind::Semantic, h)?;
            for (item, g) in cands[u].iter().zip(&got[u]) {
                let want = eb[*item as usize - 1] + w * es[*item as usize - 1];
                assert!((g - want).abs() < 1e-4, "w {w} batch {batch} user {u} item {item}: {g} vs {want}");
            }
        }
    }
    // The scores recommend ranks its rescore lists by.
    let opts = RecommendOptions { k: 5, beam: 8, ..RecommendOptions::default() };
    let r = model.recommend(&hs, &opts)?;
    let listed: Vec<Vec<u32>> = r.iter().map(|x| x.items.clone()).collect();
    for (rec, s) in r.iter().zip(model.score_lists(&hs, &listed, 1.0, 2)?) {
        for (a, b) in rec.scores.iter().zip(&s) {
            assert!((a - b).abs() < 1e-4, "{rec:?} vs {s:?}");
        }
    }
    assert!(model.score_lists(&hs, &cands[..2], 1.0, 8).is_err(), "list count");
    assert!(model.score_lists(&hs, &[vec![1], vec![0], vec![]], 1.0, 8).is_err(), "item 0");
    assert!(
        model.score_lists(&hs, &[vec![1], vec![f.num_items as u32 + 1], vec![]], 1.0, 8).is_err(),
        "item > numItems"
    );
    assert!(model.score_lists(&hs, &cands, -1.0, 8).is_err(), "negative weight");
    assert!(model.score_lists(&[&[], &[1], &[2]], &cands, 1.0, 8).is_err(), "empty history");
    Ok(())
}

/// Incremental decoding (`start` / `step` over cached keys | values, beams reordered between
/// levels, several beams per user folded onto one memory row) gives the same log-probabilities
/// as running the decoder over each whole prefix, at every level of a 3-level code.
#[test]
fn incremental_decoding_equals_full_prefix_decoding() -> Result<()> {
    use super::layers::Noise;
    let base = fixture()?;
    // 12 items on K = 3, L = 3 codes (base-3 digits of the item index).
    let digits = |i: usize| [(i / 9) as u32, (i / 3 % 3) as u32, (i % 3) as u32];
    let codes: Vec<u32> = (0..12).flat_map(digits).collect();
    let f = Fixture { codes_b: CodeTable::new(3, 3, codes.clone())?, codes_s: CodeTable::new(3, 3, codes)?, ..base };
    let model = build(tiny_config(), &f, 5)?;
    let histories: Vec<Vec<u32>> = vec![vec![1, 2, 3], vec![9, 4]];
    let refs: Vec<&[u32]> = histories.iter().map(|h| h.as_slice()).collect();
    let t = 3;
    let enc = model.encode(&super::batch::right_align(&refs, t), 2, t, &mut Noise::eval())?;
    let close = |a: &Tensor, b: &Tensor, what: &str| -> Result<()> {
        let d = (a - b)?.abs()?.max_all()?.to_scalar::<f32>()?;
        assert!(d < 1e-5, "{what}: max difference {d}");
        Ok(())
    };
    for stream in model.streams() {
        let dec = &stream.decoder;
        let kvs = dec.memory_kvs(&enc.memory())?;
        let (lp0, s0) = dec.start(2, &enc, &kvs)?;
        close(&lp0, &dec.next_log_probs(&[], 2, 0, &enc, &kvs)?, "level 0")?;
        // Level 1: three beams per user (rows u·3 + j), prefixes [c0].
        let (parents1, tok1): (Vec<u32>, Vec<u32>) = (vec![0, 0, 0, 1, 1, 1], vec![2, 0, 1, 1, 1, 0]);
        let (lp1, s1) = dec.step(&s0, &parents1, &tok1, &enc, &kvs)?;
        close(&lp1, &dec.next_log_probs(&tok1, 6, 1, &enc, &kvs)?, "level 1")?;
        // Level 2: beams reordered and duplicated across parents (still within each user).
        let parents2: Vec<u32> = vec![2, 0, 0, 5, 3, 4];
        let tok2: Vec<u32> = vec![1, 2, 0, 0, 2, 1];
        let (lp2, s2) = dec.step(&s1, &parents2, &tok2, &enc, &kvs)?;
        let prefixes: Vec<u32> = parents2.iter().zip(&tok2).flat_map(|(&p, &t2)| [tok1[p as usize], t2]).collect();
        close(&lp2, &dec.next_log_probs(&prefixes, 6, 2, &enc, &kvs)?, "level 2")?;
        assert_eq!(s2.rows(), 6);
        // A step past the last level, a bad parent and a bad token are errors, not panics.
        assert!(dec.step(&s2, &[0], &[0], &enc, &kvs).is_err());
        assert!(dec.step(&s1, &[6], &[0], &enc, &kvs).is_err());
        assert!(dec.step(&s1, &[0], &[3], &enc, &kvs).is_err());
        // Candidate rescoring (shared prefixes decoded once) = teacher-forced scoring.
        let cands: Vec<Vec<u32>> = vec![vec![12, 1, 2, 3, 10, 11], vec![5]];
        let got = model.score_candidates(stream, &enc, &cands)?;
        for (u, h) in refs.iter().enumerate() {
            let all = model.score_all(stream.kind, h)?;
            for (item, g) in cands[u].iter().zip(&got[u]) {
                let want = all[*item as usize - 1];
                assert!((g - want).abs() < 1e-5, "user {u} item {item}: {g} vs {want}");
            }
        }
        // A user without candidates is allowed (nothing to score).
        let got = model.score_candidates(stream, &enc, &[vec![3, 7], vec![]])?;
        assert_eq!((got[0].len(), got[1].len()), (2, 0));
    }
    Ok(())
}

/// `labelSmoothing` reaches the two generation losses and nothing else (the loss itself is
/// checked against reference numbers in `nn::loss`).
#[test]
fn label_smoothing_changes_only_the_generation_losses() -> Result<()> {
    let f = fixture()?;
    let batch = cyclic_batch(f.num_items, 10, 5)?;
    let parts = |eps: f32| -> Result<LossParts> {
        let mut cfg = tiny_config();
        cfg.label_smoothing = eps;
        let model = build(cfg, &f, 5)?;
        Ok(model.losses(&batch, &mut SeededRng::new(9), false)?.1)
    };
    let (plain, smooth) = (parts(0.0)?, parts(0.2)?);
    assert_eq!(plain.total, build(tiny_config(), &f, 5)?.losses(&batch, &mut SeededRng::new(9), false)?.1.total);
    for (a, b) in [(plain.gen_behaviour, smooth.gen_behaviour), (plain.gen_semantic, smooth.gen_semantic)] {
        let (a, b) = (a.ok_or(EagerError::invalid("gen"))?, b.ok_or(EagerError::invalid("gen"))?);
        assert!(a.is_finite() && b.is_finite() && (a - b).abs() > 1e-4, "{a} vs {b}");
    }
    assert_eq!(plain.con_behaviour, smooth.con_behaviour);
    assert_eq!(plain.con_semantic, smooth.con_semantic);
    assert_eq!(plain.recon, smooth.recon);
    assert_eq!(plain.recog, smooth.recog);
    Ok(())
}

/// The history unlikelihood of a model's current weights on `batch` (no dropout), per stream,
/// with the items drawn by `draw_seed`.
fn history_terms(model: &EagerModel, batch: &TrainBatch, draw_seed: u64) -> Result<Vec<f32>> {
    use super::history::{draw_history_items, history_unlikelihood};
    use super::layers::Noise;
    let (items, mask) = draw_history_items(batch, &mut SeededRng::new(draw_seed));
    let enc = model.encode(&batch.history, batch.len(), batch.history_len, &mut Noise::eval())?;
    let mut out = Vec::new();
    for s in model.streams() {
        let kvs = s.decoder.memory_kvs(&enc.memory())?;
        let h = history_unlikelihood(&s.decoder, &s.codes_of(&items)?, &mask, &enc, &kvs, &mut Noise::eval())?;
        out.push(h.ok_or_else(|| EagerError::invalid("every row masked"))?.to_scalar::<f32>()?);
    }
    Ok(out)
}

#[test]
fn history_unlikelihood_matches_a_reference_from_the_decoders_next_token_distribution() -> Result<()> {
    use super::history::draw_history_items;
    use super::layers::Noise;
    let (_f, model) = trained_tiny()?;
    let batch = cyclic_batch(model.num_items(), 12, 5)?;
    let got = history_terms(&model, &batch, 8)?;
    // Reference: log p(leaf | prefix) from `next_log_probs` (eval path), then the formula in f64.
    let (items, mask) = draw_history_items(&batch, &mut SeededRng::new(8));
    let enc = model.encode(&batch.history, batch.len(), batch.history_len, &mut Noise::eval())?;
    for (s, got) in model.streams().zip(got) {
        let kvs = s.decoder.memory_kvs(&enc.memory())?;
        let codes = s.codes_of(&items)?; // [B, 2]
        let prefixes: Vec<u32> = codes.chunks(2).map(|c| c[0]).collect();
        let lp: Vec<Vec<f32>> = s.decoder.next_log_probs(&prefixes, batch.len(), 1, &enc, &kvs)?.to_vec2()?;
        let (mut sum, mut n) = (0f64, 0f64);
        for (r, m) in mask.iter().enumerate() {
            if *m > 0.0 {
                let p = f64::from(lp[r][codes[r * 2 + 1] as usize]).exp();
                sum += -(1.0 - p + 1e-6).ln();
                n += 1.0;
            }
        }
        assert!(n >= 10.0, "{n} rows penalised");
        let want = sum / n;
        assert!((f64::from(got) - want).abs() < 1e-5 * want.max(1.0), "{:?}: {got} vs reference {want}", s.kind);
    }
    Ok(())
}

#[test]
fn history_unlikelihood_adds_its_weighted_terms_and_reaches_every_parameter() -> Result<()> {
    let f = fixture()?;
    let batch = cyclic_batch(f.num_items, 16, 5)?;
    let off = build(tiny_config(), &f, 5)?.losses(&batch, &mut SeededRng::new(9), false)?.1;
    assert_eq!((off.hist_behaviour, off.hist_semantic), (None, None));
    let mut cfg = tiny_config();
    cfg.history_unlikelihood = 0.5;
    let model = build(cfg, &f, 5)?;
    let on = model.losses(&batch, &mut SeededRng::new(9), false)?.1;
    let (hb, hs) = (on.hist_behaviour.unwrap_or(-1.0), on.hist_semantic.unwrap_or(-1.0));
    assert!(hb > 0.0 && hs > 0.0 && hb.is_finite() && hs.is_finite(), "{on:?}");
    // without dropout the other parts are untouched and the total adds λ3 (L_b + L_s)
    assert_eq!(
        (on.gen_behaviour, on.gen_semantic, on.con_behaviour, on.con_semantic),
        (off.gen_behaviour, off.gen_semantic, off.con_behaviour, off.con_semantic)
    );
    assert_eq!((on.recon, on.recog), (off.recon, off.recog));
    assert!((on.total - off.total - 0.5 * (hb + hs)).abs() < 1e-4, "{on:?} vs {off:?}");
    // gradients (a training pass: the eval path takes fused kernels without backward)
    let (total, _) = model.losses(&batch, &mut SeededRng::new(9), true)?;
    let grads = total.backward()?;
    for (name, var) in model.params().iter() {
        let g = grads.get(var.as_tensor()).ok_or_else(|| EagerError::invalid(format!("no gradient for {name}")))?;
        let v: Vec<f32> = g.flatten_all()?.to_vec1()?;
        assert!(v.iter().all(|x| x.is_finite()) && v.iter().any(|&x| x != 0.0), "gradient of {name}");
    }
    Ok(())
}

#[test]
fn training_with_history_unlikelihood_pushes_history_leaves_down() -> Result<()> {
    let f = fixture()?;
    let batch = cyclic_batch(f.num_items, 24, 5)?;
    let gen = |p: &LossParts| p.gen_behaviour.unwrap_or(9.0) + p.gen_semantic.unwrap_or(9.0);
    let train = |lambda: f32| -> Result<(Vec<f32>, f32, f32)> {
        let mut cfg = tiny_config();
        cfg.dropout = 0.0;
        cfg.attention_dropout = 0.0;
        cfg.history_unlikelihood = lambda;
        let mut t = Trainer::new(build(cfg, &f, 21)?, 21, 3e-3)?;
        let first = gen(&t.step(&batch)?.losses);
        for _ in 0..80 {
            t.step(&batch)?;
        }
        // measured on draws the training never used
        Ok((history_terms(t.model(), &batch, 1234)?, first, gen(&t.evaluate(&batch)?)))
    };
    let (plain, _, _) = train(0.0)?;
    let (ul, first, last) = train(2.0)?;
    for (a, b) in plain.iter().zip(&ul) {
        assert!(b < &(a * 0.9), "history term without {plain:?}, with {ul:?}");
    }
    // and the targets are still learnt (in this tiny set every item is some row's target and
    // others' history item, so the two terms pull against each other: slower, not stopped)
    assert!(last < first * 0.4, "generation loss {first} -> {last}");
    Ok(())
}
