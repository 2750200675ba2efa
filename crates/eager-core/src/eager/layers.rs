//! The transformer pieces of the EAGER model, built on the fused kernels in [`super::kernels`].
//!
//! Post-LN (BERT) layers: `x = LN(x + drop(attn(x)))`, optional cross-attention sub-layer,
//! `x = LN(x + drop(W2 gelu(W1 x + b1) + b2))`. Parameter names (relative to the layer prefix):
//!
//! | name | shape |
//! |---|---|
//! | `self_attn.qkv.weight` / `.bias` | `[3d, d]` / `[3d]` (q, k, v stacked) |
//! | `self_attn.out.weight` / `.bias` | `[d, d]` / `[d]` |
//! | `self_attn.ln.weight` / `.bias` | `[d]` |
//! | `cross_attn.q.weight` / `.bias` | `[d, d]` / `[d]` (decoders only) |
//! | `cross_attn.kv.weight` / `.bias` | `[2d, d]` / `[2d]` (k, v stacked) |
//! | `cross_attn.v.weight` / `.bias` | `[d, d]` / `[d]` (single-token memory: no q, k) |
//! | `cross_attn.out.weight` / `.bias`, `cross_attn.ln.*` | `[d, d]`, `[d]` |
//! | `ffn.fc1.weight` / `.bias` | `[ffn, d]` / `[ffn]` |
//! | `ffn.fc2.weight` / `.bias` | `[d, ffn]` / `[d]` |
//! | `ffn.ln.weight` / `.bias` | `[d]` |
use std::sync::Arc;

use candle_core::{Tensor, Var};

use super::kernels::{self, AttentionSpec};
use crate::error::Result;
use crate::nn::{join, ParamStore};
use crate::rng::SeededRng;

/// `y = x Wᵀ + b` over the last dimension; `W` `[out, in]` (PyTorch layout).
#[derive(Debug, Clone)]
pub struct Dense {
    weight: Var,
    bias: Option<Var>,
}

impl Dense {
    /// Weight ~ N(0, std²), bias zero.
    pub fn new(
        store: &mut ParamStore,
        prefix: &str,
        d_in: usize,
        d_out: usize,
        bias: bool,
        std: f32,
        rng: &mut SeededRng,
    ) -> Result<Self> {
        let weight = store.normal(&join(prefix, "weight"), (d_out, d_in), std, rng)?;
        let bias = if bias { Some(store.zeros(&join(prefix, "bias"), d_out)?) } else { None };
        Ok(Dense { weight, bias })
    }

    /// The weight `[out, in]`.
    pub fn weight(&self) -> &Tensor {
        self.weight.as_tensor()
    }

    /// The bias `[out]`, if any.
    pub fn bias(&self) -> Option<&Tensor> {
        self.bias.as_ref().map(|b| b.as_tensor())
    }

    /// `x` `[..., in]` → `[..., out]` (one flattened matmul).
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let y = self.forward_no_bias(x)?;
        Ok(match &self.bias {
            Some(b) => kernels::add_bias(&y, b.as_tensor())?,
            None => y,
        })
    }

    /// `x Wᵀ` without the bias (for kernels that fuse the bias).
    pub fn forward_no_bias(&self, x: &Tensor) -> Result<Tensor> {
        let dims = x.dims();
        let d_in = dims[dims.len() - 1];
        let rows = x.elem_count() / d_in.max(1);
        let w = self.weight.as_tensor();
        let y = x.reshape((rows, d_in))?.matmul(&w.t()?)?; // [N, out]
        let mut out = dims.to_vec();
        let last = out.len() - 1;
        out[last] = w.dim(0)?;
        Ok(y.reshape(out)?)
    }
}

/// Learnable layer-norm scale and shift (`weight` ones, `bias` zeros).
#[derive(Debug, Clone)]
pub struct Norm {
    gamma: Var,
    beta: Var,
    eps: f64,
}

impl Norm {
    pub fn new(store: &mut ParamStore, prefix: &str, d: usize, eps: f64) -> Result<Self> {
        Ok(Norm { gamma: store.ones(&join(prefix, "weight"), d)?, beta: store.zeros(&join(prefix, "bias"), d)?, eps })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(kernels::layer_norm(x, self.gamma.as_tensor(), self.beta.as_tensor(), self.eps)?)
    }
}

