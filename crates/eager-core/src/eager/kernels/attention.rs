//! Fused multi-head scaled dot-product attention (softmax, masks, dropout) with its backward.
//!
//! Sequences here are short (history ≤ 50, code length + 2 in the decoders) and batches large,
//! so candle's batched matmul (one gemm call per batch·head) plus a multi-op softmax spends its
//! time in overhead. This kernel reads queries, keys and values straight out of the projection
//! outputs (`[B, T, 3d]` for self-attention, `[B, Tq, d]` + `[B, Tk, 2d]` for cross-attention:
//! no head transposes), runs one parallel pass, and recomputes the probabilities in the
//! backward pass instead of storing them. Dropout masks on the probabilities are hashed from a
//! seed (see `cpu::keep`), so they are reproducible and never stored.
//!
//! Query folding: the query batch may be a multiple `g` of the key batch; query sequence `bq`
//! attends to key sequence `bq / g`. Beam search uses this to score `g` beams per user against
//! one copy of the encoder output.
use std::sync::Arc;

use candle_core::{CpuStorage, Layout, Shape, Tensor, D};
use rayon::prelude::*;

use super::cpu::{fast_exp, keep, slice, with_slice};

/// Options of one attention call.
#[derive(Debug, Clone)]
pub struct AttentionSpec {
    /// Number of heads (`d % heads == 0`).
    pub heads: usize,
    /// Query `i` sees keys `j <= i` only (self-attention; needs `Tq == Tk` and no folding).
    pub causal: bool,
    /// Key validity `[Bk, Tk]`, 1 = may be attended; `None` = every key is valid. A query whose
    /// keys are all invalid gets a zero output.
    pub key_valid: Option<Arc<Vec<u8>>>,
    /// Dropout probability on the attention probabilities (0 = none).
    pub dropout: f32,
    /// Seed of the dropout mask.
    pub seed: u64,
}

/// Where q, k and v sit in their buffers (row-major `[B, T, width]`).
#[derive(Debug, Clone, Copy)]
struct Geometry {
    bq: usize,
    tq: usize,
    bk: usize,
    tk: usize,
    heads: usize,
    dh: usize,
    q_width: usize,
    q_off: usize,
    kv_width: usize,
    k_off: usize,
    v_off: usize,
}

impl Geometry {
    fn d(&self) -> usize {
        self.heads * self.dh
    }
    fn group(&self) -> usize {
        self.bq / self.bk
    }
}

/// Self-attention over packed projections `qkv` `[B, T, 3d]` (q | k | v); returns `[B, T, d]`.
pub fn self_attention(qkv: &Tensor, spec: &AttentionSpec) -> candle_core::Result<Tensor> {
    let (b, t, w) = qkv.dims3()?;
    if w % 3 != 0 {
        return Err(candle_core::Error::Msg(format!("self-attention: last dim {w} is not 3·d")));
    }
    let d = w / 3;
    let geo = geometry(b, t, b, t, d, spec, w, 0, w, d, 2 * d)?;
    if qkv.device().is_cpu() {
        qkv.contiguous()?.apply_op1(SelfAttentionOp { geo, spec: spec.clone() })
    } else {
        let q = qkv.narrow(2, 0, d)?;
        let k = qkv.narrow(2, d, d)?;
        let v = qkv.narrow(2, 2 * d, d)?;
        attention_composed(&q, &k, &v, spec)
    }
}

/// Cross-attention of queries `q` `[Bq, Tq, d]` over packed `kv` `[Bk, Tk, 2d]` (k | v),
/// `Bq` a multiple of `Bk` (query folding); returns `[Bq, Tq, d]`.
pub fn cross_attention(q: &Tensor, kv: &Tensor, spec: &AttentionSpec) -> candle_core::Result<Tensor> {
    let (bq, tq, d) = q.dims3()?;
    let (bk, tk, w) = kv.dims3()?;
    if w != 2 * d {
        return Err(candle_core::Error::Msg(format!("cross-attention: kv width {w} is not 2·{d}")));
    }
    let geo = geometry(bq, tq, bk, tk, d, spec, d, 0, w, 0, d)?;
    if q.device().is_cpu() {
        q.contiguous()?.apply_op2(&kv.contiguous()?, CrossAttentionOp { geo, spec: spec.clone() })
    } else {
        let g = bq / bk;
        let qf = q.reshape((bk, g * tq, d))?;
        let out = attention_composed(&qf, &kv.narrow(2, 0, d)?, &kv.narrow(2, d, d)?, spec)?;
        out.reshape((bq, tq, d))
    }
}

