//! Losses with a backward pass.
//!
//! [`cross_entropy`] over a large vocabulary (full-softmax recommendation over every item) is the
//! memory and time hot spot of training: on the CPU it runs as one fused op (row-wise
//! log-sum-exp forward, `softmax - onehot` backward, parallel over rows) instead of the five
//! `[N, C]` temporaries of the composed version; other devices use the composed ops.
use std::sync::Arc;

use candle_core::{CpuStorage, CustomOp1, CustomOp2, Layout, Shape, Tensor, D};
use rayon::prelude::*;

use crate::error::{EagerError, Result};

/// Mean softmax cross-entropy. `logits`: `[N, C]` f32, `targets`: u32 `[N]` with values `< C`.
pub fn cross_entropy(logits: &Tensor, targets: &Tensor) -> Result<Tensor> {
    let (n, c) = logits.dims2()?;
    if targets.dims() != [n] {
        return Err(EagerError::invalid(format!("cross_entropy: logits [{n}, {c}] vs targets {:?}", targets.dims())));
    }
    let per_row = if logits.device().is_cpu() {
        let t: Vec<u32> = targets.to_vec1()?;
        if let Some(bad) = t.iter().find(|&&x| x as usize >= c) {
            return Err(EagerError::invalid(format!("cross_entropy: target {bad} out of range for {c} classes")));
        }
        logits.contiguous()?.apply_op1(SoftmaxCrossEntropy { targets: Arc::new(t) })?
    // [N]
    } else {
        cross_entropy_rows_composed(logits, targets)?
    };
    Ok(per_row.sum_all()?.affine(1.0 / n.max(1) as f64, 0.0)?)
}

/// Mean label-smoothed softmax cross-entropy: `(1 - ε) · CE(logits, targets) + ε · CE(logits,
/// uniform)`, where `CE(logits, uniform)` is the mean of `-log p` over the classes (the target
/// distribution puts `1 - ε + ε/C` on the target and `ε/C` on every other class, as in
/// PyTorch's `cross_entropy(label_smoothing = ε)`). `ε = 0` is exactly [`cross_entropy`].
pub fn cross_entropy_smoothed(logits: &Tensor, targets: &Tensor, epsilon: f32) -> Result<Tensor> {
    if !(epsilon.is_finite() && (0.0..1.0).contains(&epsilon)) {
        return Err(EagerError::invalid(format!("cross_entropy_smoothed: ε must be in [0, 1), got {epsilon}")));
    }
    let ce = cross_entropy(logits, targets)?;
    if epsilon == 0.0 {
        return Ok(ce);
    }
    // CE against the uniform distribution: mean over rows and classes of -log p (the composed,
    // differentiable log-softmax that `cross_entropy_rows_composed` uses too).
    let uniform = candle_nn::ops::log_softmax(logits, D::Minus1)?.mean_all()?.neg()?; // scalar
    Ok(((ce * (1.0 - epsilon as f64))? + (uniform * epsilon as f64)?)?)
}

/// Per-row loss `[N]` from differentiable elementary ops (`log_softmax` + gather); any device.
pub fn cross_entropy_rows_composed(logits: &Tensor, targets: &Tensor) -> Result<Tensor> {
    let logp = candle_nn::ops::log_softmax(logits, D::Minus1)?; // [N, C]
    let picked = logp.gather(&targets.unsqueeze(1)?, 1)?; // [N, 1]
    Ok(picked.squeeze(1)?.neg()?)
}

/// Forward: per-row `logsumexp(x) - x[target]`. Backward: `(softmax(x) - onehot) · grad`.
struct SoftmaxCrossEntropy {
    targets: Arc<Vec<u32>>,
}

fn f32_rows<'a>(
    storage: &'a CpuStorage,
    layout: &Layout,
    what: &str,
) -> candle_core::Result<(&'a [f32], usize, usize)> {
    let CpuStorage::F32(data) = storage else { candle_core::bail!("{what}: logits must be f32") };
    let Some((start, end)) = layout.contiguous_offsets() else {
        candle_core::bail!("{what}: logits must be contiguous")
    };
    let (n, c) = layout.shape().dims2()?;
    Ok((&data[start..end], n, c))
}

impl CustomOp1 for SoftmaxCrossEntropy {
    fn name(&self) -> &'static str {
        "softmax-cross-entropy"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let (x, n, c) = f32_rows(storage, layout, self.name())?;
        let targets = &self.targets;
        let out: Vec<f32> = x
            .par_chunks(c.max(1))
            .zip(targets.par_iter())
            .map(|(row, &t)| {
                let (max, sum) = kernels::max_and_sum_exp(row);
                max + sum.ln() - row[t as usize]
            })
            .collect();
        Ok((CpuStorage::F32(out), Shape::from(n)))
    }

    fn bwd(&self, arg: &Tensor, _res: &Tensor, grad_res: &Tensor) -> candle_core::Result<Option<Tensor>> {
        let g =
            arg.apply_op2_no_bwd(&grad_res.contiguous()?, &SoftmaxCrossEntropyGrad { targets: self.targets.clone() })?;
        Ok(Some(g))
    }
}

