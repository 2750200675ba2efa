//! One code decoder (behaviour or semantic stream): generates an item's code token by token
//! from its own start token, cross-attending to the shared encoder output.
//!
//! Vocabulary: token `t` at level `l` has its own row `l·K + t`; then `SOS = L·K` and the GCT
//! summary token `EOS = L·K + 1`. Output logits at level `l` are dot products with that level's
//! K rows (tied to the input rows, no bias). Teacher-forced input is
//! `[SOS, c_0, …, c_{L-1}, EOS]`: position `l` predicts `c_l`; the final state at `EOS` is the
//! stream's summary. Without a summary the last code token and EOS are left out.
//! Parameters (`<stream>` = `behaviour` | `semantic`): `<stream>.tokens.weight` `[L·K + 2, d]`,
//! `<stream>.positions.weight` `[L + 2, d]`, `<stream>.ln.*`, `<stream>.layers.<i>.*`.
use candle_core::{Tensor, Var, D};

use super::config::EagerConfig;
use super::encoder::Encoded;
use super::kernels;
use super::layers::{BlockConfig, Memory, Noise, Norm, Stack};
use crate::error::{EagerError, Result};
use crate::nn::{join, ParamStore};
use crate::rng::SeededRng;

/// Outputs of a teacher-forced pass.
pub struct DecoderOut {
    /// Logits `[L·B, K]`, level-major (row `l·B + b` is level `l` of sample `b`).
    pub logits: Tensor,
    /// Targets `[L·B]` (u32) in the same order.
    pub targets: Tensor,
    /// Final state at the summary token `[B, d]`, when requested.
    pub summary: Option<Tensor>,
}

/// Incremental decoding state: every decoder layer's self-attention keys | values of the
/// positions decoded so far, `[rows, len, 2d]` per layer.
#[derive(Debug, Clone)]
pub struct DecodeState {
    kv: Vec<Tensor>,
    rows: usize,
    len: usize,
}

impl DecodeState {
    /// Rows (beams) held.
    pub fn rows(&self) -> usize {
        self.rows
    }
}

/// A code decoder.
#[derive(Debug, Clone)]
pub struct CodeDecoder {
    tokens: Var,
    positions: Var,
    ln: Norm,
    layers: Stack,
    k: usize,
    len: usize,
    dropout: f32,
}

impl CodeDecoder {
    /// A decoder named `prefix` for codes with vocabulary `k` and length `len`.
    pub fn new(
        store: &mut ParamStore,
        prefix: &str,
        cfg: &EagerConfig,
        k: usize,
        len: usize,
        rng: &mut SeededRng,
    ) -> Result<Self> {
        let d = cfg.hidden;
        let tokens = store.normal(&join(prefix, "tokens.weight"), (len * k + 2, d), cfg.init_std, rng)?;
        let positions = store.normal(&join(prefix, "positions.weight"), (len + 2, d), cfg.init_std, rng)?;
        let ln = Norm::new(store, &join(prefix, "ln"), d, cfg.layer_norm_eps)?;
        let block = BlockConfig {
            hidden: d,
            heads: cfg.heads,
            ffn: cfg.ffn_dim(),
            dropout: cfg.dropout,
            attention_dropout: cfg.attention_dropout,
            eps: cfg.layer_norm_eps,
            std: cfg.init_std,
            causal: true,
            cross: true,
            single_memory: false,
        };
        let layers = Stack::new(store, &join(prefix, "layers"), cfg.decoder_layers, block, rng)?;
        Ok(CodeDecoder { tokens, positions, ln, layers, k, len, dropout: cfg.dropout })
    }

    /// Token vocabulary per level K.
    pub fn k(&self) -> usize {
        self.k
    }

    /// Code length L.
    pub fn code_len(&self) -> usize {
        self.len
    }

    /// Start token id.
    pub fn sos(&self) -> u32 {
        (self.len * self.k) as u32
    }

    /// Summary token id.
    pub fn eos(&self) -> u32 {
        (self.len * self.k + 1) as u32
    }

