//! BERT encoder forward pass (inference only) on candle, in the Hugging Face `BertModel` layout.
//!
//! Embeddings (word + position + token type 0) -> LayerNorm, then `num_hidden_layers` post-LN
//! blocks: self-attention with a padding mask, residual + LayerNorm, FFN with exact (erf) GELU,
//! residual + LayerNorm. Every linear layer runs as one flattened `[B*T, d]` matmul, because
//! per-op overhead, not arithmetic, is what costs on CPU for short texts.
use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor, D};
use serde::Deserialize;

use crate::error::{EagerError, Result};

/// The fields of a HF BERT `config.json` that the forward pass needs.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct BertConfig {
    /// Model width d.
    pub hidden_size: usize,
    /// Number of transformer blocks.
    pub num_hidden_layers: usize,
    /// Number of attention heads (d must divide by it).
    pub num_attention_heads: usize,
    /// FFN inner width.
    pub intermediate_size: usize,
    /// Rows of the position embedding table: the longest input the model accepts.
    pub max_position_embeddings: usize,
    /// Vocabulary size.
    pub vocab_size: usize,
    /// LayerNorm epsilon.
    #[serde(default = "default_eps")]
    pub layer_norm_eps: f64,
    /// Activation name; only `gelu` (exact erf form) is supported.
    #[serde(default = "default_act")]
    pub hidden_act: String,
    /// Must be `absolute` (learned positions).
    #[serde(default = "default_pos")]
    pub position_embedding_type: String,
}

fn default_eps() -> f64 {
    1e-12
}
fn default_act() -> String {
    "gelu".into()
}
fn default_pos() -> String {
    "absolute".into()
}

impl BertConfig {
    /// Reads and checks a `config.json`.
    pub fn from_file(path: &Path) -> Result<Self> {
        let p = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| EagerError::io(&p, e))?;
        let cfg: BertConfig = serde_json::from_str(&text)
            .map_err(|e| EagerError::BadFile { path: p.clone(), msg: format!("not a BERT config: {e}") })?;
        let bad = |msg: String| EagerError::BadFile { path: p.clone(), msg };
        if cfg.num_attention_heads == 0 || cfg.hidden_size % cfg.num_attention_heads != 0 {
            return Err(bad(format!(
                "field `hidden_size` ({}) must be a multiple of `num_attention_heads` ({})",
                cfg.hidden_size, cfg.num_attention_heads
            )));
        }
        if cfg.hidden_act != "gelu" {
            return Err(bad(format!("field `hidden_act` is {:?}, only \"gelu\" is supported", cfg.hidden_act)));
        }
        if cfg.position_embedding_type != "absolute" {
            return Err(bad(format!(
                "field `position_embedding_type` is {:?}, only \"absolute\" is supported",
                cfg.position_embedding_type
            )));
        }
        Ok(cfg)
    }
}

/// A linear layer stored as the transposed weight `[in, out]`, so `x [N, in] @ wt` needs no
/// per-call transpose.
#[derive(Debug, Clone)]
struct Linear {
    wt: Tensor, // [in, out]
    b: Tensor,  // [out]
}

impl Linear {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        // [N, in] -> [N, out]
        Ok(x.matmul(&self.wt)?.broadcast_add(&self.b)?)
    }
}

#[derive(Debug, Clone)]
struct LayerNorm {
    w: Tensor,
    b: Tensor,
    eps: f32,
}

impl LayerNorm {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        // Fused kernel: fine here since the encoder is never trained.
        Ok(candle_nn::ops::layer_norm(x, &self.w, &self.b, self.eps)?)
    }
}

#[derive(Debug, Clone)]
struct Layer {
    qkv: Linear, // fused [d, 3d]
    attn_out: Linear,
    attn_ln: LayerNorm,
    ffn_in: Linear,
    ffn_out: Linear,
    out_ln: LayerNorm,
}

/// BERT encoder weights and forward pass.
#[derive(Debug, Clone)]
pub struct BertEncoder {
    config: BertConfig,
    word: Tensor,        // [V, d]
    position: Tensor,    // [P, d]
    token_type0: Tensor, // [d]
    emb_ln: LayerNorm,
    layers: Vec<Layer>,
    device: Device,
}

/// Looks tensors up by HF name, accepting an optional `bert.` prefix (as in `BertForX` checkpoints).
struct Weights<'a> {
    map: &'a HashMap<String, Tensor>,
    prefix: &'static str,
    source: String,
    device: Device,
}

