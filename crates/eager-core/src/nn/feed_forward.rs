//! Position-wise feed-forward block `Linear → activation → dropout → Linear`.
use candle_core::Tensor;

use crate::error::{EagerError, Result};
use crate::nn::dropout::Dropout;
use crate::nn::init::{join, ParamStore};
use crate::nn::linear::Linear;
use crate::rng::SeededRng;

/// Non-linearity of the feed-forward block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// Exact GELU `x·Φ(x)` (erf form, as BERT and PyTorch's default `nn.GELU()`).
    Gelu,
    /// `max(0, x)`.
    Relu,
}

impl Activation {
    /// Parses `"gelu"` / `"relu"`.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "gelu" => Ok(Activation::Gelu),
            "relu" => Ok(Activation::Relu),
            other => Err(EagerError::invalid(format!("activation must be `gelu` or `relu`, got `{other}`"))),
        }
    }

    /// Applies the activation (both variants have a backward pass in candle).
    pub fn apply(&self, x: &Tensor) -> Result<Tensor> {
        Ok(match self {
            Activation::Gelu => x.gelu_erf()?,
            Activation::Relu => x.relu()?,
        })
    }
}

/// Parameters `<prefix>.fc1.{weight,bias}` `[ffn, dim]` and `<prefix>.fc2.{weight,bias}` `[dim, ffn]`.
#[derive(Debug, Clone)]
pub struct FeedForward {
    fc1: Linear,
    fc2: Linear,
    activation: Activation,
    dropout: Dropout,
}

impl FeedForward {
    /// `dropout` applies after the activation (the block's output dropout is the caller's).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        store: &mut ParamStore,
        prefix: &str,
        dim: usize,
        ffn_dim: usize,
        activation: Activation,
        dropout: f32,
        std: f32,
        rng: &mut SeededRng,
    ) -> Result<Self> {
        let fc1 = Linear::new(store, &join(prefix, "fc1"), dim, ffn_dim, true, std, rng)?;
        let fc2 = Linear::new(store, &join(prefix, "fc2"), ffn_dim, dim, true, std, rng)?;
        Ok(FeedForward { fc1, fc2, activation, dropout: Dropout::new(dropout)? })
    }

    /// `x`: `[..., dim]` → `[..., dim]`.
    pub fn forward(&self, x: &Tensor, train: bool, rng: &mut SeededRng) -> Result<Tensor> {
        let h = self.activation.apply(&self.fc1.forward(x)?)?; // [..., ffn]
        let h = self.dropout.forward(&h, train, rng)?;
        self.fc2.forward(&h)
    }
}
