//! Inverted dropout whose mask is a hash of `(seed, element index)`.
//!
//! The mask is never stored: the backward pass recomputes it from the seed. Seeds come from
//! the caller's [`crate::rng::SeededRng`], so runs are reproducible.
use candle_core::{CpuStorage, Layout, Shape, Tensor};
use rayon::prelude::*;

use super::cpu::{keep, slice};

/// Zeroes each element with probability `p` and scales the rest by `1/(1-p)`.
/// `p == 0` returns `x` unchanged.
pub fn dropout(x: &Tensor, p: f32, seed: u64) -> candle_core::Result<Tensor> {
    if p <= 0.0 {
        return Ok(x.clone());
    }
    let op = DropoutOp { p, seed };
    if x.device().is_cpu() {
        x.contiguous()?.apply_op1(op)
    } else {
        let n = x.elem_count();
        let scale = 1.0 / (1.0 - p);
        let mask: Vec<f32> = (0..n as u64).map(|i| if keep(seed, i, p) { scale } else { 0.0 }).collect();
        let mask = Tensor::from_vec(mask, x.shape(), x.device())?;
        x.mul(&mask)
    }
}

#[derive(Clone, Copy)]
struct DropoutOp {
    p: f32,
    seed: u64,
}

impl candle_core::CustomOp1 for DropoutOp {
    fn name(&self) -> &'static str {
        "eager-dropout"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let x = slice(s, l, self.name())?;
        let scale = 1.0 / (1.0 - self.p);
        let mut y = vec![0f32; x.len()];
        const CHUNK: usize = 16_384;
        y.par_chunks_mut(CHUNK).zip(x.par_chunks(CHUNK)).enumerate().for_each(|(c, (yc, xc))| {
            let base = (c * CHUNK) as u64;
            for (i, (o, &v)) in yc.iter_mut().zip(xc).enumerate() {
                *o = if keep(self.seed, base + i as u64, self.p) { v * scale } else { 0.0 };
            }
        });
        Ok((CpuStorage::F32(y), l.shape().clone()))
    }

    fn bwd(&self, _arg: &Tensor, _res: &Tensor, grad: &Tensor) -> candle_core::Result<Option<Tensor>> {
        // Same seed, same indices: the same mask multiplies the incoming gradient.
        Ok(Some(grad.contiguous()?.apply_op1_no_bwd(self)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    #[test]
    fn mask_is_reproducible_and_backward_uses_it() -> candle_core::Result<()> {
        let x = Var::from_tensor(&Tensor::ones((50, 40), candle_core::DType::F32, &Device::Cpu)?)?;
        let a: Vec<f32> = dropout(x.as_tensor(), 0.25, 3)?.flatten_all()?.to_vec1()?;
        let b: Vec<f32> = dropout(x.as_tensor(), 0.25, 3)?.flatten_all()?.to_vec1()?;
        let c: Vec<f32> = dropout(x.as_tensor(), 0.25, 4)?.flatten_all()?.to_vec1()?;
        assert_eq!(a, b);
        assert_ne!(a, c);
        let kept = a.iter().filter(|&&v| v > 0.0).count();
        assert!((1350..1650).contains(&kept), "kept {kept}");
        let g = dropout(x.as_tensor(), 0.25, 3)?.sum_all()?.backward()?;
        let gx: Vec<f32> =
            g.get(x.as_tensor()).ok_or(candle_core::Error::Msg("no grad".into()))?.flatten_all()?.to_vec1()?;
        assert_eq!(gx, a, "d(sum)/dx equals the scaled mask");
        Ok(())
    }
}
