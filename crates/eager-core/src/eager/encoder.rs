//! The shared history encoder: item-id embeddings + learned positions → post-LN layers.
//!
//! Histories are right-aligned (left-padded with item 0), so the most recent item always sits
//! at the last position `max_history - 1`; padding is masked out of every attention.
//! Parameters: `encoder.items.weight` `[num_items + 1, d]` (row 0 = padding),
//! `encoder.positions.weight` `[max_history, d]`, `encoder.ln.*`, `encoder.layers.<i>.*`, and for
//! each pretrained input that is on (`pretrainedInputs`, an extension) `encoder.inputs.<stream>.weight`
//! `[e, d]`: the item's L2-normalised pretrained row times that matrix is added to its id embedding.
use std::sync::Arc;

use candle_core::{Device, Tensor, Var};

use super::config::EagerConfig;
use super::gct::Pretrained;
use super::kernels;
use super::layers::{BlockConfig, Memory, Noise, Norm, Stack};
use crate::error::{EagerError, Result};
use crate::nn::ParamStore;
use crate::rng::SeededRng;

/// Output of the encoder for a batch of histories.
pub struct Encoded {
    /// `[B, T, d]`.
    pub states: Tensor,
    /// `[B·T]`, 1 where the position holds a real item.
    pub valid: Arc<Vec<u8>>,
}

impl Encoded {
    /// As cross-attention memory.
    pub fn memory(&self) -> Memory<'_> {
        Memory { states: &self.states, valid: Some(self.valid.clone()) }
    }
}

/// One pretrained embedding table added to the item embeddings through a learned projection.
#[derive(Debug, Clone)]
struct PretrainedInput {
    /// `[num_items + 1, e]` L2-normalised rows, row 0 (padding) zero; constant.
    table: Tensor,
    /// `[e, d]`.
    proj: Var,
}

/// The shared encoder.
#[derive(Debug, Clone)]
pub struct Encoder {
    items: Var,
    inputs: Vec<PretrainedInput>,
    positions: Var,
    ln: Norm,
    layers: Stack,
    num_items: usize,
    max_history: usize,
    dropout: f32,
}

impl Encoder {
    pub fn new(store: &mut ParamStore, cfg: &EagerConfig, num_items: usize, rng: &mut SeededRng) -> Result<Self> {
        let d = cfg.hidden;
        // Row 0 (padding) starts at zero and never receives a gradient (it is always masked).
        let mut init: Vec<f32> = (0..(num_items + 1) * d).map(|_| rng.normal() * cfg.init_std).collect();
        init[..d].iter_mut().for_each(|v| *v = 0.0);
        let items = store.add("encoder.items.weight", Tensor::from_vec(init, (num_items + 1, d), &Device::Cpu)?)?;
        let positions = store.normal("encoder.positions.weight", (cfg.max_history, d), cfg.init_std, rng)?;
        let ln = Norm::new(store, "encoder.ln", d, cfg.layer_norm_eps)?;
        let block = BlockConfig {
            hidden: d,
            heads: cfg.heads,
            ffn: cfg.ffn_dim(),
            dropout: cfg.dropout,
            attention_dropout: cfg.attention_dropout,
            eps: cfg.layer_norm_eps,
            std: cfg.init_std,
            causal: false,
            cross: false,
            single_memory: false,
        };
        let layers = Stack::new(store, "encoder.layers", cfg.encoder_layers, block, rng)?;
        Ok(Encoder {
            items,
            inputs: Vec::new(),
            positions,
            ln,
            layers,
            num_items,
            max_history: cfg.max_history,
            dropout: cfg.dropout,
        })
    }

    /// Adds a pretrained input (`pretrainedInputs.<name>`): parameter `encoder.inputs.<name>.weight`
    /// `[e, d]`, drawn from `rng` with the model's init std, so the projected unit rows start at
    /// the scale of the id embeddings.
    pub fn add_pretrained_input(
        &mut self,
        store: &mut ParamStore,
        name: &str,
        table: &Pretrained,
        init_std: f32,
        rng: &mut SeededRng,
    ) -> Result<()> {
        if table.num_items() != self.num_items {
            return Err(EagerError::invalid(format!(
                "encoder: {name} embeddings have {} rows, numItems is {}",
                table.num_items(),
                self.num_items
            )));
        }
        let (e, d) = (table.dim(), self.items.dims()[1]);
        let pad = Tensor::zeros((1, e), table.unit.dtype(), table.unit.device())?;
        let table = Tensor::cat(&[&pad, &table.unit], 0)?; // [N + 1, e]
        let proj = store.normal(&format!("encoder.inputs.{name}.weight"), (e, d), init_std, rng)?;
        self.inputs.push(PretrainedInput { table, proj });
        Ok(())
    }

    /// Encodes `history` `[B, T]` (row-major item ids, 0 = padding, right-aligned), `T <= max_history`.
    pub fn forward(&self, history: &[u32], b: usize, t: usize, noise: &mut Noise) -> Result<Encoded> {
        if t == 0 || t > self.max_history || history.len() != b * t {
            return Err(EagerError::invalid(format!(
                "encoder: history of {} ids is not [B={b}, T={t}] with 1 <= T <= maxHistory {}",
                history.len(),
                self.max_history
            )));
        }
        if let Some(&bad) = history.iter().find(|&&i| i as usize > self.num_items) {
            return Err(EagerError::invalid(format!("encoder: item id {bad} > numItems {}", self.num_items)));
        }
        let dev = self.items.device();
        let valid: Vec<u8> = history.iter().map(|&i| u8::from(i != 0)).collect();
        let ids = Tensor::from_slice(history, b * t, dev)?;
        let mut x = self.items.as_tensor().index_select(&ids, 0)?; // [B·T, d]
        for input in &self.inputs {
            let rows = input.table.index_select(&ids, 0)?; // [B·T, e]
            x = (x + rows.matmul(input.proj.as_tensor())?)?; // [B·T, d]
        }
        let x = x.reshape((b, t, ()))?; // [B, T, d]
        let pos = self.positions.as_tensor().narrow(0, self.max_history - t, t)?; // [T, d]
        let x = self.ln.forward(&kernels::add_bias(&x, &pos)?)?;
        let x = noise.dropout(&x, self.dropout)?;
        let valid = Arc::new(valid);
        let states = self.layers.forward(&x, Some(valid.clone()), None, noise)?;
        Ok(Encoded { states, valid })
    }
}
