//! Additive attention masks.
//!
//! A mask is an f32 tensor broadcastable to the attention scores `[B, heads, T, S]`: `0` where a
//! query may attend to a key, [`MASKED`] where it may not. Masks combine by addition. A large finite
//! value (not -inf) keeps rows whose keys are all masked (padding queries) finite: they become a
//! uniform average instead of NaN, and their outputs are ignored downstream anyway.
use candle_core::{Device, Tensor};

use crate::error::{EagerError, Result};

/// The additive value that removes a key from a query's softmax.
pub const MASKED: f32 = -1e9;

/// Causal mask `[1, 1, T, T]`: query `i` sees keys `0..=i`.
pub fn causal_mask(t: usize, device: &Device) -> Result<Tensor> {
    let data: Vec<f32> = (0..t * t).map(|k| if k % t > k / t { MASKED } else { 0.0 }).collect();
    Ok(Tensor::from_vec(data, (1, 1, t, t), device)?)
}

/// Key padding mask `[B, 1, 1, S]` from a row-major `[B, S]` validity slice (true = real token).
pub fn key_padding_mask(valid: &[bool], b: usize, s: usize, device: &Device) -> Result<Tensor> {
    if valid.len() != b * s {
        return Err(EagerError::invalid(format!("padding mask: {} flags for [{b}, {s}]", valid.len())));
    }
    let data: Vec<f32> = valid.iter().map(|&v| if v { 0.0 } else { MASKED }).collect();
    Ok(Tensor::from_vec(data, (b, 1, 1, s), device)?)
}

/// Key padding mask `[B, 1, 1, S]` from row-major `[B, S]` token ids: `pad_id` is masked.
pub fn key_padding_mask_from_ids(ids: &[u32], b: usize, s: usize, pad_id: u32, device: &Device) -> Result<Tensor> {
    let valid: Vec<bool> = ids.iter().map(|&i| i != pad_id).collect();
    key_padding_mask(&valid, b, s, device)
}

/// Sum of two masks (broadcast), e.g. causal + padding → `[B, 1, T, T]`.
pub fn combine(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    Ok(a.broadcast_add(b)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causal_and_padding() -> Result<()> {
        let c: Vec<f32> = causal_mask(3, &Device::Cpu)?.flatten_all()?.to_vec1()?;
        assert_eq!(c, vec![0.0, MASKED, MASKED, 0.0, 0.0, MASKED, 0.0, 0.0, 0.0]);
        let p = key_padding_mask_from_ids(&[0, 5, 6, 1, 2, 3], 2, 3, 0, &Device::Cpu)?;
        assert_eq!(p.dims(), &[2, 1, 1, 3]);
        let m = combine(&causal_mask(3, &Device::Cpu)?, &p)?;
        assert_eq!(m.dims(), &[2, 1, 3, 3]);
        Ok(())
    }
}
