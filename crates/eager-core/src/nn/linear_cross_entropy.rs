//! Mean cross-entropy of a linear classifier, `CE(h · Wᵀ, targets)`, without the logits.
//!
//! SASRec's full-softmax loss scores every position against every item: `[P, C]` logits with
//! P up to `batch · maxLen` (12,800) and C the catalogue (12,101 on Beauty) is 620 MB per copy,
//! and candle's autograd keeps the logits, their softmax and their gradient alive at once (the
//! reason one SASRec epoch peaked at 2.7 GB). This op walks the rows in chunks: per chunk the
//! logits, the loss and `dlogits = (softmax - onehot) / P` live in one `[rows, C]` buffer, and
//! the gradients `dh = dlogits · W` and `dW += dlogitsᵀ · h` are accumulated right away. Only
//! those two gradients (`[P, d]`, `[C, d]`) are kept for the backward pass, which scales them
//! by the incoming gradient. On non-CPU devices the composed chunked loss runs instead.
use std::sync::{Arc, Mutex};

use candle_core::{CpuStorage, CustomOp2, Layout, Shape, Tensor};
use rayon::prelude::*;

use super::loss::{cross_entropy, kernels};
use crate::error::{EagerError, Result};
use crate::linalg::{sgemm, Parallel};

/// Logit rows per chunk: `rows · C` floats are the only large buffer.
const CHUNK_ROWS: usize = 256;

/// Mean over rows of `CE(h Wᵀ, targets)`: `h` `[P, d]`, `weight` `[C, d]`, `targets` `[P]`
/// (class indices `< C`). Returns a scalar with gradients to `h` and `weight`.
pub fn linear_cross_entropy(h: &Tensor, weight: &Tensor, targets: &[u32]) -> Result<Tensor> {
    let (p, d) = h.dims2()?;
    let (c, dw) = weight.dims2()?;
    if dw != d || targets.len() != p || p == 0 {
        return Err(EagerError::invalid(format!(
            "linear_cross_entropy: h [{p}, {d}], weight [{c}, {dw}], {} targets",
            targets.len()
        )));
    }
    if let Some(bad) = targets.iter().find(|&&t| t as usize >= c) {
        return Err(EagerError::invalid(format!("linear_cross_entropy: target {bad} out of range for {c} classes")));
    }
    if !h.device().is_cpu() {
        return composed(h, weight, targets);
    }
    let op = LinearCrossEntropy { targets: Arc::new(targets.to_vec()), grads: Mutex::new(None) };
    Ok(h.contiguous()?.apply_op2(&weight.contiguous()?, op)?)
}

/// The same loss from candle ops, in row chunks (any device; keeps every chunk's logits).
fn composed(h: &Tensor, weight: &Tensor, targets: &[u32]) -> Result<Tensor> {
    let p = targets.len();
    let wt = weight.t()?;
    let mut total: Option<Tensor> = None;
    for start in (0..p).step_by(CHUNK_ROWS) {
        let rows = CHUNK_ROWS.min(p - start);
        let logits = h.narrow(0, start, rows)?.matmul(&wt)?; // [rows, C]
        let t = Tensor::from_slice(&targets[start..start + rows], rows, h.device())?;
        let part = (cross_entropy(&logits, &t)? * (rows as f64 / p as f64))?;
        total = Some(match total {
            Some(acc) => (acc + part)?,
            None => part,
        });
    }
    total.ok_or_else(|| EagerError::invalid("linear_cross_entropy: no rows"))
}

struct LinearCrossEntropy {
    targets: Arc<Vec<u32>>,
    /// `(dh [P, d], dW [C, d])` of the mean loss, computed by the forward pass.
    grads: Mutex<Option<(Vec<f32>, Vec<f32>)>>,
}

fn data<'a>(s: &'a CpuStorage, l: &Layout, what: &str) -> candle_core::Result<&'a [f32]> {
    let CpuStorage::F32(v) = s else { candle_core::bail!("linear-cross-entropy: {what} must be f32") };
    let Some((a, b)) = l.contiguous_offsets() else {
        candle_core::bail!("linear-cross-entropy: {what} must be contiguous")
    };
    Ok(&v[a..b])
}

