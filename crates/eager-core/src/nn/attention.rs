//! Multi-head scaled dot-product attention (self or cross).
use candle_core::{Tensor, D};

use crate::error::{EagerError, Result};
use crate::nn::dropout::Dropout;
use crate::nn::init::{join, ParamStore};
use crate::nn::linear::{linear_forward, Linear};
use crate::rng::SeededRng;

/// Multi-head attention with projections `<prefix>.{q,k,v,o}.{weight,bias}` (all `[dim, dim]` / `[dim]`).
///
/// Self-attention concatenates the q/k/v weights into one `[3·dim, dim]` matmul; cross-attention
/// fuses k/v. Softmax is `candle_nn::ops::softmax` (it has a backward pass; `softmax_last_dim`
/// does not). Dropout applies to the attention probabilities.
#[derive(Debug, Clone)]
pub struct MultiHeadAttention {
    q: Linear,
    k: Linear,
    v: Linear,
    o: Linear,
    heads: usize,
    head_dim: usize,
    attn_dropout: Dropout,
}

impl MultiHeadAttention {
    /// `dim` must be divisible by `heads`. Weights ~ N(0, std²), biases zero.
    pub fn new(
        store: &mut ParamStore,
        prefix: &str,
        dim: usize,
        heads: usize,
        attn_dropout: f32,
        std: f32,
        rng: &mut SeededRng,
    ) -> Result<Self> {
        if heads == 0 || !dim.is_multiple_of(heads) {
            return Err(EagerError::invalid(format!("attention `{prefix}`: dim {dim} not divisible by heads {heads}")));
        }
        let q = Linear::new(store, &join(prefix, "q"), dim, dim, true, std, rng)?;
        let k = Linear::new(store, &join(prefix, "k"), dim, dim, true, std, rng)?;
        let v = Linear::new(store, &join(prefix, "v"), dim, dim, true, std, rng)?;
        let o = Linear::new(store, &join(prefix, "o"), dim, dim, true, std, rng)?;
        Ok(MultiHeadAttention { q, k, v, o, heads, head_dim: dim / heads, attn_dropout: Dropout::new(attn_dropout)? })
    }

    /// Number of heads.
    pub fn heads(&self) -> usize {
        self.heads
    }

    /// `x`: queries `[B, T, d]`; `memory`: keys/values `[B, S, d]` (None = self-attention, S = T);
    /// `mask`: additive, broadcastable to `[B, heads, T, S]` (see [`crate::nn::masks`]).
    /// Returns `[B, T, d]`.
    pub fn forward(
        &self,
        x: &Tensor,
        memory: Option<&Tensor>,
        mask: Option<&Tensor>,
        train: bool,
        rng: &mut SeededRng,
    ) -> Result<Tensor> {
        let (b, t, d) = x.dims3()?;
        let (q, k, v, s) = match memory {
            None => {
                // One [B*T, d] x [d, 3d] matmul instead of three.
                let w = Tensor::cat(&[self.q.weight(), self.k.weight(), self.v.weight()], 0)?; // [3d, d]
                let bias = cat_bias(&[&self.q, &self.k, &self.v])?;
                let qkv = linear_forward(x, &w, bias.as_ref())?; // [B, T, 3d]
                (qkv.narrow(2, 0, d)?, qkv.narrow(2, d, d)?, qkv.narrow(2, 2 * d, d)?, t)
            }
            Some(mem) => {
                let (bm, s, dm) = mem.dims3()?;
                if bm != b || dm != d {
                    return Err(EagerError::invalid(format!(
                        "cross-attention: queries [{b}, {t}, {d}] vs memory [{bm}, {s}, {dm}]"
                    )));
                }
                let q = self.q.forward(x)?; // [B, T, d]
                let w = Tensor::cat(&[self.k.weight(), self.v.weight()], 0)?; // [2d, d]
                let bias = cat_bias(&[&self.k, &self.v])?;
                let kv = linear_forward(mem, &w, bias.as_ref())?; // [B, S, 2d]
                (q, kv.narrow(2, 0, d)?, kv.narrow(2, d, d)?, s)
            }
        };
        let scale = 1.0 / (self.head_dim as f64).sqrt();
        let q = self.split_heads(&(q * scale)?, b, t)?; // [B, h, T, dh]
        let k = self.split_heads(&k, b, s)?; // [B, h, S, dh]
        let v = self.split_heads(&v, b, s)?; // [B, h, S, dh]
        let mut scores = q.matmul(&k.t()?)?; // [B, h, T, S]
        if let Some(m) = mask {
            scores = scores.broadcast_add(m)?;
        }
        let probs = candle_nn::ops::softmax(&scores, D::Minus1)?;
        let probs = self.attn_dropout.forward(&probs, train, rng)?;
        let ctx = probs.matmul(&v)?; // [B, h, T, dh]
        let ctx = if self.heads == 1 {
            ctx.reshape((b, t, d))?
        } else {
            ctx.transpose(1, 2)?.contiguous()?.reshape((b, t, d))? // [B, T, d]
        };
        self.o.forward(&ctx)
    }

    /// `[B, L, d]` → `[B, h, L, dh]` (contiguous, ready for batched matmul).
    fn split_heads(&self, x: &Tensor, b: usize, l: usize) -> Result<Tensor> {
        let x = x.contiguous()?.reshape((b, l, self.heads, self.head_dim))?;
        if self.heads == 1 {
            Ok(x.reshape((b, 1, l, self.head_dim))?)
        } else {
            Ok(x.transpose(1, 2)?.contiguous()?)
        }
    }
}

fn cat_bias(layers: &[&Linear]) -> Result<Option<Tensor>> {
    let biases: Option<Vec<&Tensor>> = layers.iter().map(|l| l.bias()).collect();
    match biases {
        Some(bs) => Ok(Some(Tensor::cat(&bs, 0)?)),
        None => Ok(None),
    }
}
