//! The SASRec network: item + position embeddings, causal self-attention layers, tied output.
//!
//! The default layer (post-LN, GELU: RecBole's SASRec) runs on the EAGER model's fused kernels
//! ([`crate::eager::layers::Stack`]: fused attention, layer norm, bias+GELU and dropout with
//! hand-written backward passes), which keep far fewer tensors alive for autograd than the
//! composed layer: one beauty epoch peaks at about a third of the memory and runs faster. Other
//! variants (pre-LN, ReLU) use the composed [`TransformerLayer`].
use std::sync::Arc;

use candle_core::{Device, Tensor};

use crate::eager::layers::{BlockConfig, Noise, Norm, Stack};
use crate::error::{EagerError, Result};
use crate::nn::{
    linear_cross_entropy, masks, Dropout, Embedding, LayerNorm, ParamStore, TransformerLayer, TransformerLayerConfig,
};
use crate::rng::SeededRng;
use crate::sasrec::batch::{TrainBatch, PAD};
use crate::sasrec::config::SasRecConfig;

/// The causal self-attention layers in one of two implementations.
#[derive(Debug, Clone)]
enum Layers {
    /// Post-LN GELU layers on the fused kernels; names `layers.{i}.*` of [`crate::eager::layers::Block`].
    Fused { stack: Stack, norm: Norm },
    /// Any other variant; names `layers.{i}.*` of [`TransformerLayer`].
    Composed { layers: Vec<TransformerLayer>, norm: LayerNorm },
}

/// Parameters: `item_emb.weight [numItems+1, d]` (row 0 = padding), `pos_emb.weight [maxLen, d]`
/// (row 0 = the most recent position), `emb_norm.*` (post-LN) or `final_norm.*` (pre-LN),
/// `layers.{i}.*` (see [`Layers`]). Scores are dot products with the item table (tied).
#[derive(Debug, Clone)]
pub struct SasRecModel {
    cfg: SasRecConfig,
    num_items: usize,
    store: ParamStore,
    item_emb: Embedding,
    pos_emb: Embedding,
    layers: Layers,
    dropout: Dropout,
}

impl SasRecModel {
    /// A freshly initialised model for item ids `1..=num_items`.
    pub fn new(cfg: &SasRecConfig, num_items: usize, device: &Device, rng: &mut SeededRng) -> Result<Self> {
        Self::with_layer_impl(cfg, num_items, device, rng, cfg.uses_fused_layers()?)
    }

    /// Like [`SasRecModel::new`] with the layer implementation chosen by the caller (`fused`
    /// needs post-LN GELU; tests compare the two).
    pub(crate) fn with_layer_impl(
        cfg: &SasRecConfig,
        num_items: usize,
        device: &Device,
        rng: &mut SeededRng,
        fused: bool,
    ) -> Result<Self> {
        cfg.validate()?;
        if fused && !cfg.uses_fused_layers()? {
            return Err(EagerError::invalid("sasrec: the fused layers are post-LN with GELU only"));
        }
        if num_items == 0 {
            return Err(EagerError::invalid("sasrec: numItems must be > 0"));
        }
        let mut store = ParamStore::new(device.clone());
        let d = cfg.hidden;
        let item_emb = Embedding::new(&mut store, "item_emb", num_items + 1, d, cfg.init_std, rng)?;
        let pos_emb = Embedding::new(&mut store, "pos_emb", cfg.max_len, d, cfg.init_std, rng)?;
        let norm_name = if cfg.norm_first { "final_norm" } else { "emb_norm" };
        let layers = if fused {
            let norm = Norm::new(&mut store, norm_name, d, cfg.layer_norm_eps)?;
            let block = BlockConfig {
                hidden: d,
                heads: cfg.heads,
                ffn: cfg.ffn_dim,
                dropout: cfg.dropout,
                attention_dropout: cfg.attn_dropout,
                eps: cfg.layer_norm_eps,
                std: cfg.init_std,
                causal: true,
                cross: false,
                single_memory: false,
            };
            Layers::Fused { stack: Stack::new(&mut store, "layers", cfg.layers, block, rng)?, norm }
        } else {
            Self::composed_layers(cfg, &mut store, norm_name, rng)?
        };
        Ok(SasRecModel {
            cfg: cfg.clone(),
            num_items,
            store,
            item_emb,
            pos_emb,
            layers,
            dropout: Dropout::new(cfg.dropout)?,
        })
    }