/// Shapes and rates of one [`Block`].
#[derive(Debug, Clone, Copy)]
pub struct BlockConfig {
    pub hidden: usize,
    pub heads: usize,
    pub ffn: usize,
    pub dropout: f32,
    pub attention_dropout: f32,
    pub eps: f64,
    pub std: f32,
    /// Causal self-attention (code decoders) or bidirectional (encoder, STT decoder).
    pub causal: bool,
    /// Has a cross-attention sub-layer.
    pub cross: bool,
    /// The cross-attention memory is always one token: attention to it is the identity, so
    /// the sub-layer is `out(v(memory))` without q/k projections (which would get no gradient).
    pub single_memory: bool,
}

/// The cross-attention sub-layer's parameters.
#[derive(Debug, Clone)]
enum Cross {
    Full { q: Dense, kv: Dense, out: Dense, ln: Norm },
    Single { v: Dense, out: Dense, ln: Norm },
}

/// Keys/values of a cross-attention memory, projected once per layer: `[Bk, Tk, 2d]`.
pub struct Memory<'a> {
    /// Encoder output `[Bk, Tk, d]`.
    pub states: &'a Tensor,
    /// Validity of each memory position `[Bk·Tk]` (1 = real item), `None` = all valid.
    pub valid: Option<Arc<Vec<u8>>>,
}

/// Dropout seeds of one forward pass (drawn from the step's generator; `None` = eval mode).
pub struct Noise<'a> {
    rng: Option<&'a mut SeededRng>,
}

impl<'a> Noise<'a> {
    /// Training mode: masks drawn from `rng`.
    pub fn train(rng: &'a mut SeededRng) -> Self {
        Noise { rng: Some(rng) }
    }

    /// Evaluation / inference mode: no dropout, and the feed-forward blocks run the blocked
    /// inference kernel, which records no gradient (use `train` for anything that backpropagates).
    pub fn eval() -> Self {
        Noise { rng: None }
    }

    /// True in training mode.
    pub fn training(&self) -> bool {
        self.rng.is_some()
    }

    /// A fresh seed (0 in eval mode, where it is unused).
    pub fn seed(&mut self) -> u64 {
        self.rng.as_mut().map_or(0, |r| r.next_u64())
    }

    /// Dropout with probability `p` in training mode, identity otherwise.
    pub fn dropout(&mut self, x: &Tensor, p: f32) -> Result<Tensor> {
        if !self.training() || p <= 0.0 {
            return Ok(x.clone());
        }
        let seed = self.seed();
        Ok(kernels::dropout(x, p, seed)?)
    }

    /// Attention-probability dropout rate to use (0 in eval mode).
    pub fn rate(&self, p: f32) -> f32 {
        if self.training() {
            p
        } else {
            0.0
        }
    }

    /// The generator (training mode only).
    pub fn rng(&mut self) -> Option<&mut SeededRng> {
        self.rng.as_deref_mut()
    }
}

/// One post-LN transformer layer.
#[derive(Debug, Clone)]
pub struct Block {
    cfg: BlockConfig,
    qkv: Dense,
    self_out: Dense,
    self_ln: Norm,
    cross: Option<Cross>,
    fc1: Dense,
    fc2: Dense,
    ffn_ln: Norm,
}

