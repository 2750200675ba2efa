//! Sentence encoder in the sentence-transformers layout (all-MiniLM-L6-v2): WordPiece tokens ->
//! BERT -> mean pooling over real tokens -> L2 normalisation.
//!
//! Loaded from a local Hugging Face-format directory: `config.json`, `tokenizer.json` (or
//! `vocab.txt`), and weights as `model.safetensors` or PyTorch `pytorch_model.bin`.
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};

use crate::error::{EagerError, Result};
use crate::text::bert::{l2_normalize, mean_pool, BertConfig, BertEncoder};
use crate::text::wordpiece::WordPieceTokenizer;

/// Default truncation length. sentence-transformers uses 256 for all-MiniLM-L6-v2; 128 covers
/// every item text of the shared datasets (title + brand + categories, at most ~100 tokens) and
/// halves the worst-case cost of a batch. Outputs for texts shorter than the limit are identical.
pub const DEFAULT_MAX_LEN: usize = 128;
/// Default number of texts per forward pass.
pub const DEFAULT_BATCH_SIZE: usize = 64;

/// Options of [`SentenceEncoder::load`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SentenceEncoderOptions {
    /// Maximum tokens per text including `[CLS]`/`[SEP]`; longer texts are truncated.
    pub max_len: usize,
    /// Texts per forward pass (texts are sorted by length first, so padding stays small).
    pub batch_size: usize,
}

impl Default for SentenceEncoderOptions {
    fn default() -> Self {
        SentenceEncoderOptions { max_len: DEFAULT_MAX_LEN, batch_size: DEFAULT_BATCH_SIZE }
    }
}

/// A pretrained BERT-family sentence encoder with mean pooling and L2 normalisation.
#[derive(Debug, Clone)]
pub struct SentenceEncoder {
    tokenizer: WordPieceTokenizer,
    bert: BertEncoder,
    options: SentenceEncoderOptions,
    weights_path: PathBuf,
}

/// Finds the weights file in a model directory: safetensors first, then PyTorch `.bin`.
pub fn find_weights(dir: &Path) -> Result<PathBuf> {
    for name in ["model.safetensors", "pytorch_model.bin"] {
        let p = dir.join(name);
        if p.is_file() {
            return Ok(p);
        }
    }
    Err(EagerError::BadFile {
        path: dir.display().to_string(),
        msg: "model directory has neither model.safetensors nor pytorch_model.bin \
              (fetch the weights with scripts/fetch-minilm.sh)"
            .into(),
    })
}

/// Reads every tensor of a `.safetensors` or PyTorch `.bin` (zip pickle) weights file.
pub fn read_weights(path: &Path) -> Result<HashMap<String, Tensor>> {
    let shown = path.display().to_string();
    let bad = |e: candle_core::Error| EagerError::BadFile { path: shown.clone(), msg: e.to_string() };
    let is_bin = path.extension().and_then(|e| e.to_str()).is_some_and(|e| e == "bin" || e == "pt" || e == "pth");
    if is_bin {
        // PyTorch zip checkpoint; candle's unpickler needs no torch.
        let all = candle_core::pickle::read_all(path).map_err(bad)?;
        Ok(all.into_iter().collect())
    } else {
        candle_core::safetensors::load(path, &Device::Cpu).map_err(bad)
    }
}

impl SentenceEncoder {
    /// Loads tokenizer, config and weights from a local HF-format model directory.
    pub fn load(dir: &Path, options: SentenceEncoderOptions) -> Result<Self> {
        if !dir.is_dir() {
            return Err(EagerError::BadFile {
                path: dir.display().to_string(),
                msg: "model directory does not exist (fetch it with scripts/fetch-minilm.sh)".into(),
            });
        }
        let config = BertConfig::from_file(&dir.join("config.json"))?;
        let tok_json = dir.join("tokenizer.json");
        let tokenizer = if tok_json.is_file() {
            WordPieceTokenizer::from_tokenizer_json(&tok_json)?
        } else {
            WordPieceTokenizer::from_vocab_txt(&dir.join("vocab.txt"))?
        };
        let weights_path = find_weights(dir)?;
        let map = read_weights(&weights_path)?;
        let bert = BertEncoder::from_tensors(config, &map, &weights_path.display().to_string(), &Device::Cpu)?;
        SentenceEncoder::new(tokenizer, bert, options, weights_path)
    }

