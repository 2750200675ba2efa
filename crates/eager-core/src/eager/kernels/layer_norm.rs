//! Fused layer normalisation over the last dimension with its backward pass.
//!
//! `y = (x - mean) / sqrt(var + eps) * gamma + beta` (biased variance, like PyTorch). The
//! composed-ops version costs about ten single-threaded passes forward and twenty backward; this
//! is one parallel pass each way. On non-CPU devices the composed version runs instead.
use candle_core::{CpuStorage, Layout, Shape, Tensor, D};
use rayon::prelude::*;

use super::cpu::{rows_per_task, slice, with_slice};

/// Layer norm of `x` `[..., d]` with `gamma`, `beta` `[d]`.
pub fn layer_norm(x: &Tensor, gamma: &Tensor, beta: &Tensor, eps: f64) -> candle_core::Result<Tensor> {
    if x.device().is_cpu() {
        x.contiguous()?.apply_op3(&gamma.contiguous()?, &beta.contiguous()?, LayerNormOp { eps: eps as f32 })
    } else {
        layer_norm_composed(x, gamma, beta, eps)
    }
}

/// The same maths from elementary candle ops (any device; also the reference in tests).
pub fn layer_norm_composed(x: &Tensor, gamma: &Tensor, beta: &Tensor, eps: f64) -> candle_core::Result<Tensor> {
    let mean = x.mean_keepdim(D::Minus1)?;
    let xc = x.broadcast_sub(&mean)?;
    let var = xc.sqr()?.mean_keepdim(D::Minus1)?;
    let xn = xc.broadcast_div(&(var + eps)?.sqrt()?)?;
    xn.broadcast_mul(gamma)?.broadcast_add(beta)
}

struct LayerNormOp {
    eps: f32,
}

/// Mean and 1/std of one row.
#[inline(always)]
fn row_stats(r: &[f32], eps: f32) -> (f32, f32) {
    let n = r.len() as f32;
    let mean = r.iter().sum::<f32>() / n;
    let var = r.iter().map(|&v| (v - mean) * (v - mean)).sum::<f32>() / n;
    (mean, 1.0 / (var + eps).sqrt())
}

impl candle_core::CustomOp3 for LayerNormOp {
    fn name(&self) -> &'static str {
        "eager-layer-norm"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let x = slice(s1, l1, self.name())?;
        let g = slice(s2, l2, self.name())?;
        let b = slice(s3, l3, self.name())?;
        let d = g.len();
        if d == 0 || b.len() != d || l1.dims().last() != Some(&d) {
            return Err(candle_core::Error::Msg(format!("layer-norm: x {:?} vs gamma [{d}]", l1.dims())));
        }
        let rows = x.len() / d;
        let mut y = vec![0f32; x.len()];
        let chunk = rows_per_task(rows, d, 8_192) * d;
        let eps = self.eps;
        y.par_chunks_mut(chunk).zip(x.par_chunks(chunk)).for_each(|(yc, xc)| {
            for (yr, xr) in yc.chunks_exact_mut(d).zip(xc.chunks_exact(d)) {
                let (mean, rstd) = row_stats(xr, eps);
                for i in 0..d {
                    yr[i] = (xr[i] - mean) * rstd * g[i] + b[i];
                }
            }
        });
        Ok((CpuStorage::F32(y), l1.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        gamma: &Tensor,
        beta: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let d = gamma.elem_count();
        let eps = self.eps;
        let (dx, dg, db) = with_slice(x, self.name(), |xs| {
            with_slice(gamma, self.name(), |gs| {
                with_slice(grad, self.name(), |gr| {
                    let rows = xs.len() / d;
                    let mut dx = vec![0f32; xs.len()];
                    let chunk = rows_per_task(rows, d, 8_192) * d;
                    let partial: Vec<(Vec<f32>, Vec<f32>)> = dx
                        .par_chunks_mut(chunk)
                        .zip(xs.par_chunks(chunk).zip(gr.par_chunks(chunk)))
                        .map(|(dc, (xc, gc))| {
                            let mut dg = vec![0f32; d];
                            let mut db = vec![0f32; d];
                            let mut xhat = vec![0f32; d];
                            for ((dr, xr), grow) in
                                dc.chunks_exact_mut(d).zip(xc.chunks_exact(d)).zip(gc.chunks_exact(d))
                            {
                                let (mean, rstd) = row_stats(xr, eps);
                                let mut s1 = 0f32; // sum dxhat
                                let mut s2 = 0f32; // sum dxhat * xhat
                                for i in 0..d {
                                    let xh = (xr[i] - mean) * rstd;
                                    xhat[i] = xh;
                                    let dxh = grow[i] * gs[i];
                                    s1 += dxh;
                                    s2 += dxh * xh;
                                    dg[i] += grow[i] * xh;
                                    db[i] += grow[i];
                                }
                                let n = d as f32;
                                let (m1, m2) = (s1 / n, s2 / n);
                                for i in 0..d {
                                    dr[i] = rstd * (grow[i] * gs[i] - m1 - xhat[i] * m2);
                                }
                            }
                            (dg, db)
                        })
                        .collect();
                    let mut dg = vec![0f32; d];
                    let mut db = vec![0f32; d];
                    for (pg, pb) in partial {
                        for i in 0..d {
                            dg[i] += pg[i];
                            db[i] += pb[i];
                        }
                    }
                    Ok((dx, dg, db))
                })
            })
        })?;
        Ok((
            Some(Tensor::from_vec(dx, x.shape(), x.device())?),
            Some(Tensor::from_vec(dg, gamma.shape(), gamma.device())?),
            Some(Tensor::from_vec(db, beta.shape(), beta.device())?),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    #[test]
    fn matches_composed_forward_and_backward() -> candle_core::Result<()> {
        let dev = Device::Cpu;
        let x = Var::from_tensor(&(Tensor::randn(0.5f32, 2.0, (3, 11, 24), &dev)?))?;
        let g = Var::from_tensor(&(Tensor::randn(1f32, 0.3, 24, &dev)?))?;
        let b = Var::from_tensor(&(Tensor::randn(0f32, 0.3, 24, &dev)?))?;
        let w = Tensor::randn(0f32, 1.0, (3, 11, 24), &dev)?;
        let fused = layer_norm(x.as_tensor(), g.as_tensor(), b.as_tensor(), 1e-5)?;
        let plain = layer_norm_composed(x.as_tensor(), g.as_tensor(), b.as_tensor(), 1e-5)?;
        let diff = (&fused - &plain)?.abs()?.max_all()?.to_scalar::<f32>()?;
        assert!(diff < 1e-5, "forward diff {diff}");
        let g1 = (fused * &w)?.sum_all()?.backward()?;
        let g2 = (plain * &w)?.sum_all()?.backward()?;
        for v in [&x, &g, &b] {
            let a = g1.get(v.as_tensor()).ok_or(candle_core::Error::Msg("no grad".into()))?;
            let c = g2.get(v.as_tensor()).ok_or(candle_core::Error::Msg("no grad".into()))?;
            let d = (a - c)?.abs()?.max_all()?.to_scalar::<f32>()?;
            let s = c.abs()?.max_all()?.to_scalar::<f32>()?;
            assert!(d < 1e-4 * s.max(1.0), "grad diff {d} (scale {s})");
        }
        Ok(())
    }
}