    /// The token table `[L·K + 2, d]` (the STT reads the behaviour stream's code rows).
    pub fn token_table(&self) -> &Tensor {
        self.tokens.as_tensor()
    }

    /// Cross-attention keys/values of every layer for this memory (compute once per batch).
    pub fn memory_kvs(&self, mem: &Memory) -> Result<Vec<Option<Tensor>>> {
        self.layers.memory_kvs(mem)
    }

    /// Embeds `ids` `[N, T]` (vocabulary ids) and runs the layers; `mem` has `Bk` rows with
    /// `N` a multiple of `Bk` (query folding). Returns `[N, T, d]`.
    fn run(
        &self,
        ids: &[u32],
        n: usize,
        t: usize,
        enc: &Encoded,
        kvs: &[Option<Tensor>],
        noise: &mut Noise,
    ) -> Result<Tensor> {
        let dev = self.tokens.device();
        let idt = Tensor::from_slice(ids, n * t, dev)?;
        let x = self.tokens.as_tensor().index_select(&idt, 0)?.reshape((n, t, ()))?; // [N, T, d]
        let pos = self.positions.as_tensor().narrow(0, 0, t)?; // [T, d]
        let x = self.ln.forward(&kernels::add_bias(&x, &pos)?)?;
        let x = noise.dropout(&x, self.dropout)?;
        let mem = enc.memory();
        self.layers.forward(&x, None, Some((&mem, kvs)), noise)
    }

    /// Vocabulary ids of `[SOS, c_0 .. c_{m-1}]` per row of `codes` `[N, L]`, `m < = L`.
    fn input_ids(&self, codes: &[u32], n: usize, m: usize) -> Vec<u32> {
        let mut ids = Vec::with_capacity(n * (m + 1));
        for r in 0..n {
            ids.push(self.sos());
            for l in 0..m {
                ids.push((l * self.k) as u32 + codes[r * self.len + l]);
            }
        }
        ids
    }

    /// Logits of levels `0..levels` from states `h` `[N, T ≥ levels, d]` at positions
    /// `0..levels`: `[levels, N, K]`.
    fn level_logits(&self, h: &Tensor, levels: usize) -> Result<Tensor> {
        let (_n, _t, d) = h.dims3()?;
        let hl = h.narrow(1, 0, levels)?.transpose(0, 1)?.contiguous()?; // [levels, N, d]
        let w = self.tokens.as_tensor().narrow(0, 0, levels * self.k)?.reshape((levels, self.k, d))?; // [levels, K, d]
        Ok(hl.matmul(&w.transpose(1, 2)?)?) // [levels, N, K]
    }

    fn check_codes(&self, codes: &[u32], n: usize) -> Result<()> {
        if codes.len() != n * self.len {
            return Err(EagerError::invalid(format!(
                "decoder: {} code tokens for {n} rows of length {}",
                codes.len(),
                self.len
            )));
        }
        if let Some(&t) = codes.iter().find(|&&t| t as usize >= self.k) {
            return Err(EagerError::invalid(format!("decoder: code token {t} >= K = {}", self.k)));
        }
        Ok(())
    }

    /// Teacher-forced training pass on target codes `[B, L]`.
    pub fn forward_train(
        &self,
        codes: &[u32],
        b: usize,
        enc: &Encoded,
        kvs: &[Option<Tensor>],
        summary: bool,
        noise: &mut Noise,
    ) -> Result<DecoderOut> {
        self.check_codes(codes, b)?;
        let l = self.len;
        let (ids, t) = if summary {
            let mut ids = Vec::with_capacity(b * (l + 2));
            for r in 0..b {
                ids.push(self.sos());
                for lv in 0..l {
                    ids.push((lv * self.k) as u32 + codes[r * l + lv]);
                }
                ids.push(self.eos());
            }
            (ids, l + 2)
        } else {
            (self.input_ids(codes, b, l - 1), l)
        };
        let h = self.run(&ids, b, t, enc, kvs, noise)?; // [B, T, d]
        let logits = self.level_logits(&h, l)?.reshape((l * b, self.k))?; // [L·B, K]
        let mut tg = Vec::with_capacity(l * b);
        for lv in 0..l {
            for r in 0..b {
                tg.push(codes[r * l + lv]);
            }
        }
        let targets = Tensor::from_vec(tg, l * b, h.device())?;
        let summary = if summary { Some(h.narrow(1, l + 1, 1)?.squeeze(1)?) } else { None };
        Ok(DecoderOut { logits, targets, summary })
    }

