//! `x + b` with `b` broadcast over the leading rows, with a fast backward.
//!
//! candle's backward of a broadcast add sums the gradient over the broadcast rows through its
//! generic strided reduction (a division and a modulo per element); this op sums columns of
//! the contiguous gradient in parallel instead.
use candle_core::{CpuStorage, Layout, Shape, Tensor};
use rayon::prelude::*;

use super::cpu::{rows_per_task, slice, with_slice};

/// `x + b`: `x` `[..., M]` viewed as rows of the last `b.elem_count()` elements (so `b` may be
/// `[d]` for a bias or `[T, d]` for positions over `[B, T, d]`).
pub fn add_bias(x: &Tensor, b: &Tensor) -> candle_core::Result<Tensor> {
    if x.device().is_cpu() {
        x.contiguous()?.apply_op2(&b.contiguous()?, AddBias)
    } else {
        x.broadcast_add(b)
    }
}

struct AddBias;

/// Column sums of a row-major `[rows, m]` slice.
fn column_sums(g: &[f32], m: usize) -> Vec<f32> {
    let rows = g.len() / m.max(1);
    let chunk = rows_per_task(rows, m, 32_768) * m;
    let partial: Vec<Vec<f32>> = g
        .par_chunks(chunk)
        .map(|c| {
            let mut acc = vec![0f32; m];
            for r in c.chunks_exact(m) {
                for (a, &v) in acc.iter_mut().zip(r) {
                    *a += v;
                }
            }
            acc
        })
        .collect();
    let mut out = vec![0f32; m];
    for p in partial {
        for (a, v) in out.iter_mut().zip(p) {
            *a += v;
        }
    }
    out
}

impl candle_core::CustomOp2 for AddBias {
    fn name(&self) -> &'static str {
        "eager-add-bias"
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
        let m = b.len();
        if m == 0 || x.len() % m != 0 {
            return Err(candle_core::Error::Msg(format!("add-bias: x {:?} vs b {:?}", l1.dims(), l2.dims())));
        }
        let rows = x.len() / m;
        let chunk = rows_per_task(rows, m, 32_768) * m;
        let mut y = vec![0f32; x.len()];
        y.par_chunks_mut(chunk).zip(x.par_chunks(chunk)).for_each(|(yc, xc)| {
            for (yr, xr) in yc.chunks_exact_mut(m).zip(xc.chunks_exact(m)) {
                for i in 0..m {
                    yr[i] = xr[i] + b[i];
                }
            }
        });
        Ok((CpuStorage::F32(y), l1.shape().clone()))
    }

    fn bwd(
        &self,
        _x: &Tensor,
        b: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let m = b.elem_count();
        let db = with_slice(grad, self.name(), |g| Ok(column_sums(g, m)))?;
        Ok((Some(grad.clone()), Some(Tensor::from_vec(db, b.shape(), b.device())?)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    #[test]
    fn matches_broadcast_add() -> candle_core::Result<()> {
        let dev = Device::Cpu;
        let x = Var::from_tensor(&Tensor::randn(0f32, 1.0, (3, 4, 5), &dev)?)?;
        let b = Var::from_tensor(&Tensor::randn(0f32, 1.0, (4, 5), &dev)?)?;
        let w = Tensor::randn(0f32, 1.0, (3, 4, 5), &dev)?;
        let fused = add_bias(x.as_tensor(), b.as_tensor())?;
        let plain = x.as_tensor().broadcast_add(b.as_tensor())?;
        assert!((&fused - &plain)?.abs()?.max_all()?.to_scalar::<f32>()? < 1e-6);
        let g1 = (fused * &w)?.sum_all()?.backward()?;
        let g2 = (plain * &w)?.sum_all()?.backward()?;
        for v in [&x, &b] {
            let a = g1.get(v.as_tensor()).ok_or(candle_core::Error::Msg("no grad".into()))?;
            let c = g2.get(v.as_tensor()).ok_or(candle_core::Error::Msg("no grad".into()))?;
            assert!((a - c)?.abs()?.max_all()?.to_scalar::<f32>()? < 1e-5);
        }
        Ok(())
    }
}