#[allow(clippy::too_many_arguments)]
fn geometry(
    bq: usize,
    tq: usize,
    bk: usize,
    tk: usize,
    d: usize,
    spec: &AttentionSpec,
    q_width: usize,
    q_off: usize,
    kv_width: usize,
    k_off: usize,
    v_off: usize,
) -> candle_core::Result<Geometry> {
    let bad = |m: String| Err(candle_core::Error::Msg(format!("attention: {m}")));
    if spec.heads == 0 || !d.is_multiple_of(spec.heads) {
        return bad(format!("d {d} not divisible by heads {}", spec.heads));
    }
    if bk == 0 || !bq.is_multiple_of(bk) {
        return bad(format!("query batch {bq} is not a multiple of key batch {bk}"));
    }
    if spec.causal && (tq != tk || bq != bk) {
        return bad(format!("causal attention needs Tq == Tk and no folding (Tq {tq}, Tk {tk}, Bq {bq}, Bk {bk})"));
    }
    if let Some(m) = &spec.key_valid {
        if m.len() != bk * tk {
            return bad(format!("key mask has {} entries, expected {bk}·{tk}", m.len()));
        }
    }
    if !(0.0..1.0).contains(&spec.dropout) {
        return bad(format!("dropout {} not in [0, 1)", spec.dropout));
    }
    Ok(Geometry { bq, tq, bk, tk, heads: spec.heads, dh: d / spec.heads, q_width, q_off, kv_width, k_off, v_off })
}

#[inline(always)]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut s = [0f32; 8];
    let n = a.len().min(b.len());
    let chunks = n / 8;
    for c in 0..chunks {
        for l in 0..8 {
            s[l] += a[c * 8 + l] * b[c * 8 + l];
        }
    }
    let mut tail = 0f32;
    for i in chunks * 8..n {
        tail += a[i] * b[i];
    }
    s.iter().sum::<f32>() + tail
}

#[inline(always)]
fn axpy(y: &mut [f32], a: f32, x: &[f32]) {
    for (yi, &xi) in y.iter_mut().zip(x) {
        *yi += a * xi;
    }
}

/// Softmax probabilities of query `i` of query sequence `bq`, head `h` into `p[..tk]`
/// (0 for masked keys). Returns false when every key is masked.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn probs(
    geo: &Geometry,
    spec: &AttentionSpec,
    q: &[f32],
    kv: &[f32],
    bq: usize,
    h: usize,
    i: usize,
    p: &mut [f32],
) -> bool {
    let bk = bq / geo.group();
    let scale = 1.0 / (geo.dh as f32).sqrt();
    let qrow = &q[(bq * geo.tq + i) * geo.q_width + geo.q_off + h * geo.dh..][..geo.dh];
    let jmax = if spec.causal { i + 1 } else { geo.tk };
    let mut max = f32::NEG_INFINITY;
    for j in 0..geo.tk {
        let valid = j < jmax && spec.key_valid.as_ref().is_none_or(|m| m[bk * geo.tk + j] != 0);
        if valid {
            let krow = &kv[(bk * geo.tk + j) * geo.kv_width + geo.k_off + h * geo.dh..][..geo.dh];
            let s = dot(qrow, krow) * scale;
            p[j] = s;
            max = max.max(s);
        } else {
            p[j] = f32::NEG_INFINITY;
        }
    }
    if max == f32::NEG_INFINITY {
        p[..geo.tk].iter_mut().for_each(|v| *v = 0.0);
        return false;
    }
    let mut sum = 0f32;
    for v in p[..geo.tk].iter_mut() {
        let e = if *v == f32::NEG_INFINITY { 0.0 } else { fast_exp(*v - max) };
        *v = e;
        sum += e;
    }
    let inv = 1.0 / sum;
    p[..geo.tk].iter_mut().for_each(|v| *v *= inv);
    true
}