impl Block {
    pub fn new(store: &mut ParamStore, prefix: &str, cfg: BlockConfig, rng: &mut SeededRng) -> Result<Self> {
        let (d, s) = (cfg.hidden, cfg.std);
        let sa = join(prefix, "self_attn");
        let qkv = Dense::new(store, &join(&sa, "qkv"), d, 3 * d, true, s, rng)?;
        let self_out = Dense::new(store, &join(&sa, "out"), d, d, true, s, rng)?;
        let self_ln = Norm::new(store, &join(&sa, "ln"), d, cfg.eps)?;
        let cross = if cfg.cross {
            let ca = join(prefix, "cross_attn");
            Some(if cfg.single_memory {
                Cross::Single {
                    v: Dense::new(store, &join(&ca, "v"), d, d, true, s, rng)?,
                    out: Dense::new(store, &join(&ca, "out"), d, d, true, s, rng)?,
                    ln: Norm::new(store, &join(&ca, "ln"), d, cfg.eps)?,
                }
            } else {
                Cross::Full {
                    q: Dense::new(store, &join(&ca, "q"), d, d, true, s, rng)?,
                    kv: Dense::new(store, &join(&ca, "kv"), d, 2 * d, true, s, rng)?,
                    out: Dense::new(store, &join(&ca, "out"), d, d, true, s, rng)?,
                    ln: Norm::new(store, &join(&ca, "ln"), d, cfg.eps)?,
                }
            })
        } else {
            None
        };
        let ff = join(prefix, "ffn");
        let fc1 = Dense::new(store, &join(&ff, "fc1"), d, cfg.ffn, true, s, rng)?;
        let fc2 = Dense::new(store, &join(&ff, "fc2"), cfg.ffn, d, true, s, rng)?;
        let ffn_ln = Norm::new(store, &join(&ff, "ln"), d, cfg.eps)?;
        Ok(Block { cfg, qkv, self_out, self_ln, cross, fc1, fc2, ffn_ln })
    }

    /// Projects a memory to this layer's cross-attention keys/values `[Bk, Tk, 2d]`
    /// (single-token memory: the values `[Bk, 1, d]`).
    pub fn memory_kv(&self, mem: &Memory) -> Result<Option<Tensor>> {
        match &self.cross {
            Some(Cross::Full { kv, .. }) => Ok(Some(kv.forward(mem.states)?)),
            Some(Cross::Single { v, .. }) => Ok(Some(v.forward(mem.states)?)),
            None => Ok(None),
        }
    }

    /// `x` `[B, T, d]`; `self_valid`: key validity of `x` `[B·T]`; `mem`: memory with its
    /// projected keys/values (from [`Block::memory_kv`]; `Bq` may be a multiple of `Bk`).
    pub fn forward(
        &self,
        x: &Tensor,
        self_valid: Option<Arc<Vec<u8>>>,
        mem: Option<(&Memory, &Tensor)>,
        noise: &mut Noise,
    ) -> Result<Tensor> {
        let c = &self.cfg;
        // Rows holding real items, when at least a quarter of the rows are padding.
        let real: Option<Vec<u32>> = self_valid.as_ref().and_then(|v| {
            let rows: Vec<u32> = v.iter().enumerate().filter(|(_, &m)| m != 0).map(|(i, _)| i as u32).collect();
            (!rows.is_empty() && rows.len() * 4 <= v.len() * 3).then_some(rows)
        });
        // self-attention
        let qkv = self.qkv.forward(x)?; // [B, T, 3d]
        let spec = AttentionSpec {
            heads: c.heads,
            causal: c.causal,
            key_valid: self_valid,
            dropout: noise.rate(c.attention_dropout),
            seed: noise.seed(),
        };
        let a = kernels::self_attention(&qkv, &spec)?; // [B, T, d]
        let a = noise.dropout(&self.self_out.forward(&a)?, c.dropout)?;
        let x = self.self_ln.forward(&(x + a)?)?;
        let x = self.cross_attention(x, mem, noise)?;
        self.feed_forward(x, real, noise)
    }

    /// Cross-attention sub-layer `LN(x + drop(attn(x, memory)))` (identity without memory).
    fn cross_attention(&self, x: Tensor, mem: Option<(&Memory, &Tensor)>, noise: &mut Noise) -> Result<Tensor> {
        let c = &self.cfg;
        let mut x = x;
        match (&self.cross, mem) {
            (Some(Cross::Full { q, out, ln, .. }), Some((m, kv))) => {
                let spec = AttentionSpec {
                    heads: c.heads,
                    causal: false,
                    key_valid: m.valid.clone(),
                    dropout: noise.rate(c.attention_dropout),
                    seed: noise.seed(),
                };
                let a = kernels::cross_attention(&q.forward(&x)?, kv, &spec)?; // [Bq, Tq, d]
                let a = noise.dropout(&out.forward(&a)?, c.dropout)?;
                x = ln.forward(&(x + a)?)?;
            }
            (Some(Cross::Single { out, ln, .. }), Some((_, v))) => {
                let (bq, tq, d) = x.dims3()?;
                let bk = v.dim(0)?;
                let a = out.forward(v)?; // [Bk, 1, d]: every query of memory row b gets it
                let a = a.broadcast_as((bk, bq / bk * tq, d))?.reshape((bq, tq, d))?;
                let a = noise.dropout(&a, c.dropout)?;
                x = ln.forward(&(x + a)?)?;
            }
            _ => {}
        }
        Ok(x)
    }