    /// Teacher-forced log-probability `[N]` of each row's **last** code token given that row's
    /// own code prefix (`codes` `[N, L]`, row `r` on memory row `r`), with training noise and
    /// gradients: the leaf choice of an item, the part of its code no other item shares.
    pub fn last_token_log_probs_train(
        &self,
        codes: &[u32],
        n: usize,
        enc: &Encoded,
        kvs: &[Option<Tensor>],
        noise: &mut Noise,
    ) -> Result<Tensor> {
        self.check_codes(codes, n)?;
        let m = self.len - 1; // position of the last token's prediction
        let ids = self.input_ids(codes, n, m);
        let h = self.run(&ids, n, m + 1, enc, kvs, noise)?; // [N, L, d]
        let d = h.dim(2)?;
        let last = h.narrow(1, m, 1)?.reshape((n, d))?; // [N, d]
        let w = self.tokens.as_tensor().narrow(0, m * self.k, self.k)?; // [K, d]
        let logp = candle_nn::ops::log_softmax(&last.matmul(&w.t()?)?, D::Minus1)?; // [N, K]
        let leaf: Vec<u32> = (0..n).map(|r| codes[r * self.len + m]).collect();
        let leaf = Tensor::from_vec(leaf, (n, 1), h.device())?; // [N, 1]
        Ok(logp.gather(&leaf, 1)?.squeeze(1)?) // [N]
    }

    /// Log-probabilities `[N, K]` of the next token after each prefix `prefixes` `[N, m]`
    /// (raw tokens, level-by-level, `m < L`); row `r` uses memory row `r / (N / Bk)`.
    pub fn next_log_probs(
        &self,
        prefixes: &[u32],
        n: usize,
        m: usize,
        enc: &Encoded,
        kvs: &[Option<Tensor>],
    ) -> Result<Tensor> {
        if m >= self.len || prefixes.len() != n * m {
            return Err(EagerError::invalid(format!(
                "decoder: bad prefix block [{n}, {m}] for code length {}",
                self.len
            )));
        }
        let mut ids = Vec::with_capacity(n * (m + 1));
        for r in 0..n {
            ids.push(self.sos());
            for l in 0..m {
                ids.push((l * self.k) as u32 + prefixes[r * m + l]);
            }
        }
        let h = self.run(&ids, n, m + 1, enc, kvs, &mut Noise::eval())?; // [N, m+1, d]
        let d = h.dim(2)?;
        let last = h.narrow(1, m, 1)?.reshape((n, d))?; // [N, d]
        let w = self.tokens.as_tensor().narrow(0, m * self.k, self.k)?; // [K, d]
        let logits = last.matmul(&w.t()?)?; // [N, K]
        Ok(candle_nn::ops::log_softmax(&logits, D::Minus1)?)
    }

    /// Starts incremental decoding for `b` encoded users (one row each): runs the start token
    /// and returns the level-0 log-probabilities `[B, K]` with the decoding state.
    pub fn start(&self, b: usize, enc: &Encoded, kvs: &[Option<Tensor>]) -> Result<(Tensor, DecodeState)> {
        let ids = vec![self.sos(); b];
        self.advance(&ids, 0, &[], enc, kvs)
    }

