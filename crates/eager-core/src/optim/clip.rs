//! Global-norm gradient clipping.
use candle_core::backprop::GradStore;

use crate::error::{EagerError, Result};
use crate::nn::init::ParamStore;

/// L2 norm over the gradients of every variable of `store` present in `grads`.
pub fn grad_norm(store: &ParamStore, grads: &GradStore) -> Result<f64> {
    let mut sq = 0.0f64;
    for var in store.vars() {
        if let Some(g) = grads.get(var.as_tensor()) {
            sq += g.sqr()?.sum_all()?.to_scalar::<f32>()? as f64;
        }
    }
    Ok(sq.sqrt())
}

/// Scales all gradients so that their global L2 norm is at most `max_norm` (PyTorch's
/// `clip_grad_norm_`); returns the norm before clipping. A non-finite norm is an error.
pub fn clip_grad_norm(store: &ParamStore, grads: &mut GradStore, max_norm: f64) -> Result<f64> {
    let norm = grad_norm(store, grads)?;
    if !norm.is_finite() {
        return Err(EagerError::Numeric(format!("gradient norm is {norm}")));
    }
    let scale = max_norm / (norm + 1e-6);
    if scale < 1.0 {
        for var in store.vars() {
            if let Some(g) = grads.get(var.as_tensor()) {
                let scaled = (g * scale)?;
                grads.insert(var.as_tensor(), scaled);
            }
        }
    }
    Ok(norm)
}