    /// One incremental decoding step (inference, causal self-attention): `x` `[N, 1, d]` is the
    /// newest position of each row, `past` `[N, t, 2d]` the keys | values of the row's earlier
    /// positions (`None` at the first position). Returns the output `[N, 1, d]` and this
    /// position's keys | values `[N, 1, 2d]` for the next step. Equal to [`Block::forward`] on
    /// the whole prefix, read at its last position, with t + 1 times less work.
    pub fn step(&self, x: &Tensor, past: Option<&Tensor>, mem: Option<(&Memory, &Tensor)>) -> Result<(Tensor, Tensor)> {
        let c = &self.cfg;
        let d = c.hidden;
        let mut noise = Noise::eval();
        let qkv = self.qkv.forward(x)?; // [N, 1, 3d]
        let q = qkv.narrow(2, 0, d)?; // [N, 1, d]
        let kv_new = qkv.narrow(2, d, 2 * d)?.contiguous()?; // [N, 1, 2d]
        let kv = match past {
            Some(p) => Tensor::cat(&[p, &kv_new], 1)?, // [N, t + 1, 2d]
            None => kv_new.clone(),
        };
        let spec = AttentionSpec { heads: c.heads, causal: false, key_valid: None, dropout: 0.0, seed: 0 };
        let a = kernels::cross_attention(&q, &kv, &spec)?; // [N, 1, d]
        let a = self.self_out.forward(&a)?;
        let x = self.self_ln.forward(&(x + a)?)?;
        let x = self.cross_attention(x, mem, &mut noise)?;
        Ok((self.feed_forward(x, None, &mut noise)?, kv_new))
    }

    /// Feed-forward sub-layer `LN(x + drop(W2 gelu(W1 x + b1) + b2))`; with `real_rows`, only
    /// those rows of `[B·T]` run (padding rows are never read again). Inference uses the
    /// blocked kernel that keeps no intermediate.
    fn feed_forward(&self, x: Tensor, real_rows: Option<Vec<u32>>, noise: &mut Noise) -> Result<Tensor> {
        let c = &self.cfg;
        let b1 = self.fc1.bias().ok_or_else(|| crate::EagerError::invalid("ffn.fc1 without bias"))?;
        let b2 = self.fc2.bias().ok_or_else(|| crate::EagerError::invalid("ffn.fc2 without bias"))?;
        let ffn = if noise.training() { kernels::feed_forward } else { kernels::feed_forward_eval };
        let h = match real_rows {
            // Padded positions are never read again (masked as keys, their outputs unused), so
            // the FFN, the widest part of the layer, runs on the real rows only.
            Some(rows) => {
                let (b, t, d) = x.dims3()?;
                let n_real = rows.len();
                let idx = Tensor::from_vec(rows, n_real, x.device())?;
                let xr = x.reshape((b * t, d))?.index_select(&idx, 0)?; // [N_real, d]
                let hr = ffn(&xr, self.fc1.weight(), b1, self.fc2.weight())?;
                let hr = noise.dropout(&kernels::add_bias(&hr, b2)?, c.dropout)?;
                x.zeros_like()?.reshape((b * t, d))?.index_add(&idx, &hr, 0)?.reshape((b, t, d))?
            }
            None => {
                let h = ffn(&x, self.fc1.weight(), b1, self.fc2.weight())?; // [B, T, d]
                noise.dropout(&kernels::add_bias(&h, b2)?, c.dropout)?
            }
        };
        self.ffn_ln.forward(&(x + h)?)
    }
}

