//! Fused `gelu(x + bias)` (exact erf form) with its backward pass.
//!
//! candle's `gelu_erf` runs single-threaded with a slow erf, and its backward is ten separate
//! tensor ops; on the encoder's `[B·T, ffn]` activations that alone cost more than all the
//! matmuls of a step. This kernel is one parallel pass forward and one backward.
use candle_core::{CpuStorage, Layout, Shape, Tensor};
use rayon::prelude::*;

use super::cpu::{erf_given_exp, fast_erf, fast_exp, rows_per_task, slice, with_slice};

const INV_SQRT2: f32 = std::f32::consts::FRAC_1_SQRT_2;
/// 1 / sqrt(2 pi)
const INV_SQRT_2PI: f32 = 0.398_942_3;

#[inline(always)]
pub(crate) fn gelu(z: f32) -> f32 {
    0.5 * z * (1.0 + fast_erf(z * INV_SQRT2))
}

/// d gelu / dz = Phi(z) + z phi(z).
#[inline(always)]
pub(crate) fn gelu_grad(z: f32) -> f32 {
    // exp(-z²/2) serves both erf(z/√2) and the normal density.
    let e = fast_exp(-0.5 * z * z);
    0.5 * (1.0 + erf_given_exp(z * INV_SQRT2, e)) + z * INV_SQRT_2PI * e
}

/// `gelu(x + bias)`: `x` `[..., F]`, `bias` `[F]`. On CPU this is the fused kernel; on other
/// devices it falls back to candle ops (same maths).
pub fn bias_gelu(x: &Tensor, bias: &Tensor) -> candle_core::Result<Tensor> {
    if x.device().is_cpu() {
        x.contiguous()?.apply_op2(&bias.contiguous()?, BiasGelu)
    } else {
        x.broadcast_add(bias)?.gelu_erf()
    }
}

struct BiasGelu;

impl candle_core::CustomOp2 for BiasGelu {
    fn name(&self) -> &'static str {
        "eager-bias-gelu"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let x = slice(s1, l1, self.name())?;
        let b = slice(s2, l2, self.name())?;
        let f = b.len();
        if f == 0 || x.len() % f != 0 || l1.dims().last() != Some(&f) {
            return Err(candle_core::Error::Msg(format!("bias-gelu: x {:?} vs bias [{f}]", l1.dims())));
        }
        let rows = x.len() / f;
        let mut y = vec![0f32; x.len()];
        let chunk = rows_per_task(rows, f, 16_384) * f;
        y.par_chunks_mut(chunk).zip(x.par_chunks(chunk)).for_each(|(yc, xc)| {
            for (yr, xr) in yc.chunks_exact_mut(f).zip(xc.chunks_exact(f)) {
                for ((o, &xi), &bi) in yr.iter_mut().zip(xr).zip(b) {
                    *o = gelu(xi + bi);
                }
            }
        });
        Ok((CpuStorage::F32(y), l1.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        bias: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let f = bias.elem_count();
        let (dx, db) = with_slice(x, self.name(), |xs| {
            with_slice(bias, self.name(), |bs| {
                with_slice(grad, self.name(), |gs| {
                    let rows = xs.len() / f;
                    let mut dx = vec![0f32; xs.len()];
                    let chunk_rows = rows_per_task(rows, f, 16_384);
                    let chunk = chunk_rows * f;
                    // Per-task partial bias gradients, summed afterwards (deterministic order).
                    let partial: Vec<Vec<f32>> = dx
                        .par_chunks_mut(chunk)
                        .zip(xs.par_chunks(chunk).zip(gs.par_chunks(chunk)))
                        .map(|(dc, (xc, gc))| {
                            let mut db = vec![0f32; f];
                            for ((dr, xr), gr) in dc.chunks_exact_mut(f).zip(xc.chunks_exact(f)).zip(gc.chunks_exact(f))
                            {
                                for i in 0..f {
                                    let v = gr[i] * gelu_grad(xr[i] + bs[i]);
                                    dr[i] = v;
                                    db[i] += v;
                                }
                            }
                            db
                        })
                        .collect();
                    let mut db = vec![0f32; f];
                    for p in partial {
                        for (a, b) in db.iter_mut().zip(p) {
                            *a += b;
                        }
                    }
                    Ok((dx, db))
                })
            })
        })?;
        let dx = Tensor::from_vec(dx, x.shape(), x.device())?;
        let db = Tensor::from_vec(db, bias.shape(), bias.device())?;
        Ok((Some(dx), Some(db)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    #[test]
    fn matches_candle_forward_and_backward() -> candle_core::Result<()> {
        let dev = Device::Cpu;
        let x = Var::from_tensor(&(Tensor::randn(0f32, 2.0, (37, 70), &dev)?))?;
        let b = Var::from_tensor(&(Tensor::randn(0f32, 1.0, 70, &dev)?))?;
        let w = Tensor::randn(0f32, 1.0, (37, 70), &dev)?;
        let fused = bias_gelu(x.as_tensor(), b.as_tensor())?;
        let plain = x.as_tensor().broadcast_add(b.as_tensor())?.gelu_erf()?;
        let diff = (&fused - &plain)?.abs()?.max_all()?.to_scalar::<f32>()?;
        assert!(diff < 1e-5, "forward diff {diff}");
        let g1 = (fused * &w)?.sum_all()?.backward()?;
        let g2 = (plain * &w)?.sum_all()?.backward()?;
        for v in [&x, &b] {
            let a = g1.get(v.as_tensor()).ok_or(candle_core::Error::Msg("no grad".into()))?;
            let c = g2.get(v.as_tensor()).ok_or(candle_core::Error::Msg("no grad".into()))?;
            let d = (a - c)?.abs()?.max_all()?.to_scalar::<f32>()?;
            let s = c.abs()?.max_all()?.to_scalar::<f32>()?;
            assert!(d < 1e-4 * s.max(1.0), "grad diff {d} (scale {s})");
        }
        Ok(())
    }
}