    /// One incremental step: row `r` of the new state continues row `parents[r]` of `state`
    /// with code token `tokens[r]` (a token of level `state.len() - 1`); returns the next
    /// level's log-probabilities `[N, K]` (N = `parents.len()`) and the new state. Row `r`
    /// uses memory row `r / (N / Bk)` (query folding). Equal to [`CodeDecoder::next_log_probs`]
    /// on the whole prefix, computing only the newest position.
    pub fn step(
        &self,
        state: &DecodeState,
        parents: &[u32],
        tokens: &[u32],
        enc: &Encoded,
        kvs: &[Option<Tensor>],
    ) -> Result<(Tensor, DecodeState)> {
        let level = state.len; // position of the new token = its code level + 1
        if level == 0 || level > self.len - 1 || parents.len() != tokens.len() {
            return Err(EagerError::invalid(format!(
                "decoder: step at position {level} with {} parents and {} tokens (code length {})",
                parents.len(),
                tokens.len(),
                self.len
            )));
        }
        if let Some(&t) = tokens.iter().find(|&&t| t as usize >= self.k) {
            return Err(EagerError::invalid(format!("decoder: code token {t} >= K = {}", self.k)));
        }
        if let Some(&p) = parents.iter().find(|&&p| p as usize >= state.rows) {
            return Err(EagerError::invalid(format!("decoder: parent row {p} >= {} rows", state.rows)));
        }
        let ids: Vec<u32> = tokens.iter().map(|&t| ((level - 1) * self.k) as u32 + t).collect();
        let idx = Tensor::from_slice(parents, parents.len(), self.tokens.device())?;
        let past = state.kv.iter().map(|kv| Ok(kv.index_select(&idx, 0)?)).collect::<Result<Vec<_>>>()?; // [N, t, 2d] each
        self.advance(&ids, level, &past, enc, kvs)
    }

    /// Runs vocabulary ids `ids` `[N]` at position `pos` over `past` and returns the
    /// log-probabilities of the code token at level `pos` `[N, K]` with the extended state.
    fn advance(
        &self,
        ids: &[u32],
        pos: usize,
        past: &[Tensor],
        enc: &Encoded,
        kvs: &[Option<Tensor>],
    ) -> Result<(Tensor, DecodeState)> {
        let n = ids.len();
        let dev = self.tokens.device();
        let idt = Tensor::from_slice(ids, n, dev)?;
        let x = self.tokens.as_tensor().index_select(&idt, 0)?.reshape((n, 1, ()))?; // [N, 1, d]
        let p = self.positions.as_tensor().narrow(0, pos, 1)?; // [1, d]
        let x = self.ln.forward(&kernels::add_bias(&x, &p)?)?;
        let mem = enc.memory();
        let (h, new) = self.layers.step(&x, past, Some((&mem, kvs)))?; // [N, 1, d]
        let kv = if past.is_empty() {
            new
        } else {
            past.iter().zip(new).map(|(p, k)| Ok(Tensor::cat(&[p, &k], 1)?)).collect::<Result<Vec<_>>>()?
        };
        let d = h.dim(2)?;
        let w = self.tokens.as_tensor().narrow(0, pos * self.k, self.k)?; // [K, d]
        let logits = h.reshape((n, d))?.matmul(&w.t()?)?; // [N, K]
        Ok((candle_nn::ops::log_softmax(&logits, D::Minus1)?, DecodeState { kv, rows: n, len: pos + 1 }))
    }

    /// Teacher-forced log-likelihood `Σ_l log p(c_l | c_<l)` of full codes `[N, L]`; row `r`
    /// uses memory row `r / (N / Bk)`. Returns `[N]`.
    pub fn code_log_likelihood(
        &self,
        codes: &[u32],
        n: usize,
        enc: &Encoded,
        kvs: &[Option<Tensor>],
    ) -> Result<Vec<f32>> {
        self.check_codes(codes, n)?;
        let l = self.len;
        let ids = self.input_ids(codes, n, l - 1);
        let h = self.run(&ids, n, l, enc, kvs, &mut Noise::eval())?; // [N, L, d]
        let logp = candle_nn::ops::log_softmax(&self.level_logits(&h, l)?, D::Minus1)?; // [L, N, K]
        let logp: Vec<f32> = logp.flatten_all()?.to_vec1()?;
        let mut out = vec![0f32; n];
        for (r, o) in out.iter_mut().enumerate() {
            for lv in 0..l {
                *o += logp[(lv * n + r) * self.k + codes[r * l + lv] as usize];
            }
        }
        Ok(out)
    }
}
