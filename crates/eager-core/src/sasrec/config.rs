//! SASRec hyper-parameters.
use serde::{Deserialize, Serialize};

use crate::error::{EagerError, Result};
use crate::nn::Activation;

/// Model and optimiser settings. Defaults: hidden 64, 2 layers, 2 heads, FFN 256, GELU, post-LN,
/// dropout 0.5 (RecBole's SASRec with full-softmax cross-entropy), max length 50, Adam lr 1e-3.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct SasRecConfig {
    /// Embedding and hidden width.
    pub hidden: usize,
    /// Causal self-attention layers.
    pub layers: usize,
    /// Attention heads (`hidden % heads == 0`).
    pub heads: usize,
    /// Feed-forward hidden width.
    pub ffn_dim: usize,
    /// Dropout on embeddings and sub-block outputs.
    pub dropout: f32,
    /// Dropout on attention probabilities.
    pub attn_dropout: f32,
    /// Longest history the model reads (older items are cut).
    pub max_len: usize,
    /// `"gelu"` or `"relu"`.
    pub activation: String,
    /// Pre-LN (`true`, original SASRec) or post-LN (`false`, BERT/RecBole).
    pub norm_first: bool,
    /// LayerNorm epsilon.
    pub layer_norm_eps: f64,
    /// Std of the normal weight init.
    pub init_std: f32,
    /// Adam learning rate.
    pub lr: f64,
    /// Decoupled (AdamW) weight decay; 0 = plain Adam.
    pub weight_decay: f64,
}

impl Default for SasRecConfig {
    fn default() -> Self {
        SasRecConfig {
            hidden: 64,
            layers: 2,
            heads: 2,
            ffn_dim: 256,
            dropout: 0.5,
            attn_dropout: 0.5,
            max_len: 50,
            activation: "gelu".into(),
            norm_first: false,
            layer_norm_eps: 1e-12,
            init_std: 0.02,
            lr: 1e-3,
            weight_decay: 0.0,
        }
    }
}

impl SasRecConfig {
    /// Checks every field; errors name the field.
    pub fn validate(&self) -> Result<()> {
        let pos = |v: usize, f: &str| {
            if v == 0 {
                Err(EagerError::invalid(format!("sasrec config: `{f}` must be > 0")))
            } else {
                Ok(())
            }
        };
        pos(self.hidden, "hidden")?;
        pos(self.layers, "layers")?;
        pos(self.heads, "heads")?;
        pos(self.ffn_dim, "ffnDim")?;
        pos(self.max_len, "maxLen")?;
        if !self.hidden.is_multiple_of(self.heads) {
            return Err(EagerError::invalid(format!(
                "sasrec config: `hidden` ({}) must be divisible by `heads` ({})",
                self.hidden, self.heads
            )));
        }
        for (v, f) in [(self.dropout, "dropout"), (self.attn_dropout, "attnDropout")] {
            if !(0.0..1.0).contains(&v) {
                return Err(EagerError::invalid(format!("sasrec config: `{f}` must be in [0, 1), got {v}")));
            }
        }
        self.activation_fn()?;
        if !(self.lr > 0.0 && self.lr.is_finite()) {
            return Err(EagerError::invalid(format!("sasrec config: `lr` must be > 0, got {}", self.lr)));
        }
        if self.weight_decay.is_nan() || self.weight_decay < 0.0 {
            return Err(EagerError::invalid("sasrec config: `weightDecay` must be >= 0"));
        }
        if self.layer_norm_eps.is_nan() || self.layer_norm_eps <= 0.0 || self.init_std.is_nan() || self.init_std <= 0.0
        {
            return Err(EagerError::invalid("sasrec config: `layerNormEps` and `initStd` must be > 0"));
        }
        Ok(())
    }

    /// True when the layers run on the fused kernels (post-LN with GELU, the default); pre-LN or
    /// ReLU use the composed layer.
    pub fn uses_fused_layers(&self) -> Result<bool> {
        Ok(!self.norm_first && self.activation_fn()? == Activation::Gelu)
    }

    /// The parsed activation.
    pub fn activation_fn(&self) -> Result<Activation> {
        Activation::parse(&self.activation).map_err(|_| {
            EagerError::invalid(format!("sasrec config: `activation` must be gelu or relu, got `{}`", self.activation))
        })
    }
}
