//! Fused position-wise feed-forward block `gelu(x W1ᵀ + b1) W2ᵀ` (the caller adds `b2`).
//!
//! The `[N, ffn]` intermediate is the largest tensor of a training step (the encoder's is
//! `B·T × ffn`). Through candle's autograd it would be materialised four more times in the
//! backward pass (zero-initialised gradient buffers plus accumulation); as one custom op the
//! intermediate lives only inside the op (kept for its backward) and the backward is four
//! matmuls and one fused elementwise pass. On non-CPU devices the composed version runs.
use std::sync::Mutex;

use candle_core::{CpuStorage, Device, Layout, Shape, Tensor};
use rayon::prelude::*;

use super::cpu::{bias_gelu_rows, rows_per_task, slice, with_slice};
use super::gelu::{gelu, gelu_grad};
use crate::linalg::{sgemm, Parallel};

/// `gelu(x W1ᵀ + b1) W2ᵀ`: `x` `[..., d]`, `w1` `[F, d]`, `b1` `[F]`, `w2` `[d, F]` → `[..., d]`.
pub fn feed_forward(x: &Tensor, w1: &Tensor, b1: &Tensor, w2: &Tensor) -> candle_core::Result<Tensor> {
    let dims = x.dims().to_vec();
    let d = dims[dims.len() - 1];
    let n = x.elem_count() / d.max(1);
    let x2 = x.reshape((n, d))?;
    let y = if x.device().is_cpu() {
        // b1 travels as the last column of W1 so that the op has three inputs.
        let w1b = Tensor::cat(&[w1, &b1.unsqueeze(1)?], 1)?; // [F, d + 1]
        x2.contiguous()?.apply_op3(&w1b, &w2.contiguous()?, FeedForwardOp { cache: Mutex::new(None) })?
    } else {
        x2.matmul(&w1.t()?)?.broadcast_add(b1)?.gelu_erf()?.matmul(&w2.t()?)?
    };
    y.reshape(dims)
}

/// Rows per block of [`feed_forward_eval`]: the `[rows, ffn]` intermediate of one block stays
/// in cache (256 × 1024 floats = 1 MiB) and is reused by the task that made it.
const EVAL_BLOCK: usize = 256;

/// Inference-only `gelu(x W1ᵀ + b1) W2ᵀ` (no backward, nothing kept for one): on CPU the rows
/// run in blocks of [`EVAL_BLOCK`] through a per-task intermediate, so the `[N, ffn]` tensor is
/// never allocated (at beam-search sizes that allocation, page faults included, cost as much as
/// the arithmetic). Elsewhere the composed ops. Same maths as [`feed_forward`].
pub fn feed_forward_eval(x: &Tensor, w1: &Tensor, b1: &Tensor, w2: &Tensor) -> candle_core::Result<Tensor> {
    if !x.device().is_cpu() {
        return feed_forward(&x.detach(), &w1.detach(), &b1.detach(), &w2.detach());
    }
    let dims = x.dims().to_vec();
    let d = dims[dims.len() - 1];
    let n = x.elem_count() / d.max(1);
    let f = w1.dim(0)?;
    if w1.dims2()? != (f, d) || b1.dims1()? != f || w2.dims2()? != (d, f) {
        return Err(msg(format!(
            "feed-forward: x {dims:?}, w1 {:?}, b1 {:?}, w2 {:?}",
            w1.dims(),
            b1.dims(),
            w2.dims()
        )));
    }
    let mut y = vec![0f32; n * d];
    if n > 0 && d > 0 && f > 0 {
        let name = "eager-feed-forward-eval";
        with_slice(x, name, |xs| {
            with_slice(w1, name, |w1s| {
                with_slice(b1, name, |b1s| {
                    with_slice(w2, name, |w2s| {
                        y.par_chunks_mut(EVAL_BLOCK * d).zip(xs.par_chunks(EVAL_BLOCK * d)).try_for_each_init(
                            || vec![0f32; EVAL_BLOCK.min(n) * f],
                            |z, (yb, xb)| {
                                let rows = xb.len() / d;
                                let z = &mut z[..rows * f];
                                // z = xb · W1ᵀ (W1 [f, d] read transposed), then y = gelu(z + b1) · W2ᵀ.
                                sgemm((rows, f, d), z, (f, 1), false, xb, (d, 1), w1s, (1, d), Parallel::No)?;
                                bias_gelu_rows(z, b1s);
                                sgemm((rows, d, f), yb, (d, 1), false, z, (f, 1), w2s, (1, f), Parallel::No)
                            },
                        )
                    })
                })
            })
        })?;
    }
    Tensor::from_vec(y, dims, x.device())
}

