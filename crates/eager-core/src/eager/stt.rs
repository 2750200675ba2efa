//! Semantic-guided transfer task (STT), as the paper describes it.
//!
//! An auxiliary bidirectional transformer decoder reads `[CLS, behaviour code tokens]` (the code
//! token rows of the behaviour decoder's table, plus learned positions) and cross-attends to the
//! semantic stream's summary state (detached, through a linear "guide" projection):
//! - **reconstruction**: `max(1, round(m·L))` randomly chosen code tokens are replaced by a
//!   learned mask vector; the output at each masked position is scored (dot product / τ)
//!   against the true token's row and `J` other sampled rows of the same level (all detached),
//!   cross-entropy with the true token as the positive;
//! - **recognition**: the clean sequence (positive) and a corrupted one where
//!   `max(1, round(r·L))` tokens are replaced by a different random token of the same level
//!   (negative) pass through the decoder; a linear head on the CLS output gives a logit,
//!   binary cross-entropy (positive = 1).
//!
//! All variants of a batch run through the decoder as one batch; rows `b·V + v`.
//! Parameters: `stt.cls` `[d]`, `stt.mask` `[d]`, `stt.positions.weight` `[L + 1, d]`,
//! `stt.guide.*` `[d, d]`, `stt.layers.<i>.*` (cross-attention to the one-token memory is
//! `out(v(guide))`: there is nothing to attend over), `stt.recognition.*` `[1, d]`.
use candle_core::{Tensor, Var};

use super::config::{EagerConfig, SttConfig};
use super::kernels;
use super::layers::{BlockConfig, Dense, Memory, Noise, Stack};
use crate::error::{EagerError, Result};
use crate::nn::ParamStore;
use crate::rng::SeededRng;

/// Losses of one STT pass (absent parts are switched off).
pub struct SttLosses {
    pub recon: Option<Tensor>,
    pub recog: Option<Tensor>,
}

/// The transfer task's parameters.
#[derive(Debug, Clone)]
pub struct SttHead {
    cls: Var,
    mask: Var,
    positions: Var,
    guide: Dense,
    layers: Stack,
    recognition: Dense,
    cfg: SttConfig,
    k: usize,
    len: usize,
}

/// Number of tokens to corrupt: `max(1, round(ratio · len))`, at most `len`.
fn corrupt_count(ratio: f32, len: usize) -> usize {
    ((ratio * len as f32).round() as usize).clamp(1, len)
}

/// `count` distinct positions of `0..len`.
fn pick_positions(len: usize, count: usize, rng: &mut SeededRng) -> Vec<usize> {
    let mut all: Vec<usize> = (0..len).collect();
    for i in 0..count {
        let j = i + rng.below(len - i);
        all.swap(i, j);
    }
    all.truncate(count);
    all
}

impl SttHead {
    /// For behaviour codes with vocabulary `k` and length `len`.
    pub fn new(store: &mut ParamStore, cfg: &EagerConfig, k: usize, len: usize, rng: &mut SeededRng) -> Result<Self> {
        let d = cfg.hidden;
        let cls = store.normal("stt.cls", d, cfg.init_std, rng)?;
        let mask = store.normal("stt.mask", d, cfg.init_std, rng)?;
        let positions = store.normal("stt.positions.weight", (len + 1, d), cfg.init_std, rng)?;
        let guide = Dense::new(store, "stt.guide", d, d, true, cfg.init_std, rng)?;
        let block = BlockConfig {
            hidden: d,
            heads: cfg.heads,
            ffn: cfg.stt_ffn_dim(),
            dropout: cfg.stt.dropout,
            attention_dropout: cfg.stt.dropout,
            eps: cfg.layer_norm_eps,
            std: cfg.init_std,
            causal: false,
            cross: true,
            single_memory: true,
        };
        let layers = Stack::new(store, "stt.layers", cfg.stt.layers, block, rng)?;
        let recognition = Dense::new(store, "stt.recognition", d, 1, true, cfg.init_std, rng)?;
        Ok(SttHead { cls, mask, positions, guide, layers, recognition, cfg: cfg.stt, k, len })
    }