impl Weights<'_> {
    fn get(&self, name: &str, shape: &[usize]) -> Result<Tensor> {
        let key = format!("{}{}", self.prefix, name);
        let t = self.map.get(&key).ok_or_else(|| EagerError::BadFile {
            path: self.source.clone(),
            msg: format!("missing weight tensor `{key}`"),
        })?;
        if t.dims() != shape {
            return Err(EagerError::BadFile {
                path: self.source.clone(),
                msg: format!("weight `{key}` has shape {:?}, expected {shape:?}", t.dims()),
            });
        }
        Ok(t.to_dtype(DType::F32)?.to_device(&self.device)?)
    }

    fn linear(&self, name: &str, n_in: usize, n_out: usize) -> Result<Linear> {
        let w = self.get(&format!("{name}.weight"), &[n_out, n_in])?;
        let b = self.get(&format!("{name}.bias"), &[n_out])?;
        Ok(Linear { wt: w.t()?.contiguous()?, b })
    }

    fn layer_norm(&self, name: &str, d: usize, eps: f64) -> Result<LayerNorm> {
        Ok(LayerNorm {
            w: self.get(&format!("{name}.weight"), &[d])?,
            b: self.get(&format!("{name}.bias"), &[d])?,
            eps: eps as f32,
        })
    }
}

impl BertEncoder {
    /// Builds the encoder from named tensors (HF names, optionally prefixed by `bert.`).
    /// `source` names the weights file in errors.
    pub fn from_tensors(
        config: BertConfig,
        map: &HashMap<String, Tensor>,
        source: &str,
        device: &Device,
    ) -> Result<Self> {
        let prefix = if map.contains_key("embeddings.word_embeddings.weight") { "" } else { "bert." };
        let w = Weights { map, prefix, source: source.to_string(), device: device.clone() };
        let (d, ff, eps) = (config.hidden_size, config.intermediate_size, config.layer_norm_eps);
        let word = w.get("embeddings.word_embeddings.weight", &[config.vocab_size, d])?;
        let position = w.get("embeddings.position_embeddings.weight", &[config.max_position_embeddings, d])?;
        let types = w.get_any_rows("embeddings.token_type_embeddings.weight", d)?;
        let token_type0 = types.get(0)?;
        let emb_ln = w.layer_norm("embeddings.LayerNorm", d, eps)?;
        let mut layers = Vec::with_capacity(config.num_hidden_layers);
        for i in 0..config.num_hidden_layers {
            let p = format!("encoder.layer.{i}");
            let q = w.linear(&format!("{p}.attention.self.query"), d, d)?;
            let k = w.linear(&format!("{p}.attention.self.key"), d, d)?;
            let v = w.linear(&format!("{p}.attention.self.value"), d, d)?;
            let qkv = Linear {
                wt: Tensor::cat(&[&q.wt, &k.wt, &v.wt], 1)?.contiguous()?, // [d, 3d]
                b: Tensor::cat(&[&q.b, &k.b, &v.b], 0)?,
            };
            layers.push(Layer {
                qkv,
                attn_out: w.linear(&format!("{p}.attention.output.dense"), d, d)?,
                attn_ln: w.layer_norm(&format!("{p}.attention.output.LayerNorm"), d, eps)?,
                ffn_in: w.linear(&format!("{p}.intermediate.dense"), d, ff)?,
                ffn_out: w.linear(&format!("{p}.output.dense"), ff, d)?,
                out_ln: w.layer_norm(&format!("{p}.output.LayerNorm"), d, eps)?,
            });
        }
        Ok(BertEncoder { config, word, position, token_type0, emb_ln, layers, device: device.clone() })
    }

    /// The model configuration.
    pub fn config(&self) -> &BertConfig {
        &self.config
    }