/// Dropout multiplier of probability `(bq, h, i, j)`: 0 or `1/(1-p)`.
#[inline(always)]
fn drop_scale(geo: &Geometry, spec: &AttentionSpec, bq: usize, h: usize, i: usize, j: usize) -> f32 {
    if spec.dropout <= 0.0 {
        return 1.0;
    }
    let idx = (((bq * geo.heads + h) * geo.tq + i) * geo.tk + j) as u64;
    if keep(spec.seed, idx, spec.dropout) {
        1.0 / (1.0 - spec.dropout)
    } else {
        0.0
    }
}

/// Output `[Bq, Tq, d]`.
fn forward(geo: &Geometry, spec: &AttentionSpec, q: &[f32], kv: &[f32]) -> Vec<f32> {
    let d = geo.d();
    let mut out = vec![0f32; geo.bq * geo.tq * d];
    out.par_chunks_mut(geo.tq * d).enumerate().for_each(|(bq, ob)| {
        let bk = bq / geo.group();
        let mut p = vec![0f32; geo.tk];
        for h in 0..geo.heads {
            for i in 0..geo.tq {
                if !probs(geo, spec, q, kv, bq, h, i, &mut p) {
                    continue;
                }
                let orow = &mut ob[i * d + h * geo.dh..][..geo.dh];
                for j in 0..geo.tk {
                    let pj = p[j] * drop_scale(geo, spec, bq, h, i, j);
                    if pj != 0.0 {
                        let vrow = &kv[(bk * geo.tk + j) * geo.kv_width + geo.v_off + h * geo.dh..][..geo.dh];
                        axpy(orow, pj, vrow);
                    }
                }
            }
        }
    });
    out
}

/// Gradients: `dq` `[Bq, Tq, d]` and `dkv` `[Bk, Tk, 2d]` (dk | dv).
fn backward(geo: &Geometry, spec: &AttentionSpec, q: &[f32], kv: &[f32], dout: &[f32]) -> (Vec<f32>, Vec<f32>) {
    let d = geo.d();
    let g = geo.group();
    let scale = 1.0 / (geo.dh as f32).sqrt();
    let mut dq = vec![0f32; geo.bq * geo.tq * d];
    let mut dkv = vec![0f32; geo.bk * geo.tk * 2 * d];
    // One task per key sequence: it owns dk/dv of that sequence and dq of its query group.
    dq.par_chunks_mut(g * geo.tq * d).zip(dkv.par_chunks_mut(geo.tk * 2 * d)).enumerate().for_each(
        |(bk, (dqb, dkvb))| {
            let mut p = vec![0f32; geo.tk];
            let mut dp = vec![0f32; geo.tk];
            for r in 0..g {
                let bq = bk * g + r;
                for h in 0..geo.heads {
                    for i in 0..geo.tq {
                        if !probs(geo, spec, q, kv, bq, h, i, &mut p) {
                            continue;
                        }
                        let dorow = &dout[(bq * geo.tq + i) * d + h * geo.dh..][..geo.dh];
                        let mut s = 0f32;
                        for j in 0..geo.tk {
                            if p[j] == 0.0 {
                                dp[j] = 0.0;
                                continue;
                            }
                            let m = drop_scale(geo, spec, bq, h, i, j);
                            let vrow = &kv[(bk * geo.tk + j) * geo.kv_width + geo.v_off + h * geo.dh..][..geo.dh];
                            // dV_j += p'_j dO_i
                            if m != 0.0 {
                                axpy(&mut dkvb[j * 2 * d + d + h * geo.dh..][..geo.dh], p[j] * m, dorow);
                                dp[j] = dot(dorow, vrow) * m;
                            } else {
                                dp[j] = 0.0;
                            }
                            s += p[j] * dp[j];
                        }
                        let qrow = &q[(bq * geo.tq + i) * geo.q_width + geo.q_off + h * geo.dh..][..geo.dh];
                        for j in 0..geo.tk {
                            if p[j] == 0.0 {
                                continue;
                            }
                            let ds = p[j] * (dp[j] - s) * scale;
                            if ds == 0.0 {
                                continue;
                            }
                            let krow = &kv[(bk * geo.tk + j) * geo.kv_width + geo.k_off + h * geo.dh..][..geo.dh];
                            axpy(&mut dqb[(r * geo.tq + i) * d + h * geo.dh..][..geo.dh], ds, krow);
                            axpy(&mut dkvb[j * 2 * d + h * geo.dh..][..geo.dh], ds, qrow);
                        }
                    }
                }
            }
        },
    );
    (dq, dkv)
}

