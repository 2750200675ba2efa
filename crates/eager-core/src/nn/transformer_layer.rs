//! One transformer layer: self-attention, optional cross-attention, feed-forward.
use candle_core::Tensor;

use crate::error::{EagerError, Result};
use crate::nn::attention::MultiHeadAttention;
use crate::nn::dropout::Dropout;
use crate::nn::feed_forward::{Activation, FeedForward};
use crate::nn::init::{join, ParamStore};
use crate::nn::layer_norm::LayerNorm;
use crate::nn::masks;
use crate::rng::SeededRng;

/// Shape and regularisation of a [`TransformerLayer`].
#[derive(Debug, Clone)]
pub struct TransformerLayerConfig {
    /// Model width `d`.
    pub dim: usize,
    /// Attention heads (`dim % heads == 0`).
    pub heads: usize,
    /// Hidden width of the feed-forward block.
    pub ffn_dim: usize,
    /// Dropout on each sub-block's output (before the residual add) and inside the feed-forward block.
    pub dropout: f32,
    /// Dropout on attention probabilities.
    pub attn_dropout: f32,
    /// Feed-forward non-linearity.
    pub activation: Activation,
    /// Add a cross-attention sub-block (decoder layer).
    pub cross_attention: bool,
    /// Self-attention is causal (query `i` sees keys `0..=i`); the causal mask is added internally.
    pub causal: bool,
    /// `false`: post-LN, `x = LN(x + f(x))` (BERT, the EAGER default). `true`: pre-LN,
    /// `x = x + f(LN(x))` (SASRec-style; the stack then needs a final LayerNorm).
    pub norm_first: bool,
    /// LayerNorm epsilon.
    pub layer_norm_eps: f64,
    /// Std of the normal weight init.
    pub init_std: f32,
}

impl TransformerLayerConfig {
    /// BERT-style defaults for width `dim` and `heads` heads: FFN 4·dim, GELU, dropout 0.1, post-LN.
    pub fn bert(dim: usize, heads: usize) -> Self {
        TransformerLayerConfig {
            dim,
            heads,
            ffn_dim: 4 * dim,
            dropout: 0.1,
            attn_dropout: 0.1,
            activation: Activation::Gelu,
            cross_attention: false,
            causal: false,
            norm_first: false,
            layer_norm_eps: 1e-12,
            init_std: 0.02,
        }
    }

    /// Checks dimensions and probabilities.
    pub fn validate(&self) -> Result<()> {
        if self.dim == 0 || self.ffn_dim == 0 {
            return Err(EagerError::invalid("transformer layer: dim and ffn_dim must be > 0"));
        }
        if self.heads == 0 || !self.dim.is_multiple_of(self.heads) {
            return Err(EagerError::invalid(format!(
                "transformer layer: dim {} must be divisible by heads {}",
                self.dim, self.heads
            )));
        }
        Dropout::new(self.dropout)?;
        Dropout::new(self.attn_dropout)?;
        Ok(())
    }
}

/// Parameters under `<prefix>`: `self_attn.*`, `self_attn_norm.*`, (`cross_attn.*`,
/// `cross_attn_norm.*`), `ffn.*`, `ffn_norm.*`.
#[derive(Debug, Clone)]
pub struct TransformerLayer {
    self_attn: MultiHeadAttention,
    self_norm: LayerNorm,
    cross: Option<(MultiHeadAttention, LayerNorm)>,
    ffn: FeedForward,
    ffn_norm: LayerNorm,
    dropout: Dropout,
    causal: bool,
    norm_first: bool,
}

/// One attention block of a layer (self or cross), sized by the layer's config.
fn attention(
    store: &mut ParamStore,
    prefix: &str,
    cfg: &TransformerLayerConfig,
    rng: &mut SeededRng,
) -> Result<MultiHeadAttention> {
    MultiHeadAttention::new(store, prefix, cfg.dim, cfg.heads, cfg.attn_dropout, cfg.init_std, rng)
}