struct FeedForwardOp {
    /// Pre-activation `x W1ᵀ + b1` and activation `gelu(.)`, `[N, F]` each, for the backward.
    cache: Mutex<Option<(Tensor, Tensor)>>,
}

fn msg(m: impl Into<String>) -> candle_core::Error {
    candle_core::Error::Msg(m.into())
}

impl candle_core::CustomOp3 for FeedForwardOp {
    fn name(&self) -> &'static str {
        "eager-feed-forward"
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
        let (n, d) = l1.shape().dims2()?;
        let (f, d1) = l2.shape().dims2()?;
        if d1 != d + 1 || l3.shape().dims2()? != (d, f) {
            return Err(msg(format!("feed-forward: x {:?}, w1|b1 {:?}, w2 {:?}", l1.dims(), l2.dims(), l3.dims())));
        }
        let dev = Device::Cpu;
        let x = Tensor::from_slice(slice(s1, l1, self.name())?, (n, d), &dev)?;
        let w1b = Tensor::from_slice(slice(s2, l2, self.name())?, (f, d + 1), &dev)?;
        let w2 = Tensor::from_slice(slice(s3, l3, self.name())?, (d, f), &dev)?;
        let w1 = w1b.narrow(1, 0, d)?;
        let b1: Vec<f32> = w1b.narrow(1, d, 1)?.flatten_all()?.to_vec1()?;
        let z = x.matmul(&w1.t()?)?; // [N, F]
        let mut zb = vec![0f32; n * f];
        let mut h = vec![0f32; n * f];
        let chunk = rows_per_task(n, f, 16_384) * f;
        with_slice(&z, self.name(), |zs| {
            zb.par_chunks_mut(chunk).zip(h.par_chunks_mut(chunk)).zip(zs.par_chunks(chunk)).for_each(
                |((zc, hc), sc)| {
                    for ((zr, hr), sr) in zc.chunks_exact_mut(f).zip(hc.chunks_exact_mut(f)).zip(sc.chunks_exact(f)) {
                        for i in 0..f {
                            zr[i] = sr[i] + b1[i];
                            hr[i] = gelu(zr[i]);
                        }
                    }
                },
            );
            Ok(())
        })?;
        drop(z);
        let zb = Tensor::from_vec(zb, (n, f), &dev)?;
        let h = Tensor::from_vec(h, (n, f), &dev)?;
        let y = h.matmul(&w2.t()?)?; // [N, d]
        let y: Vec<f32> = y.flatten_all()?.to_vec1()?;
        *self.cache.lock().map_err(|_| msg("feed-forward: poisoned cache"))? = Some((zb, h));
        Ok((CpuStorage::F32(y), Shape::from((n, d))))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w1b: &Tensor,
        w2: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let (zb, h) = self
            .cache
            .lock()
            .map_err(|_| msg("feed-forward: poisoned cache"))?
            .take()
            .ok_or_else(|| msg("feed-forward: backward ran twice or without forward"))?;
        let (x, w1b, w2, g) = (x.detach(), w1b.detach(), w2.detach(), grad.detach().contiguous()?);
        let (n, f) = zb.dims2()?;
        let d = x.dim(1)?;
        let dh = g.matmul(&w2)?; // [N, F]
        let dw2 = g.t()?.matmul(&h)?; // [d, F]
        drop(h);
        // dz = dh ⊙ gelu'(zb), db1 = Σ_rows dz
        let mut dz = vec![0f32; n * f];
        let chunk = rows_per_task(n, f, 16_384) * f;
        let partial: Vec<Vec<f32>> = with_slice(&dh, self.name(), |dhs| {
            with_slice(&zb, self.name(), |zs| {
                Ok(dz
                    .par_chunks_mut(chunk)
                    .zip(dhs.par_chunks(chunk).zip(zs.par_chunks(chunk)))
                    .map(|(dc, (gc, zc))| {
                        let mut db = vec![0f32; f];
                        for ((dr, gr), zr) in dc.chunks_exact_mut(f).zip(gc.chunks_exact(f)).zip(zc.chunks_exact(f)) {
                            for i in 0..f {
                                let v = gr[i] * gelu_grad(zr[i]);
                                dr[i] = v;
                                db[i] += v;
                            }
                        }
                        db
                    })
                    .collect())
            })
        })?;
        drop(dh);
        drop(zb);
        let mut db1 = vec![0f32; f];
        for p in partial {
            for (a, b) in db1.iter_mut().zip(p) {
                *a += b;
            }
        }
        let dz = Tensor::from_vec(dz, (n, f), x.device())?;
        let w1 = w1b.narrow(1, 0, d)?;
        let dx = dz.matmul(&w1)?; // [N, d]
        let dw1 = dz.t()?.matmul(&x)?; // [F, d]
        let db1 = Tensor::from_vec(db1, (f, 1), x.device())?;
        let dw1b = Tensor::cat(&[&dw1, &db1], 1)?;
        Ok((Some(dx), Some(dw1b), Some(dw2)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Var;

    #[test]
    fn matches_composed_forward_and_backward() -> candle_core::Result<()> {
        let dev = Device::Cpu;
        let x = Var::from_tensor(&Tensor::randn(0f32, 1.0, (2, 7, 12), &dev)?)?;
        let w1 = Var::from_tensor(&Tensor::randn(0f32, 0.5, (20, 12), &dev)?)?;
        let b1 = Var::from_tensor(&Tensor::randn(0f32, 0.5, 20, &dev)?)?;
        let w2 = Var::from_tensor(&Tensor::randn(0f32, 0.5, (12, 20), &dev)?)?;
        let w = Tensor::randn(0f32, 1.0, (2, 7, 12), &dev)?;
        let fused = feed_forward(x.as_tensor(), w1.as_tensor(), b1.as_tensor(), w2.as_tensor())?;
        let plain = x
            .as_tensor()
            .reshape((14, 12))?
            .matmul(&w1.as_tensor().t()?)?
            .broadcast_add(b1.as_tensor())?
            .gelu_erf()?
            .matmul(&w2.as_tensor().t()?)?
            .reshape((2, 7, 12))?;
        let diff = (&fused - &plain)?.abs()?.max_all()?.to_scalar::<f32>()?;
        assert!(diff < 1e-5, "forward diff {diff}");
        let eval = feed_forward_eval(x.as_tensor(), w1.as_tensor(), b1.as_tensor(), w2.as_tensor())?;
        let diff = (&eval - &plain)?.abs()?.max_all()?.to_scalar::<f32>()?;
        assert!(diff < 1e-5, "eval forward diff {diff}");
        // Several blocks, the last one partial (150 rows = 2·64 + 22).
        let xl = Tensor::randn(0f32, 1.0, (3, 50, 12), &dev)?;
        let eval_l = feed_forward_eval(&xl, w1.as_tensor(), b1.as_tensor(), w2.as_tensor())?;
        let plain_l = xl
            .reshape((150, 12))?
            .matmul(&w1.as_tensor().t()?)?
            .broadcast_add(b1.as_tensor())?
            .gelu_erf()?
            .matmul(&w2.as_tensor().t()?)?
            .reshape((3, 50, 12))?;
        let diff = (&eval_l - &plain_l)?.abs()?.max_all()?.to_scalar::<f32>()?;
        assert!(diff < 1e-5, "eval forward diff (blocks) {diff}");
        let g1 = (fused * &w)?.sum_all()?.backward()?;
        let g2 = (plain * &w)?.sum_all()?.backward()?;
        for v in [&x, &w1, &b1, &w2] {
            let a = g1.get(v.as_tensor()).ok_or(msg("no grad"))?;
            let c = g2.get(v.as_tensor()).ok_or(msg("no grad"))?;
            let d = (a - c)?.abs()?.max_all()?.to_scalar::<f32>()?;
            let s = c.abs()?.max_all()?.to_scalar::<f32>()?;
            assert!(d < 1e-4 * s.max(1.0), "grad diff {d} (scale {s})");
        }
        Ok(())
    }
}