struct SelfAttentionOp {
    geo: Geometry,
    spec: AttentionSpec,
}

impl candle_core::CustomOp1 for SelfAttentionOp {
    fn name(&self) -> &'static str {
        "eager-self-attention"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let qkv = slice(s, l, self.name())?;
        let out = forward(&self.geo, &self.spec, qkv, qkv);
        Ok((CpuStorage::F32(out), Shape::from((self.geo.bq, self.geo.tq, self.geo.d()))))
    }

    fn bwd(&self, qkv: &Tensor, _res: &Tensor, grad: &Tensor) -> candle_core::Result<Option<Tensor>> {
        let geo = self.geo;
        let d = geo.d();
        let dqkv = with_slice(qkv, self.name(), |xs| {
            with_slice(grad, self.name(), |gs| {
                let (dq, dkv) = backward(&geo, &self.spec, xs, xs, gs);
                let mut dqkv = vec![0f32; xs.len()];
                dqkv.par_chunks_mut(3 * d).zip(dq.par_chunks(d).zip(dkv.par_chunks(2 * d))).for_each(|(o, (a, b))| {
                    o[..d].copy_from_slice(a);
                    o[d..].copy_from_slice(b);
                });
                Ok(dqkv)
            })
        })?;
        Ok(Some(Tensor::from_vec(dqkv, qkv.shape(), qkv.device())?))
    }
}

struct CrossAttentionOp {
    geo: Geometry,
    spec: AttentionSpec,
}

impl candle_core::CustomOp2 for CrossAttentionOp {
    fn name(&self) -> &'static str {
        "eager-cross-attention"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let q = slice(s1, l1, self.name())?;
        let kv = slice(s2, l2, self.name())?;
        let out = forward(&self.geo, &self.spec, q, kv);
        Ok((CpuStorage::F32(out), Shape::from((self.geo.bq, self.geo.tq, self.geo.d()))))
    }

    fn bwd(
        &self,
        q: &Tensor,
        kv: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let (dq, dkv) = with_slice(q, self.name(), |qs| {
            with_slice(kv, self.name(), |ks| {
                with_slice(grad, self.name(), |gs| Ok(backward(&self.geo, &self.spec, qs, ks, gs)))
            })
        })?;
        Ok((Some(Tensor::from_vec(dq, q.shape(), q.device())?), Some(Tensor::from_vec(dkv, kv.shape(), kv.device())?)))
    }
}