impl CustomOp2 for LinearCrossEntropy {
    fn name(&self) -> &'static str {
        "linear-cross-entropy"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (p, d) = l1.shape().dims2()?;
        let (c, _) = l2.shape().dims2()?;
        let h = data(s1, l1, "h")?;
        let w = data(s2, l2, "weight")?;
        let inv = 1.0 / p as f32;
        let mut dh = vec![0f32; p * d];
        let mut dw = vec![0f32; c * d];
        let mut buf = vec![0f32; CHUNK_ROWS.min(p) * c];
        let mut loss = 0f64;
        for start in (0..p).step_by(CHUNK_ROWS) {
            let rows = CHUNK_ROWS.min(p - start);
            let hc = &h[start * d..(start + rows) * d]; // [rows, d]
            let z = &mut buf[..rows * c]; // [rows, C]
            sgemm((rows, c, d), z, (c, 1), false, hc, (d, 1), w, (1, d), Parallel::Auto)?; // h · Wᵀ
            let tg = &self.targets[start..start + rows];
            // z ← (softmax(z) - onehot) / P, row by row; the loss from the same max and sum.
            loss += z
                .par_chunks_mut(c)
                .zip(tg.par_iter())
                .map(|(row, &t)| {
                    let picked = row[t as usize];
                    let (max, sum) = kernels::softmax_in_place(row, inv);
                    row[t as usize] -= inv;
                    (max + sum.ln() - picked) as f64
                })
                .sum::<f64>();
            sgemm(
                (rows, d, c),
                &mut dh[start * d..(start + rows) * d],
                (d, 1),
                false,
                z,
                (c, 1),
                w,
                (d, 1),
                Parallel::Auto,
            )?; // dz · W
            sgemm((c, d, rows), &mut dw, (d, 1), true, z, (1, c), hc, (d, 1), Parallel::Auto)?;
            // += dzᵀ · h
        }
        *self.grads.lock().map_err(|_| candle_core::Error::Msg("linear-cross-entropy: poisoned".into()))? =
            Some((dh, dw));
        Ok((CpuStorage::F32(vec![(loss / p as f64) as f32]), Shape::from(())))
    }

    fn bwd(
        &self,
        h: &Tensor,
        w: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let (dh, dw) = self
            .grads
            .lock()
            .map_err(|_| candle_core::Error::Msg("linear-cross-entropy: poisoned".into()))?
            .take()
            .ok_or_else(|| {
                candle_core::Error::Msg("linear-cross-entropy: backward ran twice or without forward".into())
            })?;
        let g =
            grad.to_dtype(candle_core::DType::F32)?.flatten_all()?.to_vec1::<f32>()?.first().copied().unwrap_or(1.0);
        let dh = (Tensor::from_vec(dh, h.shape(), h.device())? * g as f64)?;
        let dw = (Tensor::from_vec(dw, w.shape(), w.device())? * g as f64)?;
        Ok((Some(dh), Some(dw)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    /// Value and both gradients equal the composed `matmul` + `cross_entropy` (more rows than
    /// one chunk, so the accumulation over chunks is exercised), and a later op's gradient
    /// scale reaches both inputs.
    #[test]
    fn matches_composed_loss_and_gradients() -> Result<()> {
        let dev = Device::Cpu;
        let (p, d, c) = (CHUNK_ROWS * 2 + 37, 8, 50);
        let h = Var::from_tensor(&Tensor::randn(0f32, 1.0, (p, d), &dev)?)?;
        let w = Var::from_tensor(&Tensor::randn(0f32, 1.0, (c, d), &dev)?)?;
        let targets: Vec<u32> = (0..p as u32).map(|i| (i * 7 + 3) % c as u32).collect();
        let fused = (linear_cross_entropy(h.as_tensor(), w.as_tensor(), &targets)? * 3.0)?;
        let t = Tensor::from_slice(&targets, p, &dev)?;
        let plain =
            (super::super::loss::cross_entropy_rows_composed(&h.as_tensor().matmul(&w.as_tensor().t()?)?, &t)?
                .mean_all()?
                * 3.0)?;
        let (a, b) = (fused.to_scalar::<f32>()?, plain.to_scalar::<f32>()?);
        assert!((a - b).abs() < 1e-4 * b.abs().max(1.0), "loss {a} vs {b}");
        let (g1, g2) = (fused.backward()?, plain.backward()?);
        for v in [&h, &w] {
            let x = g1.get(v.as_tensor()).ok_or(EagerError::invalid("no grad"))?;
            let y = g2.get(v.as_tensor()).ok_or(EagerError::invalid("no grad"))?;
            let diff = (x - y)?.abs()?.max_all()?.to_scalar::<f32>()?;
            let scale = y.abs()?.max_all()?.to_scalar::<f32>()?;
            assert!(diff < 1e-4 * scale.max(1e-3), "grad diff {diff} (scale {scale})");
        }
        assert!(linear_cross_entropy(h.as_tensor(), w.as_tensor(), &targets[1..]).is_err());
        let mut bad = targets.clone();
        bad[0] = c as u32;
        assert!(linear_cross_entropy(h.as_tensor(), w.as_tensor(), &bad).is_err());
        Ok(())
    }
}
