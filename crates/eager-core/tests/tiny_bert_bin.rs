//! A tiny random BERT saved by PyTorch as `pytorch_model.bin` (zip pickle, read without torch)
//! must give the same token ids and sentence embeddings as transformers + sentence-transformers.
//!
//! Fixture: `test/fixtures/tiny-bert/` (config.json, tokenizer.json, pytorch_model.bin,
//! reference.json), made by this script (Debian python3-torch 1.13.1, transformers 4.40.2,
//! sentence-transformers 2.7.0, tokenizers 0.19.1; `python make_tiny_bert.py test/fixtures/tiny-bert`):
//!
//! ```python
//! import json, os, sys, torch
//! from transformers import BertConfig, BertModel, BertTokenizerFast
//! from sentence_transformers import SentenceTransformer, models
//! out = sys.argv[1]
//! os.makedirs(out, exist_ok=True)
//! vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "nail", "polish", "red", "hair", "sham", "##poo",
//!          "cream", "the", "un", "##aff", "##able", ",", "!", "-", "0", ".", "5", "cafe", "creme", "中"]
//! open(os.path.join(out, "vocab.txt"), "w").write("\n".join(vocab) + "\n")
//! tok = BertTokenizerFast(os.path.join(out, "vocab.txt"), do_lower_case=True)
//! tok.save_pretrained(out)
//! torch.manual_seed(0)
//! cfg = BertConfig(vocab_size=len(vocab), hidden_size=16, num_hidden_layers=2, num_attention_heads=4,
//!                  intermediate_size=32, max_position_embeddings=32, type_vocab_size=2)
//! m = BertModel(cfg).eval()
//! with torch.no_grad():  # larger-than-init LN params so they matter
//!     for n, p in m.named_parameters():
//!         if "LayerNorm" in n:
//!             p.add_(0.3 * torch.randn_like(p))
//! m.save_pretrained(out, safe_serialization=False)
//! for f in ["special_tokens_map.json", "tokenizer_config.json", "vocab.txt"]:
//!     os.remove(os.path.join(out, f))
//! st = SentenceTransformer(modules=[models.Transformer(out, max_seq_length=32), models.Pooling(16, "mean"),
//!                                   models.Normalize()], device="cpu")
//! sentences = ["Red nail polish, 0.5!", "Crème shampoo for the hair", "unaffable 中 xyz", " ".join(["the"] * 33)]
//! emb = st.encode(sentences, batch_size=4, convert_to_numpy=True)
//! ids = [st.tokenizer(s, truncation=True, max_length=32)["input_ids"] for s in sentences]
//! json.dump({"sentences": sentences, "max_len": 32, "token_ids": ids,
//!            "embeddings": [[float(x) for x in r] for r in emb]},
//!           open(os.path.join(out, "reference.json"), "w"), indent=1)
//! ```
use std::path::PathBuf;

use eager_core::text::{SentenceEncoder, SentenceEncoderOptions};

#[derive(serde::Deserialize)]
struct Reference {
    sentences: Vec<String>,
    max_len: usize,
    token_ids: Vec<Vec<u32>>,
    embeddings: Vec<Vec<f32>>,
}

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../test/fixtures/tiny-bert")
}

#[test]
fn tiny_bert_bin_matches_pytorch_reference() {
    let dir = fixture();
    let r: Reference = serde_json::from_str(&std::fs::read_to_string(dir.join("reference.json")).unwrap()).unwrap();
    let opts = SentenceEncoderOptions { max_len: r.max_len, batch_size: 3 };
    let enc = SentenceEncoder::load(&dir, opts).unwrap();
    assert!(enc.weights_path().ends_with("pytorch_model.bin"));
    assert_eq!(enc.dim(), 16);
    for (s, want) in r.sentences.iter().zip(&r.token_ids) {
        assert_eq!(&enc.token_ids(s), want, "token ids of {s:?}");
    }
    let texts: Vec<&str> = r.sentences.iter().map(String::as_str).collect();
    let mut calls = Vec::new();
    let got = enc.encode(&texts, &mut |d, t| calls.push((d, t))).unwrap();
    assert_eq!(calls.first(), Some(&(0, 4)));
    assert_eq!(calls.last(), Some(&(4, 4)));
    let mut max_diff = 0f32;
    for (i, want) in r.embeddings.iter().enumerate() {
        for (j, w) in want.iter().enumerate() {
            max_diff = max_diff.max((got[i * 16 + j] - w).abs());
        }
    }
    assert!(max_diff < 1e-5, "max abs diff {max_diff}");
}

#[test]
fn missing_model_dir_is_a_clear_error() {
    let err = SentenceEncoder::load(&fixture().join("nope"), SentenceEncoderOptions::default()).unwrap_err();
    assert_eq!(err.code(), "EAGER_BAD_FILE");
    assert!(err.to_string().contains("fetch-minilm"), "{err}");
}