/// A stack of [`Block`]s sharing one memory.
#[derive(Debug, Clone)]
pub struct Stack {
    blocks: Vec<Block>,
}

impl Stack {
    /// `n` layers named `<prefix>.<i>`.
    pub fn new(store: &mut ParamStore, prefix: &str, n: usize, cfg: BlockConfig, rng: &mut SeededRng) -> Result<Self> {
        let blocks =
            (0..n).map(|i| Block::new(store, &join(prefix, &i.to_string()), cfg, rng)).collect::<Result<Vec<_>>>()?;
        Ok(Stack { blocks })
    }

    /// Cross-attention keys/values of every layer (computed once, reused across decode steps).
    pub fn memory_kvs(&self, mem: &Memory) -> Result<Vec<Option<Tensor>>> {
        self.blocks.iter().map(|b| b.memory_kv(mem)).collect()
    }

    /// One incremental decoding step through every block (see [`Block::step`]): `past[i]` is
    /// block `i`'s keys | values `[N, t, 2d]` of the earlier positions (empty at the first
    /// position). Returns the output `[N, 1, d]` and each block's keys | values `[N, 1, 2d]` of
    /// this position.
    pub fn step(
        &self,
        x: &Tensor,
        past: &[Tensor],
        mem: Option<(&Memory, &[Option<Tensor>])>,
    ) -> Result<(Tensor, Vec<Tensor>)> {
        let mut h = x.clone();
        let mut kvs = Vec::with_capacity(self.blocks.len());
        for (i, b) in self.blocks.iter().enumerate() {
            let m = match mem {
                Some((m, kv)) => kv.get(i).and_then(|k| k.as_ref()).map(|kv| (m, kv)),
                None => None,
            };
            let (out, kv) = b.step(&h, past.get(i), m)?;
            h = out;
            kvs.push(kv);
        }
        Ok((h, kvs))
    }