    /// Runs the task on behaviour codes `[B, L]`; `tokens` = the behaviour decoder's table;
    /// `semantic_summary` `[B, d]` (detached by this function). `rng` draws masks/negatives.
    pub fn forward(
        &self,
        codes: &[u32],
        b: usize,
        tokens: &Tensor,
        semantic_summary: &Tensor,
        rng: &mut SeededRng,
        noise: &mut Noise,
    ) -> Result<SttLosses> {
        let (k, l) = (self.k, self.len);
        if codes.len() != b * l {
            return Err(EagerError::invalid(format!("stt: {} code tokens for [{b}, {l}]", codes.len())));
        }
        let recon_on = self.cfg.reconstruction;
        let recog_on = self.cfg.recognition;
        let nv = usize::from(recon_on) + 2 * usize::from(recog_on);
        if nv == 0 {
            return Ok(SttLosses { recon: None, recog: None });
        }
        let dev = tokens.device().clone();
        let t = l + 1;
        let cls_id = (l * k) as u32;
        let mask_id = cls_id + 1;
        let n_mask = corrupt_count(self.cfg.mask_ratio, l);
        let n_rep = corrupt_count(self.cfg.replace_ratio, l);
        // Build the ids of every variant row, and the reconstruction targets.
        let mut ids: Vec<u32> = Vec::with_capacity(b * nv * t);
        let mut masked_rows: Vec<u32> = Vec::new(); // flat row in [B·V·T]
        let mut masked_target: Vec<u32> = Vec::new(); // absolute token row l·K + c
        let mut masked_level: Vec<usize> = Vec::new();
        let mut recog_rows: Vec<u32> = Vec::new(); // CLS rows: positive then negative per sample
        for s in 0..b {
            let code = &codes[s * l..(s + 1) * l];
            let row_of = |lv: usize| (lv * k) as u32 + code[lv];
            let mut v = 0;
            if recon_on {
                let chosen = pick_positions(l, n_mask, rng);
                let base = ((s * nv + v) * t) as u32;
                ids.push(cls_id);
                for lv in 0..l {
                    if chosen.contains(&lv) {
                        ids.push(mask_id);
                        masked_rows.push(base + 1 + lv as u32);
                        masked_target.push(row_of(lv));
                        masked_level.push(lv);
                    } else {
                        ids.push(row_of(lv));
                    }
                }
                v += 1;
            }
            if recog_on {
                recog_rows.push(((s * nv + v) * t) as u32);
                ids.push(cls_id);
                ids.extend((0..l).map(row_of));
                v += 1;
                recog_rows.push(((s * nv + v) * t) as u32);
                let chosen = pick_positions(l, n_rep, rng);
                ids.push(cls_id);
                for (lv, &tok) in code.iter().enumerate() {
                    if chosen.contains(&lv) {
                        let other = (tok as usize + 1 + rng.below(k - 1)) % k;
                        ids.push((lv * k + other) as u32);
                    } else {
                        ids.push(row_of(lv));
                    }
                }
            }
        }
        let n = b * nv;
        let d = tokens.dim(1)?;
        let code_rows = tokens.narrow(0, 0, l * k)?; // [L·K, d]
        let table =
            Tensor::cat(&[&code_rows, &self.cls.as_tensor().unsqueeze(0)?, &self.mask.as_tensor().unsqueeze(0)?], 0)?;
        let idt = Tensor::from_vec(ids, n * t, &dev)?;
        let x = table.index_select(&idt, 0)?.reshape((n, t, d))?; // [N, T, d]
        let x = kernels::add_bias(&x, self.positions.as_tensor())?;
        let x = noise.dropout(&x, self.cfg.dropout)?;
        let guide = self.guide.forward(&semantic_summary.detach())?.reshape((b, 1, d))?; // [B, 1, d]
        let mem = Memory { states: &guide, valid: None };
        let kvs = self.layers.memory_kvs(&mem)?;
        let h = self.layers.forward(&x, None, Some((&mem, &kvs)), noise)?; // [N, T, d]
        let flat = h.reshape((n * t, d))?;

        let recon = if recon_on {
            let m = masked_rows.len();
            let hm = flat.index_select(&Tensor::from_vec(masked_rows, m, &dev)?, 0)?; // [M, d]
            let logits = (hm.matmul(&code_rows.detach().t()?)? / self.cfg.temperature as f64)?; // [M, L·K]
                                                                                                // Candidates: the true token and J sampled other tokens of the same level.
            let j = self.cfg.negatives.min(k - 1);
            let mut add = vec![-1e9f32; m * l * k];
            for (i, (&tg, &lv)) in masked_target.iter().zip(&masked_level).enumerate() {
                let row = &mut add[i * l * k..(i + 1) * l * k];
                row[tg as usize] = 0.0;
                let truth = tg as usize - lv * k;
                if j >= k - 1 {
                    row[lv * k..(lv + 1) * k].iter_mut().for_each(|a| *a = 0.0);
                } else {
                    for o in super::gct::sample_rows(k - 1, j, rng) {
                        let tok = if (o as usize) < truth { o as usize } else { o as usize + 1 };
                        row[lv * k + tok] = 0.0;
                    }
                }
            }
            let logits = (logits + Tensor::from_vec(add, (m, l * k), &dev)?)?;
            let targets = Tensor::from_vec(masked_target, m, &dev)?;
            Some(crate::nn::loss::cross_entropy(&logits, &targets)?)
        } else {
            None
        };

        let recog = if recog_on {
            let r = recog_rows.len();
            let hc = flat.index_select(&Tensor::from_vec(recog_rows, r, &dev)?, 0)?; // [2B, d]
            let z = self.recognition.forward(&hc)?.reshape(r)?; // [2B]
            let labels: Vec<f32> = (0..r).map(|i| if i % 2 == 0 { 1.0 } else { 0.0 }).collect();
            Some(bce_with_logits(&z, &Tensor::from_vec(labels, r, &dev)?)?)
        } else {
            None
        };
        Ok(SttLosses { recon, recog })
    }
}

/// Mean binary cross-entropy on logits: `relu(z) - z·y + log(1 + exp(-|z|))` (stable form).
pub fn bce_with_logits(z: &Tensor, y: &Tensor) -> Result<Tensor> {
    let soft = z.abs()?.neg()?.exp()?.affine(1.0, 1.0)?.log()?;
    Ok(((z.relu()? - (z * y)?)? + soft)?.mean_all()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn bce_matches_torch() -> Result<()> {
        // torch: F.binary_cross_entropy_with_logits(torch.tensor([2.0, -1.0, 0.5]), torch.tensor([1.0, 0.0, 0.0]))
        //   = mean(log1p(e^-2), log1p(e^-1), 0.5 + log1p(e^-0.5)) = 0.4714222
        let z = Tensor::new(&[2.0f32, -1.0, 0.5], &Device::Cpu)?;
        let y = Tensor::new(&[1.0f32, 0.0, 0.0], &Device::Cpu)?;
        let v = bce_with_logits(&z, &y)?.to_scalar::<f32>()?;
        assert!((v - 0.471_422_2).abs() < 1e-5, "{v}");
        assert_eq!(corrupt_count(0.5, 2), 1);
        assert_eq!(corrupt_count(0.5, 3), 2);
        assert_eq!(corrupt_count(0.0, 3), 1);
        Ok(())
    }
}