/// The same attention from candle ops (any device; reference in tests). Queries `[B, Tq, d]`,
/// keys/values `[B, Tk, d]` with the same batch (fold queries before calling).
pub fn attention_composed(q: &Tensor, k: &Tensor, v: &Tensor, spec: &AttentionSpec) -> candle_core::Result<Tensor> {
    let (b, tq, d) = q.dims3()?;
    let tk = k.dim(1)?;
    let h = spec.heads;
    let dh = d / h;
    let split = |x: &Tensor, t: usize| -> candle_core::Result<Tensor> {
        x.contiguous()?.reshape((b, t, h, dh))?.transpose(1, 2)?.contiguous()
    };
    let qh = (split(q, tq)? * (1.0 / (dh as f64).sqrt()))?; // [B, h, Tq, dh]
    let kh = split(k, tk)?; // [B, h, Tk, dh]
    let vh = split(v, tk)?;
    let mut scores = qh.matmul(&kh.t()?)?; // [B, h, Tq, Tk]
    let dev = q.device();
    if let Some(m) = &spec.key_valid {
        let add: Vec<f32> = m.iter().map(|&x| if x != 0 { 0.0 } else { -1e9 }).collect();
        let add = Tensor::from_vec(add, (b, 1, 1, tk), dev)?;
        scores = scores.broadcast_add(&add)?;
    }
    if spec.causal {
        let add: Vec<f32> = (0..tq * tk).map(|x| if x % tk > x / tk { -1e9 } else { 0.0 }).collect();
        let add = Tensor::from_vec(add, (1, 1, tq, tk), dev)?;
        scores = scores.broadcast_add(&add)?;
    }
    let mut p = candle_nn::ops::softmax(&scores, D::Minus1)?;
    if spec.dropout > 0.0 {
        let n = b * h * tq * tk;
        let sc = 1.0 / (1.0 - spec.dropout);
        let mask: Vec<f32> = (0..n as u64).map(|i| if keep(spec.seed, i, spec.dropout) { sc } else { 0.0 }).collect();
        p = p.mul(&Tensor::from_vec(mask, (b, h, tq, tk), dev)?)?;
    }
    p.matmul(&vh)?.transpose(1, 2)?.contiguous()?.reshape((b, tq, d))
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    fn max_diff(a: &Tensor, b: &Tensor) -> candle_core::Result<f32> {
        (a - b)?.abs()?.max_all()?.to_scalar::<f32>()
    }

    fn grad_of(g: &candle_core::backprop::GradStore, v: &Var) -> candle_core::Result<Tensor> {
        g.get(v.as_tensor()).cloned().ok_or(candle_core::Error::Msg("no grad".into()))
    }

    #[test]
    fn self_attention_matches_composed() -> candle_core::Result<()> {
        let dev = Device::Cpu;
        let (b, t, d) = (3, 5, 8);
        let qkv = Var::from_tensor(&Tensor::randn(0f32, 1.0, (b, t, 3 * d), &dev)?)?;
        let w = Tensor::randn(0f32, 1.0, (b, t, d), &dev)?;
        // Right padding: with a causal mask every query still sees key 0 (the composed version
        // would give a uniform row where the fused kernel gives zeros).
        let valid: Vec<u8> = (0..b * t).map(|i| u8::from(i % t < t - i / t)).collect();
        for (causal, dropout) in [(false, 0.0), (true, 0.0), (true, 0.3), (false, 0.3)] {
            let spec = AttentionSpec { heads: 2, causal, key_valid: Some(Arc::new(valid.clone())), dropout, seed: 11 };
            let fused = self_attention(qkv.as_tensor(), &spec)?;
            let x = qkv.as_tensor();
            let plain = attention_composed(&x.narrow(2, 0, d)?, &x.narrow(2, d, d)?, &x.narrow(2, 2 * d, d)?, &spec)?;
            assert!(max_diff(&fused, &plain)? < 1e-5, "forward causal={causal} p={dropout}");
            let g1 = (fused * &w)?.sum_all()?.backward()?;
            let g2 = (plain * &w)?.sum_all()?.backward()?;
            let diff = max_diff(&grad_of(&g1, &qkv)?, &grad_of(&g2, &qkv)?)?;
            assert!(diff < 1e-4, "grad diff {diff} causal={causal} p={dropout}");
        }
        Ok(())
    }

    #[test]
    fn cross_attention_matches_composed_with_folding() -> candle_core::Result<()> {
        let dev = Device::Cpu;
        let (bk, g, tq, tk, d) = (2, 3, 2, 6, 8);
        let q = Var::from_tensor(&Tensor::randn(0f32, 1.0, (bk * g, tq, d), &dev)?)?;
        let kv = Var::from_tensor(&Tensor::randn(0f32, 1.0, (bk, tk, 2 * d), &dev)?)?;
        let w = Tensor::randn(0f32, 1.0, (bk * g, tq, d), &dev)?;
        let valid: Vec<u8> = (0..bk * tk).map(|i| u8::from(i % tk >= 2 * (i / tk))).collect();
        let spec = AttentionSpec { heads: 4, causal: false, key_valid: Some(Arc::new(valid)), dropout: 0.0, seed: 0 };
        let fused = cross_attention(q.as_tensor(), kv.as_tensor(), &spec)?;
        let qf = q.as_tensor().reshape((bk, g * tq, d))?;
        let kvt = kv.as_tensor();
        let plain =
            attention_composed(&qf, &kvt.narrow(2, 0, d)?, &kvt.narrow(2, d, d)?, &spec)?.reshape((bk * g, tq, d))?;
        assert!(max_diff(&fused, &plain)? < 1e-5);
        let g1 = (fused * &w)?.sum_all()?.backward()?;
        let g2 = (plain * &w)?.sum_all()?.backward()?;
        assert!(max_diff(&grad_of(&g1, &q)?, &grad_of(&g2, &q)?)? < 1e-4);
        assert!(max_diff(&grad_of(&g1, &kv)?, &grad_of(&g2, &kv)?)? < 1e-4);
        Ok(())
    }
}