    /// Runs every layer. `kvs` from [`Stack::memory_kvs`] when the blocks have cross-attention.
    pub fn forward(
        &self,
        x: &Tensor,
        self_valid: Option<Arc<Vec<u8>>>,
        mem: Option<(&Memory, &[Option<Tensor>])>,
        noise: &mut Noise,
    ) -> Result<Tensor> {
        let mut h = x.clone();
        for (i, b) in self.blocks.iter().enumerate() {
            let m = match mem {
                Some((m, kvs)) => kvs.get(i).and_then(|k| k.as_ref()).map(|kv| (m, kv)),
                None => None,
            };
            h = b.forward(&h, self_valid.clone(), m, noise)?;
        }
        Ok(h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    /// A causal decoder block with cross-attention over a padded memory, against PyTorch
    /// (float64). Reference (torch 1.13, `/usr/bin/python3`):
    /// ```python
    /// import math, torch
    /// shapes = [(12,4),(12,),(4,4),(4,),(4,),(4,),(4,4),(4,),(8,4),(8,),(4,4),(4,),(4,),(4,),(6,4),(6,),(4,6),(4,),(4,),(4,)]
    /// P = []
    /// for p, s in enumerate(shapes):
    ///     n = math.prod(s)
    ///     P.append(torch.tensor([0.3*math.sin(0.7*(e+1)+1.3*(p+1)) for e in range(n)], dtype=torch.float64).reshape(s))
    /// B, T, S, D, H = 2, 3, 4, 4, 2
    /// x = torch.tensor([[[math.cos(0.5*(b*12+t*4+c)) for c in range(D)] for t in range(T)] for b in range(B)], dtype=torch.float64)
    /// mem = torch.tensor([[[math.sin(0.3*(b*16+j*4+c)+0.1) for c in range(D)] for j in range(S)] for b in range(B)], dtype=torch.float64)
    /// valid = torch.tensor([[1,1,1,1],[0,1,1,1]], dtype=torch.bool)
    /// lin = lambda x, W, b: x @ W.T + b
    /// def ln(x, g, b, eps=1e-5):
    ///     mu = x.mean(-1, keepdim=True); var = ((x-mu)**2).mean(-1, keepdim=True)
    ///     return (x-mu)/torch.sqrt(var+eps)*g + b
    /// def attn(q, k, v, add):
    ///     dh = D//H
    ///     sp = lambda t: t.reshape(t.shape[0], t.shape[1], H, dh).transpose(1, 2)
    ///     s = sp(q) @ sp(k).transpose(-1, -2) / math.sqrt(dh) + add
    ///     return (s.softmax(-1) @ sp(v)).transpose(1, 2).reshape(q.shape[0], q.shape[1], D)
    /// causal = torch.triu(torch.full((T, T), float('-inf'), dtype=torch.float64), 1)
    /// q, k, v = lin(x, P[0], P[1]).split(D, -1)
    /// h = ln(x + lin(attn(q, k, v, causal), P[2], P[3]), P[4], P[5])
    /// q = lin(h, P[6], P[7]); k, v = lin(mem, P[8], P[9]).split(D, -1)
    /// pad = torch.where(valid, 0.0, float('-inf')).to(torch.float64)[:, None, None, :]
    /// h = ln(h + lin(attn(q, k, v, pad), P[10], P[11]), P[12], P[13])
    /// f = lin(torch.nn.functional.gelu(lin(h, P[14], P[15])), P[16], P[17])
    /// h = ln(h + f, P[18], P[19])
    /// print([round(v, 6) for v in h.flatten().tolist()])
    /// ```
    #[test]
    fn decoder_block_matches_pytorch() -> Result<()> {
        const WANT: [f32; 24] = [
            0.168965, 0.252655, 0.245888, 0.041098, 0.164696, 0.326198, 0.196239, 0.024821, 0.197419, 0.159912,
            0.077096, 0.163101, 0.183625, 0.145347, 0.262048, 0.082063, 0.167954, 0.276558, 0.208305, 0.049878,
            0.206884, 0.118914, 0.073856, 0.175134,
        ];
        let dev = Device::Cpu;
        let mut store = ParamStore::new(dev.clone());
        let cfg = BlockConfig {
            hidden: 4,
            heads: 2,
            ffn: 6,
            dropout: 0.0,
            attention_dropout: 0.0,
            eps: 1e-5,
            std: 0.02,
            causal: true,
            cross: true,
            single_memory: false,
        };
        let block = Block::new(&mut store, "b", cfg, &mut SeededRng::new(0))?;
        assert_eq!(store.len(), 20);
        for (p, (_, var)) in store.iter().enumerate() {
            let vals: Vec<f32> = (0..var.elem_count())
                .map(|e| 0.3 * (0.7 * (e as f64 + 1.0) + 1.3 * (p as f64 + 1.0)).sin() as f32)
                .collect();
            var.set(&Tensor::from_vec(vals, var.shape(), &dev)?)?;
        }
        let x: Vec<f32> = (0..2 * 3 * 4)
            .map(|i| {
                let (b, t, c) = (i / 12, i / 4 % 3, i % 4);
                (0.5 * (b * 12 + t * 4 + c) as f64).cos() as f32
            })
            .collect();
        let mem: Vec<f32> = (0..2 * 4 * 4)
            .map(|i| {
                let (b, j, c) = (i / 16, i / 4 % 4, i % 4);
                (0.3 * (b * 16 + j * 4 + c) as f64 + 0.1).sin() as f32
            })
            .collect();
        let x = Tensor::from_vec(x, (2, 3, 4), &dev)?;
        let states = Tensor::from_vec(mem, (2, 4, 4), &dev)?;
        let m = Memory { states: &states, valid: Some(Arc::new(vec![1, 1, 1, 1, 0, 1, 1, 1])) };
        let kv = block.memory_kv(&m)?.ok_or_else(|| crate::EagerError::invalid("no kv"))?;
        let y: Vec<f32> = block.forward(&x, None, Some((&m, &kv)), &mut Noise::eval())?.flatten_all()?.to_vec1()?;
        for (i, (a, b)) in y.iter().zip(WANT).enumerate() {
            assert!((a - b).abs() < 2e-5, "element {i}: {a} vs torch {b}");
        }
        Ok(())
    }
}
