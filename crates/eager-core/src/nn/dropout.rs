//! Inverted dropout with masks from the seeded generator.
use candle_core::Tensor;

use crate::error::{EagerError, Result};
use crate::rng::SeededRng;

/// Zeroes each element with probability `p` in training mode and scales the rest by `1/(1-p)`;
/// identity in evaluation mode. The mask comes from [`SeededRng`], so runs are reproducible.
#[derive(Debug, Clone, Copy)]
pub struct Dropout {
    p: f32,
}

impl Dropout {
    /// `p` in `[0, 1)`.
    pub fn new(p: f32) -> Result<Self> {
        if !(0.0..1.0).contains(&p) {
            return Err(EagerError::invalid(format!("dropout must be in [0, 1), got {p}")));
        }
        Ok(Dropout { p })
    }

    /// The drop probability.
    pub fn p(&self) -> f32 {
        self.p
    }

    /// Applies dropout when `train` is true (draws `x.elem_count()` numbers from `rng`).
    pub fn forward(&self, x: &Tensor, train: bool, rng: &mut SeededRng) -> Result<Tensor> {
        if !train || self.p == 0.0 {
            return Ok(x.clone());
        }
        let keep = 1.0 - self.p;
        let scale = 1.0 / keep;
        let mask: Vec<f32> = (0..x.elem_count()).map(|_| if rng.next_f32() < keep { scale } else { 0.0 }).collect();
        let mask = Tensor::from_vec(mask, x.shape(), x.device())?;
        Ok(x.mul(&mask)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn deterministic_from_seed_and_identity_in_eval() -> Result<()> {
        let x = Tensor::ones((4, 256), candle_core::DType::F32, &Device::Cpu)?;
        let d = Dropout::new(0.5)?;
        let a: Vec<f32> = d.forward(&x, true, &mut SeededRng::new(9))?.flatten_all()?.to_vec1()?;
        let b: Vec<f32> = d.forward(&x, true, &mut SeededRng::new(9))?.flatten_all()?.to_vec1()?;
        let c: Vec<f32> = d.forward(&x, true, &mut SeededRng::new(10))?.flatten_all()?.to_vec1()?;
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(a.iter().all(|&v| v == 0.0 || v == 2.0));
        let kept = a.iter().filter(|&&v| v > 0.0).count();
        assert!((400..624).contains(&kept), "kept {kept} of 1024");
        let e: Vec<f32> = d.forward(&x, false, &mut SeededRng::new(9))?.flatten_all()?.to_vec1()?;
        assert!(e.iter().all(|&v| v == 1.0));
        assert!(Dropout::new(1.0).is_err());
        Ok(())
    }
}