impl TransformerLayer {
    /// Registers the layer's parameters under `prefix` and draws their initial values from `rng`.
    pub fn new(
        store: &mut ParamStore,
        prefix: &str,
        cfg: &TransformerLayerConfig,
        rng: &mut SeededRng,
    ) -> Result<Self> {
        cfg.validate()?;
        let self_attn = attention(store, &join(prefix, "self_attn"), cfg, rng)?;
        let self_norm = LayerNorm::new(store, &join(prefix, "self_attn_norm"), cfg.dim, cfg.layer_norm_eps)?;
        let cross = if cfg.cross_attention {
            let a = attention(store, &join(prefix, "cross_attn"), cfg, rng)?;
            let n = LayerNorm::new(store, &join(prefix, "cross_attn_norm"), cfg.dim, cfg.layer_norm_eps)?;
            Some((a, n))
        } else {
            None
        };
        let ffn = FeedForward::new(
            store,
            &join(prefix, "ffn"),
            cfg.dim,
            cfg.ffn_dim,
            cfg.activation,
            cfg.dropout,
            cfg.init_std,
            rng,
        )?;
        let ffn_norm = LayerNorm::new(store, &join(prefix, "ffn_norm"), cfg.dim, cfg.layer_norm_eps)?;
        Ok(TransformerLayer {
            self_attn,
            self_norm,
            cross,
            ffn,
            ffn_norm,
            dropout: Dropout::new(cfg.dropout)?,
            causal: cfg.causal,
            norm_first: cfg.norm_first,
        })
    }

    /// `x`: `[B, T, d]`. `self_mask`: additive mask broadcastable to `[B, h, T, T]` (typically key
    /// padding `[B, 1, 1, T]`; the causal part is added here when the config says so).
    /// `cross`: `(memory [B, S, d], mask broadcastable to [B, h, T, S])`, required iff the layer was
    /// built with cross-attention. Dropout is active when `train` (masks drawn from `rng`).
    pub fn forward(
        &self,
        x: &Tensor,
        self_mask: Option<&Tensor>,
        cross: Option<(&Tensor, Option<&Tensor>)>,
        train: bool,
        rng: &mut SeededRng,
    ) -> Result<Tensor> {
        let t = x.dim(1)?;
        let causal_combined;
        let self_mask = if self.causal {
            let c = masks::causal_mask(t, x.device())?;
            causal_combined = match self_mask {
                Some(m) => masks::combine(&c, m)?,
                None => c,
            };
            Some(&causal_combined)
        } else {
            self_mask
        };

        let mut h = self.sublayer(x, &self.self_norm, train, rng, |inp, rng| {
            self.self_attn.forward(inp, None, self_mask, train, rng)
        })?;
        match (&self.cross, cross) {
            (Some((attn, norm)), Some((memory, mask))) => {
                h =
                    self.sublayer(&h, norm, train, rng, |inp, rng| attn.forward(inp, Some(memory), mask, train, rng))?;
            }
            (None, None) => {}
            (Some(_), None) => {
                return Err(EagerError::invalid("transformer layer: cross-attention layer needs a memory"))
            }
            (None, Some(_)) => return Err(EagerError::invalid("transformer layer: built without cross-attention")),
        }
        self.sublayer(&h, &self.ffn_norm, train, rng, |inp, rng| self.ffn.forward(inp, train, rng))
    }

    /// Residual + LayerNorm around `f`, in post-LN or pre-LN order.
    fn sublayer(
        &self,
        x: &Tensor,
        norm: &LayerNorm,
        train: bool,
        rng: &mut SeededRng,
        f: impl FnOnce(&Tensor, &mut SeededRng) -> Result<Tensor>,
    ) -> Result<Tensor> {
        if self.norm_first {
            let y = f(&norm.forward(x)?, rng)?;
            let y = self.dropout.forward(&y, train, rng)?;
            Ok((x + y)?)
        } else {
            let y = f(x, rng)?;
            let y = self.dropout.forward(&y, train, rng)?;
            norm.forward(&(x + y)?)
        }
    }
}