struct SoftmaxCrossEntropyGrad {
    targets: Arc<Vec<u32>>,
}

impl CustomOp2 for SoftmaxCrossEntropyGrad {
    fn name(&self) -> &'static str {
        "softmax-cross-entropy-grad"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (x, n, c) = f32_rows(s1, l1, self.name())?;
        let CpuStorage::F32(gdata) = s2 else { candle_core::bail!("{}: grad must be f32", self.name()) };
        let Some((gs, ge)) = l2.contiguous_offsets() else {
            candle_core::bail!("{}: grad must be contiguous", self.name())
        };
        let grad = &gdata[gs..ge];
        let mut out = vec![0f32; n * c];
        out.par_chunks_mut(c.max(1))
            .zip(x.par_chunks(c.max(1)))
            .zip(grad.par_iter().zip(self.targets.par_iter()))
            .for_each(|((o, row), (&g, &t))| {
                kernels::scaled_softmax(row, o, g);
                o[t as usize] -= g;
            });
        Ok((CpuStorage::F32(out), Shape::from((n, c))))
    }
}

/// Row kernels with a vectorisable exp; AVX2+FMA versions are picked at run time.
pub(crate) mod kernels {
    /// `e^x` for f32 by range reduction `x = n·ln2 + r`, |r| ≤ ln2/2, and a degree-6 polynomial
    /// (relative error ~2e-7, flush to 0 below -87). Branch-free, so loops over it vectorise,
    /// unlike calls to libm's `expf` (which dominated the cross-entropy time).
    #[inline(always)]
    fn exp(x: f32) -> f32 {
        const LOG2E: f32 = std::f32::consts::LOG2_E;
        const LN2_HI: f32 = 0.693_145_75;
        const LN2_LO: f32 = 1.428_606_8e-6;
        const ROUND: f32 = 12_582_912.0; // 1.5·2^23: adding it rounds to the nearest integer
        let x = x.clamp(-87.0, 88.0);
        let n = (x * LOG2E + ROUND) - ROUND;
        let r = x - n * LN2_HI - n * LN2_LO;
        let p =
            1.0 + r * (1.0 + r * (0.5 + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0))))));
        let scale = f32::from_bits(((n as i32 + 127) as u32) << 23);
        p * scale
    }

    #[inline(always)]
    fn max_and_sum_exp_generic(row: &[f32]) -> (f32, f32) {
        let mut m = [f32::NEG_INFINITY; 8];
        let chunks = row.chunks_exact(8);
        let tail = chunks.remainder();
        for c in chunks {
            for i in 0..8 {
                m[i] = if c[i] > m[i] { c[i] } else { m[i] };
            }
        }
        let mut max = m.iter().fold(f32::NEG_INFINITY, |a, &b| if b > a { b } else { a });
        for &v in tail {
            max = if v > max { v } else { max };
        }
        let mut s = [0f32; 8];
        let chunks = row.chunks_exact(8);
        for c in chunks {
            for i in 0..8 {
                s[i] += exp(c[i] - max);
            }
        }
        let mut sum: f32 = s.iter().sum();
        for &v in tail {
            sum += exp(v - max);
        }
        (max, sum)
    }

    #[inline(always)]
    fn scaled_softmax_generic(row: &[f32], out: &mut [f32], g: f32) {
        let (max, sum) = max_and_sum_exp_generic(row);
        let scale = g / sum;
        for (o, &v) in out.iter_mut().zip(row) {
            *o = exp(v - max) * scale;
        }
    }

    #[inline(always)]
    fn softmax_in_place_generic(row: &mut [f32], g: f32) -> (f32, f32) {
        let (max, sum) = max_and_sum_exp_generic(row);
        let scale = g / sum;
        for v in row.iter_mut() {
            *v = exp(*v - max) * scale;
        }
        (max, sum)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn softmax_in_place_avx2(row: &mut [f32], g: f32) -> (f32, f32) {
        softmax_in_place_generic(row, g)
    }

    /// `row = softmax(row) · g`; returns the `(max, Σ exp(row - max))` of the input row.
    pub fn softmax_in_place(row: &mut [f32], g: f32) -> (f32, f32) {
        #[cfg(target_arch = "x86_64")]
        if has_avx2() {
            // SAFETY: the CPU supports AVX2 and FMA (checked above).
            return unsafe { softmax_in_place_avx2(row, g) };
        }
        softmax_in_place_generic(row, g)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn max_and_sum_exp_avx2(row: &[f32]) -> (f32, f32) {
        max_and_sum_exp_generic(row)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn scaled_softmax_avx2(row: &[f32], out: &mut [f32], g: f32) {
        scaled_softmax_generic(row, out, g)
    }

    #[cfg(target_arch = "x86_64")]
    fn has_avx2() -> bool {
        use std::sync::OnceLock;
        static HAS: OnceLock<bool> = OnceLock::new();
        *HAS.get_or_init(|| is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"))
    }

    /// `(max(row), Σ exp(row - max))`.
    pub fn max_and_sum_exp(row: &[f32]) -> (f32, f32) {
        #[cfg(target_arch = "x86_64")]
        if has_avx2() {
            // SAFETY: the CPU supports AVX2 and FMA (checked above).
            return unsafe { max_and_sum_exp_avx2(row) };
        }
        max_and_sum_exp_generic(row)
    }

    /// `out = softmax(row) · g`.
    pub fn scaled_softmax(row: &[f32], out: &mut [f32], g: f32) {
        #[cfg(target_arch = "x86_64")]
        if has_avx2() {
            // SAFETY: the CPU supports AVX2 and FMA (checked above).
            return unsafe { scaled_softmax_avx2(row, out, g) };
        }
        scaled_softmax_generic(row, out, g)
    }

    #[cfg(test)]
    #[test]
    fn exp_is_accurate() {
        for i in -1700..=800 {
            let x = i as f32 * 0.05;
            let (a, b) = (exp(x), x.exp());
            assert!(((a - b) / b).abs() < 1e-6, "exp({x}): {a} vs {b}");
        }
        let (m, s) = max_and_sum_exp(&[1.0, 2.0, 3.0, 0.5, -1.0, 2.5, 0.0, 1.5, 2.0, -3.0]);
        let want: f32 = [1.0f32, 2.0, 3.0, 0.5, -1.0, 2.5, 0.0, 1.5, 2.0, -3.0].iter().map(|v| (v - 3.0).exp()).sum();
        assert_eq!(m, 3.0);
        assert!((s - want).abs() < 1e-5);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    #[test]
    fn fused_matches_composed_value_and_gradient() -> Result<()> {
        let dev = Device::Cpu;
        let vals: Vec<f32> = (0..3 * 5).map(|i| ((i * 7 % 11) as f32 - 5.0) * 0.7).collect();
        let x = Var::from_tensor(&Tensor::from_vec(vals, (3, 5), &dev)?)?;
        let t = Tensor::new(&[4u32, 0, 2], &dev)?;
        let fused = cross_entropy(x.as_tensor(), &t)?;
        let composed = cross_entropy_rows_composed(x.as_tensor(), &t)?.mean_all()?;
        let (a, b) = (fused.to_scalar::<f32>()?, composed.to_scalar::<f32>()?);
        assert!((a - b).abs() < 1e-5, "{a} vs {b}");
        let ga: Vec<f32> =
            fused.backward()?.get(x.as_tensor()).ok_or(EagerError::invalid("g"))?.flatten_all()?.to_vec1()?;
        let gb: Vec<f32> =
            composed.backward()?.get(x.as_tensor()).ok_or(EagerError::invalid("g"))?.flatten_all()?.to_vec1()?;
        for (p, q) in ga.iter().zip(&gb) {
            assert!((p - q).abs() < 1e-6, "{ga:?} vs {gb:?}");
        }
        assert!(cross_entropy(x.as_tensor(), &Tensor::new(&[5u32, 0, 0], &dev)?).is_err());
        Ok(())
    }

    /// Value and gradient against numpy (the formula of PyTorch's
    /// `F.cross_entropy(x, t, label_smoothing=0.1)`: `((1-ε)·nll + ε·mean_j(-log p_j)).mean()`,
    /// gradient `(softmax - q) / N` with `q = (1-ε)·onehot + ε/C`); ε = 0 equals plain CE.
    #[test]
    fn smoothed_matches_reference_numbers() -> Result<()> {
        let dev = Device::Cpu;
        let vals = [2.0f32, -1.0, 0.5, 0.0, 0.3, 0.2, -0.7, 1.5, -2.0, 0.0, 1.0, 3.0];
        let x = Var::from_tensor(&Tensor::from_slice(&vals, (3, 4), &dev)?)?;
        let t = Tensor::new(&[0u32, 3, 1], &dev)?;
        let loss = cross_entropy_smoothed(x.as_tensor(), &t, 0.1)?;
        let v = loss.to_scalar::<f32>()?;
        assert!((v - 1.423_117_f32).abs() < 1e-5, "{v}");
        let g: Vec<f32> =
            loss.backward()?.get(x.as_tensor()).ok_or(EagerError::invalid("g"))?.flatten_all()?.to_vec1()?;
        let want = [
            -0.071_633_36,
            0.003_451_264,
            0.044_481_57,
            0.023_700_525,
            0.051_266_745,
            0.045_595_05,
            0.013_592_31,
            -0.110_454_1,
            -0.006_448_899,
            -0.294_409_14,
            0.029_516_54,
            0.271_341_5,
        ];
        for (a, b) in g.iter().zip(want) {
            assert!((a - b).abs() < 1e-6, "{g:?}");
        }
        let plain = cross_entropy(x.as_tensor(), &t)?.to_scalar::<f32>()?;
        assert_eq!(cross_entropy_smoothed(x.as_tensor(), &t, 0.0)?.to_scalar::<f32>()?, plain);
        assert!(cross_entropy_smoothed(x.as_tensor(), &t, 1.0).is_err());
        assert!(cross_entropy_smoothed(x.as_tensor(), &t, f32::NAN).is_err());
        Ok(())
    }
}
