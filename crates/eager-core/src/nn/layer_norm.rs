//! Layer normalisation over the last dimension, written out of differentiable ops.
//!
//! candle's `ops::layer_norm` and the fused path of `candle_nn::LayerNorm` have no backward pass
//! (gradients silently stop), so this one is composed of elementary ops that all have one.
use candle_core::{Tensor, Var, D};

use crate::error::Result;
use crate::nn::init::{join, ParamStore};

/// `y = (x - mean) / sqrt(var + eps) * gamma + beta`. Parameters `<prefix>.weight` (gamma, ones)
/// and `<prefix>.bias` (beta, zeros), both `[dim]`.
#[derive(Debug, Clone)]
pub struct LayerNorm {
    gamma: Var, // [dim]
    beta: Var,  // [dim]
    eps: f64,
}

impl LayerNorm {
    /// BERT uses eps 1e-12, PyTorch's default is 1e-5.
    pub fn new(store: &mut ParamStore, prefix: &str, dim: usize, eps: f64) -> Result<Self> {
        let gamma = store.ones(&join(prefix, "weight"), dim)?;
        let beta = store.zeros(&join(prefix, "bias"), dim)?;
        Ok(LayerNorm { gamma, beta, eps })
    }

    /// `x`: `[..., dim]` → same shape.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        layer_norm(x, self.gamma.as_tensor(), self.beta.as_tensor(), self.eps)
    }
}

/// Differentiable layer norm over the last dimension with explicit gamma/beta `[dim]`.
pub fn layer_norm(x: &Tensor, gamma: &Tensor, beta: &Tensor, eps: f64) -> Result<Tensor> {
    let mean = x.mean_keepdim(D::Minus1)?; // [..., 1]
    let xc = x.broadcast_sub(&mean)?;
    let var = xc.sqr()?.mean_keepdim(D::Minus1)?; // [..., 1], biased like PyTorch
    let inv = (var + eps)?.sqrt()?.recip()?;
    let xn = xc.broadcast_mul(&inv)?;
    Ok(xn.broadcast_mul(gamma)?.broadcast_add(beta)?)
}
