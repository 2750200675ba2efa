//! Global contrastive task (GCT): a stream's summary state, through a projection, is pulled
//! towards the target item's pretrained embedding (`E^b` for behaviour, `E^s` for semantic).
//!
//! Forms ([`GctForm`]): the released code's InfoNCE (`q = W·normalize(h) + b`, cosine
//! similarity with the positive and `J` shared sampled negatives, temperature τ), or the
//! paper's positive-only distances (smooth-L1 or `1 - cos` between `W·h + b` and the target).
//! Parameters: `<stream>.gct.proj.weight` `[e, d]`, `<stream>.gct.proj.bias` `[e]`.
use candle_core::{Device, Tensor, D};

use super::config::{GctConfig, GctForm};
use super::layers::Dense;
use crate::error::{EagerError, Result};
use crate::nn::{join, ParamStore};
use crate::rng::SeededRng;

/// A fixed (not trained) pretrained item-embedding table, row `r` = item id `r + 1`.
#[derive(Debug, Clone)]
pub struct Pretrained {
    /// `[num_items, e]` as given.
    pub raw: Tensor,
    /// Rows L2-normalised (for the cosine forms).
    pub unit: Tensor,
}

impl Pretrained {
    /// Wraps a row-major `[num_items, dim]` matrix; rows must be finite.
    pub fn new(data: &[f32], num_items: usize, dim: usize, what: &str, device: &Device) -> Result<Self> {
        if dim == 0 || data.len() != num_items * dim {
            return Err(EagerError::invalid(format!(
                "{what}: {} values is not [numItems = {num_items}, dim = {dim}]",
                data.len()
            )));
        }
        if let Some(p) = data.iter().position(|v| !v.is_finite()) {
            return Err(EagerError::invalid(format!(
                "{what}: non-finite value in row {} (item {})",
                p / dim,
                p / dim + 1
            )));
        }
        let mut unit = data.to_vec();
        for row in unit.chunks_mut(dim) {
            let n = row.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
            row.iter_mut().for_each(|v| *v /= n);
        }
        Ok(Pretrained {
            raw: Tensor::from_slice(data, (num_items, dim), device)?,
            unit: Tensor::from_vec(unit, (num_items, dim), device)?,
        })
    }

    /// Embedding dimension.
    pub fn dim(&self) -> usize {
        self.raw.dims()[1]
    }

    /// Number of rows.
    pub fn num_items(&self) -> usize {
        self.raw.dims()[0]
    }
}

/// `x / max(‖x‖, 1e-12)` over the last dimension (differentiable).
pub fn l2_normalize(x: &Tensor) -> Result<Tensor> {
    let n = x.sqr()?.sum_keepdim(D::Minus1)?.sqrt()?.clamp(1e-12, f64::MAX)?;
    Ok(x.broadcast_div(&n)?)
}

/// The GCT head of one stream.
#[derive(Debug, Clone)]
pub struct GctHead {
    proj: Dense,
}

impl GctHead {
    pub fn new(
        store: &mut ParamStore,
        prefix: &str,
        hidden: usize,
        emb_dim: usize,
        std: f32,
        rng: &mut SeededRng,
    ) -> Result<Self> {
        Ok(GctHead { proj: Dense::new(store, &join(prefix, "gct.proj"), hidden, emb_dim, true, std, rng)? })
    }

    /// Loss of summary states `h` `[B, d]` against the targets' rows (`target_rows` = item
    /// id - 1, u32 `[B]`); `negatives` = shared negative rows (InfoNCE only).
    pub fn loss(
        &self,
        h: &Tensor,
        target_rows: &Tensor,
        table: &Pretrained,
        negatives: &Tensor,
        cfg: &GctConfig,
    ) -> Result<Tensor> {
        match cfg.form {
            GctForm::InfoNce => {
                let q = l2_normalize(&self.proj.forward(&l2_normalize(h)?)?)?; // [B, e]
                let pos = table.unit.index_select(target_rows, 0)?; // [B, e]
                let neg = table.unit.index_select(negatives, 0)?; // [J, e]
                let lp = (&q * &pos)?.sum_keepdim(1)?; // [B, 1]
                let ln = q.matmul(&neg.t()?)?; // [B, J]
                let logits = (Tensor::cat(&[&lp, &ln], 1)? / cfg.temperature as f64)?;
                let zeros = Tensor::zeros(h.dim(0)?, candle_core::DType::U32, h.device())?;
                crate::nn::loss::cross_entropy(&logits, &zeros)
            }
            GctForm::SmoothL1 => {
                let q = self.proj.forward(h)?;
                let e = table.raw.index_select(target_rows, 0)?;
                smooth_l1(&q, &e, cfg.smooth_l1_beta as f64)
            }
            GctForm::Cosine => {
                let q = l2_normalize(&self.proj.forward(h)?)?;
                let e = table.unit.index_select(target_rows, 0)?;
                let cos = (&q * &e)?.sum(1)?; // [B]
                Ok(cos.mean_all()?.affine(-1.0, 1.0)?)
            }
        }
    }
}

/// Mean smooth-L1 (Huber / β) loss: `0.5 x²/β` for `|x| < β`, `|x| - 0.5β` otherwise.
pub fn smooth_l1(a: &Tensor, b: &Tensor, beta: f64) -> Result<Tensor> {
    let x = (a - b)?.abs()?;
    let m = x.minimum(beta)?; // min(|x|, β)
                              // m (|x| - m/2) / β covers both branches.
    Ok(((&m * (&x - (&m * 0.5)?)?)? / beta)?.mean_all()?)
}

/// `count` distinct rows of `0..n` drawn uniformly (all of them, shuffled, when `count >= n`).
pub fn sample_rows(n: usize, count: usize, rng: &mut SeededRng) -> Vec<u32> {
    let count = count.min(n);
    if count * 4 >= n {
        let mut all: Vec<u32> = (0..n as u32).collect();
        // partial Fisher-Yates: the first `count` entries are a uniform sample
        for i in 0..count {
            let j = i + rng.below(n - i);
            all.swap(i, j);
        }
        all.truncate(count);
        all
    } else {
        let mut seen = std::collections::HashSet::with_capacity(count * 2);
        let mut out = Vec::with_capacity(count);
        while out.len() < count {
            let r = rng.below(n) as u32;
            if seen.insert(r) {
                out.push(r);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smooth_l1_matches_torch() -> Result<()> {
        // torch: F.smooth_l1_loss(torch.tensor([0.2, -3.0, 1.5]), torch.tensor([0.0, 0.0, 1.0]), beta=1.0)
        //   = mean(0.5*0.04, 3-0.5, 0.5*0.25) = (0.02 + 2.5 + 0.125)/3 = 0.881667
        let a = Tensor::new(&[0.2f32, -3.0, 1.5], &Device::Cpu)?;
        let b = Tensor::new(&[0.0f32, 0.0, 1.0], &Device::Cpu)?;
        let l = smooth_l1(&a, &b, 1.0)?.to_scalar::<f32>()?;
        assert!((l - 0.881_666_7).abs() < 1e-6, "{l}");
        let s = sample_rows(10, 4, &mut SeededRng::new(1));
        assert_eq!(s.len(), 4);
        let mut u = s.clone();
        u.sort();
        u.dedup();
        assert_eq!(u.len(), 4);
        assert_eq!(sample_rows(3, 10, &mut SeededRng::new(1)).len(), 3);
        Ok(())
    }
}