    /// Assembles an encoder from parts (checks the options and vocabulary sizes).
    pub fn new(
        tokenizer: WordPieceTokenizer,
        bert: BertEncoder,
        options: SentenceEncoderOptions,
        weights_path: PathBuf,
    ) -> Result<Self> {
        let max_pos = bert.config().max_position_embeddings;
        if options.max_len < 2 || options.max_len > max_pos {
            return Err(EagerError::invalid(format!(
                "maxLen must be in 2..={max_pos} (model positions), got {}",
                options.max_len
            )));
        }
        if options.batch_size == 0 {
            return Err(EagerError::invalid("batchSize must be at least 1"));
        }
        if tokenizer.vocab_size() > bert.config().vocab_size {
            return Err(EagerError::invalid(format!(
                "tokenizer vocabulary ({}) is larger than the model's vocab_size ({})",
                tokenizer.vocab_size(),
                bert.config().vocab_size
            )));
        }
        Ok(SentenceEncoder { tokenizer, bert, options, weights_path })
    }

    /// Output dimension (hidden size).
    pub fn dim(&self) -> usize {
        self.bert.config().hidden_size
    }

    /// The tokenizer (exposed for tests and diagnostics).
    pub fn tokenizer(&self) -> &WordPieceTokenizer {
        &self.tokenizer
    }

    /// Encoder options in force.
    pub fn options(&self) -> SentenceEncoderOptions {
        self.options
    }

    /// Path of the weights file this encoder was loaded from.
    pub fn weights_path(&self) -> &Path {
        &self.weights_path
    }

    /// Token ids (`[CLS] ... [SEP]`, truncated to `max_len`) of one text.
    pub fn token_ids(&self, text: &str) -> Vec<u32> {
        self.tokenizer.encode(text, self.options.max_len)
    }

    /// Encodes texts into unit-norm rows, row-major `[n, dim]` in input order.
    /// `progress(done, total)` is called after every batch.
    pub fn encode(&self, texts: &[&str], progress: &mut dyn FnMut(usize, usize)) -> Result<Vec<f32>> {
        let n = texts.len();
        let d = self.dim();
        let seqs: Vec<Vec<u32>> = texts.iter().map(|t| self.token_ids(t)).collect();
        // Sort by length so each batch pads to nearly its own length.
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by_key(|&i| (seqs[i].len(), i));
        let mut out = vec![0f32; n * d];
        let mut done = 0usize;
        progress(0, n);
        for chunk in order.chunks(self.options.batch_size) {
            let batch: Vec<Vec<u32>> = chunk.iter().map(|&i| seqs[i].clone()).collect();
            let enc = self.tokenizer.pad(&batch);
            // On a rayon worker, so parallel kernels start on this thread (no hand-off per op).
            let rows = rayon::scope(|_| -> Result<Vec<f32>> {
                let hidden = self.bert.forward(&enc.ids, &enc.mask, enc.n, enc.max_len)?; // [B, T, d]
                let pooled = l2_normalize(&mean_pool(&hidden, &enc.mask)?)?; // [B, d]
                Ok(pooled.flatten_all()?.to_vec1::<f32>()?)
            })?;
            for (r, &i) in chunk.iter().enumerate() {
                out[i * d..(i + 1) * d].copy_from_slice(&rows[r * d..(r + 1) * d]);
            }
            done += chunk.len();
            progress(done, n);
        }
        if out.iter().any(|v| !v.is_finite()) {
            return Err(EagerError::Numeric("sentence encoder produced non-finite values".into()));
        }
        Ok(out)
    }
}
