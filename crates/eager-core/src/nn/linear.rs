//! Fully connected layer `y = x Wᵀ + b`.
use candle_core::{Tensor, Var};

use crate::error::Result;
use crate::nn::init::{join, ParamStore};
use crate::rng::SeededRng;

/// Affine map over the last dimension. Parameters: `<prefix>.weight` `[out, in]`, `<prefix>.bias` `[out]`.
#[derive(Debug, Clone)]
pub struct Linear {
    weight: Var,       // [out, in]
    bias: Option<Var>, // [out]
    in_dim: usize,
    out_dim: usize,
}

impl Linear {
    /// Weight ~ N(0, std²) (BERT uses std 0.02), bias zero when `bias` is true.
    pub fn new(
        store: &mut ParamStore,
        prefix: &str,
        in_dim: usize,
        out_dim: usize,
        bias: bool,
        std: f32,
        rng: &mut SeededRng,
    ) -> Result<Self> {
        let weight = store.normal(&join(prefix, "weight"), (out_dim, in_dim), std, rng)?;
        let bias = if bias { Some(store.zeros(&join(prefix, "bias"), out_dim)?) } else { None };
        Ok(Linear { weight, bias, in_dim, out_dim })
    }

    /// Input width.
    pub fn in_dim(&self) -> usize {
        self.in_dim
    }

    /// Output width.
    pub fn out_dim(&self) -> usize {
        self.out_dim
    }

    /// The weight `[out, in]`.
    pub fn weight(&self) -> &Tensor {
        self.weight.as_tensor()
    }

    /// The bias `[out]`, if any.
    pub fn bias(&self) -> Option<&Tensor> {
        self.bias.as_ref().map(|b| b.as_tensor())
    }

    /// `x`: `[..., in]` → `[..., out]`. Leading dimensions are flattened into one big matmul.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        linear_forward(x, self.weight.as_tensor(), self.bias.as_ref().map(|b| b.as_tensor()))
    }
}

/// `x Wᵀ + b` for explicit tensors (used by fused projections that concatenate several weights).
pub fn linear_forward(x: &Tensor, weight: &Tensor, bias: Option<&Tensor>) -> Result<Tensor> {
    let dims = x.dims().to_vec();
    let in_dim = *dims.last().unwrap_or(&0);
    let out_dim = weight.dim(0)?;
    let rows = x.elem_count() / in_dim.max(1);
    let x2 = x.reshape((rows, in_dim))?; // [N, in]
                                         // The transposed weight is a strided view gemm reads directly (no copy).
    let mut y = x2.matmul(&weight.t()?)?; // [N, out]
    if let Some(b) = bias {
        y = y.broadcast_add(b)?;
    }
    let mut out_dims = dims;
    if let Some(last) = out_dims.last_mut() {
        *last = out_dim;
    }
    Ok(y.reshape(out_dims)?)
}
