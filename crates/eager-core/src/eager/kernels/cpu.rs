//! Helpers shared by the fused CPU kernels: slice access, fast math, counter-based dropout masks.
use candle_core::{CpuStorage, Layout, Storage, Tensor};

/// The f32 data of a contiguous CPU storage, `[start, end)` of its layout.
pub(crate) fn slice<'a>(s: &'a CpuStorage, l: &Layout, op: &str) -> candle_core::Result<&'a [f32]> {
    let data = s.as_slice::<f32>()?;
    match l.contiguous_offsets() {
        Some((a, b)) => Ok(&data[a..b]),
        None => Err(candle_core::Error::Msg(format!("{op}: input must be contiguous"))),
    }
}

/// Runs `f` on the f32 data of a CPU tensor (made contiguous first).
pub(crate) fn with_slice<R>(
    t: &Tensor,
    op: &str,
    f: impl FnOnce(&[f32]) -> candle_core::Result<R>,
) -> candle_core::Result<R> {
    let t = t.contiguous()?;
    let (st, l) = t.storage_and_layout();
    match &*st {
        Storage::Cpu(c) => f(slice(c, l, op)?),
        _ => Err(candle_core::Error::Msg(format!("{op}: fused kernel called on a non-CPU tensor"))),
    }
}

/// `exp(x)` for f32 by range reduction `x = n ln2 + r` and a degree-6 polynomial; relative error
/// about 2e-7 over the whole range, branch-free so loops over it vectorise. Clamped below at
/// -87.3 (result ~1e-38) and above at 88.7.
#[inline(always)]
pub(crate) fn fast_exp(x: f32) -> f32 {
    let x = x.clamp(-87.3, 88.7);
    // Round to nearest by the 1.5·2^23 trick (vectorises, unlike `f32::round`).
    const MAGIC: f32 = 12_582_912.0;
    let n = (x * std::f32::consts::LOG2_E + MAGIC) - MAGIC;
    // Cody-Waite split of ln 2 keeps r exact enough.
    let r = x - n * 0.693_145_75 - n * 1.428_606_8e-6;
    let p = 1.0
        + r * (1.0 + r * (0.5 + r * (0.166_666_67 + r * (0.041_666_668 + r * (0.008_333_334 + r * 0.001_388_889)))));
    let bits = ((n as i32 + 127) as u32) << 23;
    p * f32::from_bits(bits)
}

/// `erf(x)` by Abramowitz & Stegun 7.1.26 (absolute error below 1.5e-7).
#[inline(always)]
pub(crate) fn fast_erf(x: f32) -> f32 {
    erf_given_exp(x, fast_exp(-x * x))
}

/// `erf(x)` when `exp(-x²)` is already known (GELU's gradient needs it twice).
#[inline(always)]
pub(crate) fn erf_given_exp(x: f32, exp_neg_x2: f32) -> f32 {
    let a = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * a);
    let poly = t * (0.254_829_6 + t * (-0.284_496_74 + t * (1.421_413_7 + t * (-1.453_152_1 + t * 1.061_405_4))));
    let y = 1.0 - poly * exp_neg_x2;
    y.copysign(x)
}

/// `z[r·f + i] = gelu(z[r·f + i] + b[i])` over rows of `f = b.len()` (exact-erf GELU). Runs an
/// AVX2 + FMA build of the same loop when the CPU has them (checked at run time, so the binary
/// stays portable; FMA rounding makes results differ from the plain build in the last bits).
pub(crate) fn bias_gelu_rows(z: &mut [f32], b: &[f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU supports the features the function is compiled for (checked above).
        unsafe { bias_gelu_rows_avx2(z, b) };
        return;
    }
    bias_gelu_rows_plain(z, b);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn bias_gelu_rows_avx2(z: &mut [f32], b: &[f32]) {
    bias_gelu_rows_plain(z, b);
}

#[inline(always)]
fn bias_gelu_rows_plain(z: &mut [f32], b: &[f32]) {
    const INV_SQRT2: f32 = std::f32::consts::FRAC_1_SQRT_2;
    for zr in z.chunks_exact_mut(b.len().max(1)) {
        for (v, bi) in zr.iter_mut().zip(b) {
            let x = *v + bi;
            *v = 0.5 * x * (1.0 + fast_erf(x * INV_SQRT2));
        }
    }
}

/// SplitMix64 finaliser: a good 64-bit hash of a counter.
#[inline(always)]
pub(crate) fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Counter-based dropout decision: element `idx` of the mask drawn with `seed` is kept when this
/// returns true. The same `(seed, idx)` always gives the same answer, so the backward pass
/// recomputes the mask instead of storing it.
#[inline(always)]
pub(crate) fn keep(seed: u64, idx: u64, p: f32) -> bool {
    let h = mix64(seed ^ idx.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    ((h >> 40) as f32) * (1.0 / 16_777_216.0) >= p
}

/// Rows per parallel task so that each task has at least `min_elems` elements.
pub(crate) fn rows_per_task(rows: usize, row_len: usize, min_elems: usize) -> usize {
    let per = min_elems.div_ceil(row_len.max(1)).max(1);
    per.min(rows.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_and_erf_match_std() {
        let mut worst_exp = 0f64;
        let mut worst_erf = 0f64;
        for i in -4000..4000 {
            let x = i as f32 * 0.02;
            let e = fast_exp(x) as f64;
            let r = (x as f64).exp();
            worst_exp = worst_exp.max(((e - r) / r).abs());
            // erf reference: f64 series via libm-free integration is overkill; use the identity
            // erf(x) = 1 - erfc(x) with a high-precision continued fraction below.
            let x64 = x as f64 / 25.0; // [-3.2, 3.2]
            let erf_ref = erf64(x64);
            worst_erf = worst_erf.max((fast_erf(x64 as f32) as f64 - erf_ref).abs());
        }
        assert!(worst_exp < 1e-6, "exp rel err {worst_exp}");
        assert!(worst_erf < 1e-6, "erf abs err {worst_erf}");
        let mut kept = 0;
        for i in 0..100_000u64 {
            kept += keep(7, i, 0.1) as usize;
        }
        assert!((89_000..91_000).contains(&kept), "kept {kept}");
    }

    /// erf by its Maclaurin series (accurate to ~1e-12 in f64 for |x| <= 3.2).
    fn erf64(x: f64) -> f64 {
        let mut sum = 0.0f64;
        let mut term = x;
        let mut n = 0.0f64;
        while term.abs() > 1e-17 * sum.abs().max(1e-300) || n < 3.0 {
            sum += term / (2.0 * n + 1.0);
            n += 1.0;
            term *= -x * x / n;
            if n > 400.0 {
                break;
            }
        }
        sum * 2.0 / std::f64::consts::PI.sqrt()
    }
}