    /// Hidden states of the last layer, `[B, T, d]`, for row-major `ids` and `mask` `[B, T]`
    /// (mask 1 = real token, 0 = padding; padded keys get no attention).
    pub fn forward(&self, ids: &[u32], mask: &[u32], b: usize, t: usize) -> Result<Tensor> {
        let cfg = &self.config;
        if ids.len() != b * t || mask.len() != b * t {
            return Err(EagerError::invalid(format!(
                "ids/mask length {}/{} does not match batch {b} x {t}",
                ids.len(),
                mask.len()
            )));
        }
        if t > cfg.max_position_embeddings {
            return Err(EagerError::invalid(format!(
                "sequence length {t} exceeds max_position_embeddings {}",
                cfg.max_position_embeddings
            )));
        }
        if let Some(&bad) = ids.iter().find(|&&i| i as usize >= cfg.vocab_size) {
            return Err(EagerError::invalid(format!("token id {bad} >= vocab_size {}", cfg.vocab_size)));
        }
        let (d, h) = (cfg.hidden_size, cfg.num_attention_heads);
        let dh = d / h;
        let n = b * t;
        let ids_t = Tensor::from_slice(ids, n, &self.device)?;
        let pos = self.position.narrow(0, 0, t)?; // [T, d]
        let x = self.word.index_select(&ids_t, 0)?.reshape((b, t, d))?; // [B, T, d]
        let x = x.broadcast_add(&pos)?.broadcast_add(&self.token_type0)?;
        let mut x = self.emb_ln.forward(&x.reshape((n, d))?)?; // [B*T, d]

        // Additive key mask: 0 for real tokens, a large negative for padding. [B, 1, 1, T]
        let bias: Vec<f32> = mask.iter().map(|&m| if m != 0 { 0.0 } else { f32::MIN / 2.0 }).collect();
        let bias = Tensor::from_vec(bias, (b, 1, 1, t), &self.device)?;
        let scale = 1.0 / (dh as f64).sqrt();

        for layer in &self.layers {
            let qkv = layer.qkv.forward(&x)?; // [B*T, 3d]
            let qkv = qkv.reshape((b, t, 3, h, dh))?.permute((2, 0, 3, 1, 4))?; // [3, B, H, T, dh]
            let q = (qkv.get(0)?.contiguous()? * scale)?; // [B, H, T, dh]
            let k = qkv.get(1)?.contiguous()?;
            let v = qkv.get(2)?.contiguous()?;
            let scores = q.matmul(&k.t()?)?.broadcast_add(&bias)?; // [B, H, T, T]
            let probs = candle_nn::ops::softmax_last_dim(&scores)?;
            let ctx = probs.matmul(&v)?; // [B, H, T, dh]
            let ctx = ctx.transpose(1, 2)?.contiguous()?.reshape((n, d))?; // [B*T, d]
            let a = layer.attn_ln.forward(&(layer.attn_out.forward(&ctx)? + &x)?)?;
            let f = bias_gelu_parallel(&a.matmul(&layer.ffn_in.wt)?, &layer.ffn_in.b)?; // [B*T, ff]
            x = layer.out_ln.forward(&(layer.ffn_out.forward(&f)? + &a)?)?;
        }
        Ok(x.reshape((b, t, d))?)
    }
}

impl Weights<'_> {
    /// A `[rows, d]` tensor with any number of rows >= 1 (token type table).
    fn get_any_rows(&self, name: &str, d: usize) -> Result<Tensor> {
        let key = format!("{}{}", self.prefix, name);
        let rows = self.map.get(&key).map(|t| t.dims().first().copied().unwrap_or(0)).unwrap_or(0);
        if rows == 0 {
            return Err(EagerError::BadFile {
                path: self.source.clone(),
                msg: format!("missing weight tensor `{key}`"),
            });
        }
        self.get(name, &[rows, d])
    }
}

/// `gelu(x + b)` with the exact (erf) GELU, on all rayon threads. candle's CPU element-wise ops
/// run on one thread; at FFN width 1536 this epilogue is a large share of the encoder's time.
fn bias_gelu_parallel(x: &Tensor, b: &Tensor) -> Result<Tensor> {
    use rayon::prelude::*;
    let (n, f) = x.dims2()?; // [N, ff]
    let bias = b.to_vec1::<f32>()?;
    let mut v = x.flatten_all()?.to_vec1::<f32>()?;
    let rows_per_chunk = (8192 / f.max(1)).max(1);
    v.par_chunks_mut(rows_per_chunk * f).for_each(|chunk| {
        for row in chunk.chunks_mut(f) {
            for (e, bj) in row.iter_mut().zip(&bias) {
                let z = *e + bj;
                // Same formula and erf as candle's `gelu_erf`.
                *e = (candle_core::cpu::erf::erf_f32(z * std::f32::consts::FRAC_1_SQRT_2) + 1.0) * 0.5 * z;
            }
        }
    });
    Ok(Tensor::from_vec(v, (n, f), x.device())?)
}

/// Mean of the hidden states over real (mask = 1) tokens, `[B, T, d]` -> `[B, d]`.
pub fn mean_pool(hidden: &Tensor, mask: &[u32]) -> Result<Tensor> {
    let (b, t, _d) = hidden.dims3()?;
    let m: Vec<f32> = mask.iter().map(|&v| if v != 0 { 1.0 } else { 0.0 }).collect();
    let m = Tensor::from_vec(m, (b, t, 1), hidden.device())?;
    let summed = hidden.broadcast_mul(&m)?.sum(1)?; // [B, d]
    let counts = m.sum(1)?.clamp(1e-9f32, f32::MAX)?; // [B, 1]
    Ok(summed.broadcast_div(&counts)?)
}

/// Rows scaled to unit L2 norm (zero rows stay zero), `[B, d]`.
pub fn l2_normalize(x: &Tensor) -> Result<Tensor> {
    let norms = x.sqr()?.sum_keepdim(D::Minus1)?.sqrt()?.clamp(1e-12f32, f32::MAX)?;
    Ok(x.broadcast_div(&norms)?)
}