    /// The composed reference layers (`nn::TransformerLayer`: any activation, pre- or post-LN).
    fn composed_layers(
        cfg: &SasRecConfig,
        store: &mut ParamStore,
        norm_name: &str,
        rng: &mut SeededRng,
    ) -> Result<Layers> {
        let d = cfg.hidden;
        let norm = LayerNorm::new(store, norm_name, d, cfg.layer_norm_eps)?;
        let layer_cfg = TransformerLayerConfig {
            dim: d,
            heads: cfg.heads,
            ffn_dim: cfg.ffn_dim,
            dropout: cfg.dropout,
            attn_dropout: cfg.attn_dropout,
            activation: cfg.activation_fn()?,
            cross_attention: false,
            causal: true,
            norm_first: cfg.norm_first,
            layer_norm_eps: cfg.layer_norm_eps,
            init_std: cfg.init_std,
        };
        let layers = (0..cfg.layers)
            .map(|i| TransformerLayer::new(store, &format!("layers.{i}"), &layer_cfg, rng))
            .collect::<Result<Vec<_>>>()?;
        Ok(Layers::Composed { layers, norm })
    }

    /// The configuration.
    pub fn config(&self) -> &SasRecConfig {
        &self.cfg
    }

    /// Number of items (without padding).
    pub fn num_items(&self) -> usize {
        self.num_items
    }

    /// The parameters.
    pub fn store(&self) -> &ParamStore {
        &self.store
    }

    /// Item table without the padding row `[numItems, d]` (row r = item id r+1).
    pub fn item_table(&self) -> Result<Tensor> {
        Ok(self.item_emb.weight().narrow(0, 1, self.num_items)?)
    }

    /// Hidden states `[B, T, d]` of left-padded ids `[B, T]` (row-major).
    pub fn hidden(&self, ids: &[u32], b: usize, t: usize, train: bool, rng: &mut SeededRng) -> Result<Tensor> {
        let dev = self.store.device();
        if t > self.cfg.max_len {
            return Err(EagerError::invalid(format!("sasrec: batch length {t} exceeds maxLen {}", self.cfg.max_len)));
        }
        let ids_t = Tensor::from_slice(ids, (b, t), dev)?;
        // Position index counts back from the most recent item, so trimming T never shifts it.
        let pos_ids: Vec<u32> = (0..t as u32).rev().collect();
        let pos = self.pos_emb.forward(&Tensor::from_vec(pos_ids, t, dev)?)?; // [T, d]
        let x = self.item_emb.forward(&ids_t)?.broadcast_add(&pos)?; // [B, T, d]
        match &self.layers {
            Layers::Fused { stack, norm } => {
                let x = self.dropout.forward(&norm.forward(&x)?, train, rng)?;
                let valid: Vec<u8> = ids.iter().map(|&i| u8::from(i != PAD)).collect(); // [B·T]
                let mut noise = if train { Noise::train(rng) } else { Noise::eval() };
                stack.forward(&x, Some(Arc::new(valid)), None, &mut noise) // [B, T, d]
            }
            Layers::Composed { layers, norm } => {
                let mut x = x;
                if !self.cfg.norm_first {
                    x = norm.forward(&x)?;
                }
                x = self.dropout.forward(&x, train, rng)?;
                let pad = masks::key_padding_mask_from_ids(ids, b, t, PAD, dev)?; // [B, 1, 1, T]
                for layer in layers {
                    x = layer.forward(&x, Some(&pad), None, train, rng)?;
                }
                if self.cfg.norm_first {
                    x = norm.forward(&x)?;
                }
                Ok(x)
            }
        }
    }

    /// Mean full-softmax cross-entropy over every real position of the batch (next-item targets).
    pub fn loss(&self, batch: &TrainBatch, train: bool, rng: &mut SeededRng) -> Result<Tensor> {
        if batch.positions.is_empty() {
            return Err(EagerError::invalid("sasrec: batch without targets"));
        }
        let dev = self.store.device();
        let h = self.hidden(&batch.ids, batch.b, batch.t, train, rng)?; // [B, T, d]
        let h = h.reshape((batch.b * batch.t, self.cfg.hidden))?; // [B*T, d]
        let idx = Tensor::from_slice(&batch.positions, batch.positions.len(), dev)?;
        let h = h.index_select(&idx, 0)?; // [N, d]
                                          // Full softmax over the catalogue without materialising the [N, numItems] logits.
        linear_cross_entropy(&h, &self.item_table()?, &batch.targets)
    }

    /// Scores of every item `[B, numItems]` after left-padded histories `[B, T]` (evaluation mode).
    pub fn scores(&self, ids: &[u32], b: usize, t: usize) -> Result<Tensor> {
        let mut rng = SeededRng::new(0); // unused in evaluation mode
        let h = self.hidden(ids, b, t, false, &mut rng)?; // [B, T, d]
        let last = h.narrow(1, t - 1, 1)?.squeeze(1)?; // [B, d]
        Ok(last.matmul(&self.item_table()?.t()?)?) // [B, numItems]
    }
}
