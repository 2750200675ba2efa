//! Binding for `eager_core::sasrec`: the SASRec baseline / behaviour-embedding model.
//! Conversion and threading only.
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use eager_core::sasrec as core;
use eager_core::EagerError;
use napi::bindgen_prelude::{AsyncTask, Float32Array, Uint32Array};
use napi::{Env, Task};
use napi_derive::napi;

use crate::error::IntoNapi;

/// SASRec hyper-parameters (all required here; the TS layer fills defaults with zod).
#[napi(object)]
pub struct SasRecOptions {
    /// Embedding / hidden width.
    pub hidden: u32,
    /// Causal self-attention layers.
    pub layers: u32,
    /// Attention heads (`hidden % heads == 0`).
    pub heads: u32,
    /// Feed-forward width.
    pub ffn_dim: u32,
    /// Dropout on embeddings and sub-block outputs, in [0, 1).
    pub dropout: f64,
    /// Dropout on attention probabilities, in [0, 1).
    pub attn_dropout: f64,
    /// Longest history read by the model.
    pub max_len: u32,
    /// `gelu` or `relu`.
    pub activation: String,
    /// Pre-LN (original SASRec) instead of post-LN (BERT/RecBole).
    pub norm_first: bool,
    /// LayerNorm epsilon.
    pub layer_norm_eps: f64,
    /// Std of the normal weight init.
    pub init_std: f64,
    /// Adam learning rate.
    pub lr: f64,
    /// Decoupled weight decay (0 = plain Adam).
    pub weight_decay: f64,
    /// `cpu` (default), `cuda` or `cuda:N` (needs a CUDA build of the addon).
    pub device: Option<String>,
}

impl From<&SasRecOptions> for core::SasRecConfig {
    fn from(o: &SasRecOptions) -> Self {
        core::SasRecConfig {
            hidden: o.hidden as usize,
            layers: o.layers as usize,
            heads: o.heads as usize,
            ffn_dim: o.ffn_dim as usize,
            dropout: o.dropout as f32,
            attn_dropout: o.attn_dropout as f32,
            max_len: o.max_len as usize,
            activation: o.activation.clone(),
            norm_first: o.norm_first,
            layer_norm_eps: o.layer_norm_eps,
            init_std: o.init_std as f32,
            lr: o.lr,
            weight_decay: o.weight_decay,
        }
    }
}

/// SASRec model + optimiser. Sequences cross the boundary as a flat `Uint32Array` of item ids
/// plus `offsets` (`users + 1` entries; user u is `items[offsets[u]..offsets[u+1]]`).
#[napi]
pub struct SasRec {
    inner: Arc<Mutex<core::SasRec>>,
    num_items: u32,
    hidden: u32,
}

fn sequences(items: &[u32], offsets: &[u32], num_items: u32) -> napi::Result<core::Sequences> {
    let offs: Vec<usize> = offsets.iter().map(|&o| o as usize).collect();
    core::Sequences::new(items.to_vec(), offs, num_items as usize).napi()
}

fn lock(m: &Mutex<core::SasRec>) -> napi::Result<std::sync::MutexGuard<'_, core::SasRec>> {
    m.lock().map_err(|_| EagerError::invalid("sasrec: model poisoned by an earlier panic")).napi()
}

#[napi]
impl SasRec {
    /// A fresh model for item ids `1..=numItems`, initialised from `seed`.
    #[napi(constructor, catch_unwind)]
    pub fn new(config: SasRecOptions, num_items: u32, seed: u32) -> napi::Result<Self> {
        let cfg = core::SasRecConfig::from(&config);
        let device = config.device.as_deref().unwrap_or("cpu");
        let m = core::SasRec::on_named_device(&cfg, num_items as usize, seed as u64, device).napi()?;
        Ok(SasRec { inner: Arc::new(Mutex::new(m)), num_items, hidden: config.hidden })
    }

    /// Number of items (ids `1..=numItems`).
    #[napi(getter)]
    pub fn num_items(&self) -> u32 {
        self.num_items
    }

    /// Embedding width.
    #[napi(getter)]
    pub fn hidden(&self) -> u32 {
        self.hidden
    }

    /// Epochs trained so far.
    #[napi(getter, catch_unwind)]
    pub fn epochs(&self) -> napi::Result<u32> {
        Ok(lock(&self.inner)?.epochs() as u32)
    }

    /// One epoch over the training parts on the calling thread; returns the mean loss.
    #[napi(catch_unwind)]
    pub fn train_epoch_sync(&self, items: Uint32Array, offsets: Uint32Array, batch_size: u32) -> napi::Result<f64> {
        let seqs = sequences(&items, &offsets, self.num_items)?;
        lock(&self.inner)?.train_epoch(&seqs, batch_size as usize, &mut |_| {}).napi()
    }

    /// One epoch on a worker thread; resolves to the mean loss.
    #[napi(catch_unwind, ts_return_type = "Promise<number>")]
    pub fn train_epoch(
        &self,
        items: Uint32Array,
        offsets: Uint32Array,
        batch_size: u32,
    ) -> napi::Result<AsyncTask<TrainEpochTask>> {
        let seqs = sequences(&items, &offsets, self.num_items)?;
        Ok(AsyncTask::new(TrainEpochTask { model: Arc::clone(&self.inner), seqs, batch_size: batch_size as usize }))
    }

    /// Top-`k` item ids per history, row-major `[users, k]`, best first (0 pads rows with too few
    /// candidates). With `excludeHistory` a history's own items are never returned.
    #[napi(catch_unwind)]
    pub fn top_k_sync(
        &self,
        items: Uint32Array,
        offsets: Uint32Array,
        k: u32,
        exclude_history: bool,
    ) -> napi::Result<Uint32Array> {
        let seqs = sequences(&items, &offsets, self.num_items)?;
        Ok(Uint32Array::from(lock(&self.inner)?.top_k(&seqs, k as usize, exclude_history).napi()?))
    }

    /// `topKSync` on a worker thread.
    #[napi(catch_unwind, ts_return_type = "Promise<Uint32Array>")]
    pub fn top_k(
        &self,
        items: Uint32Array,
        offsets: Uint32Array,
        k: u32,
        exclude_history: bool,
    ) -> napi::Result<AsyncTask<TopKTask>> {
        let seqs = sequences(&items, &offsets, self.num_items)?;
        Ok(AsyncTask::new(TopKTask { model: Arc::clone(&self.inner), seqs, k: k as usize, exclude_history }))
    }

    /// Top-`k` lists in both ranking modes from one scoring pass, on a worker thread: resolves to
    /// `[2, users, k]` row-major (first every full-catalogue list, then every history-excluded one).
    #[napi(catch_unwind, ts_return_type = "Promise<Uint32Array>")]
    pub fn top_k_both_modes(
        &self,
        items: Uint32Array,
        offsets: Uint32Array,
        k: u32,
    ) -> napi::Result<AsyncTask<TopKBothTask>> {
        let seqs = sequences(&items, &offsets, self.num_items)?;
        Ok(AsyncTask::new(TopKBothTask { model: Arc::clone(&self.inner), seqs, k: k as usize }))
    }

    /// Scores of every item per history, row-major `[users, numItems]` (column c = item id c+1).
    #[napi(catch_unwind)]
    pub fn scores_sync(&self, items: Uint32Array, offsets: Uint32Array) -> napi::Result<Float32Array> {
        let seqs = sequences(&items, &offsets, self.num_items)?;
        Ok(Float32Array::from(lock(&self.inner)?.scores(&seqs).napi()?))
    }

    /// Item embedding table `E^b`, row-major `[numItems, hidden]` (row r = item id r+1).
    #[napi(catch_unwind)]
    pub fn embeddings(&self) -> napi::Result<Float32Array> {
        Ok(Float32Array::from(lock(&self.inner)?.embeddings().napi()?))
    }

    /// Writes the weights as safetensors (atomic).
    #[napi(catch_unwind)]
    pub fn save(&self, path: String) -> napi::Result<()> {
        lock(&self.inner)?.save(&PathBuf::from(path)).napi()
    }

    /// Loads weights saved by a model of the same config and item count.
    #[napi(catch_unwind)]
    pub fn load(&self, path: String) -> napi::Result<()> {
        lock(&self.inner)?.load(&PathBuf::from(path)).napi()
    }
}

/// Background job of `SasRec.trainEpoch`.
pub struct TrainEpochTask {
    model: Arc<Mutex<core::SasRec>>,
    seqs: core::Sequences,
    batch_size: usize,
}

impl Task for TrainEpochTask {
    type Output = f64;
    type JsValue = f64;

    fn compute(&mut self) -> napi::Result<f64> {
        crate::error::guard(|| lock(&self.model)?.train_epoch(&self.seqs, self.batch_size, &mut |_| {}).napi())
    }

    fn resolve(&mut self, _env: Env, output: f64) -> napi::Result<f64> {
        Ok(output)
    }
}

/// Background job of `SasRec.topK`.
pub struct TopKTask {
    model: Arc<Mutex<core::SasRec>>,
    seqs: core::Sequences,
    k: usize,
    exclude_history: bool,
}

impl Task for TopKTask {
    type Output = Vec<u32>;
    type JsValue = Uint32Array;

    fn compute(&mut self) -> napi::Result<Vec<u32>> {
        crate::error::guard(|| lock(&self.model)?.top_k(&self.seqs, self.k, self.exclude_history).napi())
    }

    fn resolve(&mut self, _env: Env, output: Vec<u32>) -> napi::Result<Uint32Array> {
        Ok(Uint32Array::from(output))
    }
}

/// Background job of `SasRec.topKBothModes`.
pub struct TopKBothTask {
    model: Arc<Mutex<core::SasRec>>,
    seqs: core::Sequences,
    k: usize,
}

impl Task for TopKBothTask {
    type Output = Vec<u32>;
    type JsValue = Uint32Array;

    fn compute(&mut self) -> napi::Result<Vec<u32>> {
        crate::error::guard(|| {
            let (mut full, excl) = lock(&self.model)?.top_k_both(&self.seqs, self.k).napi()?;
            full.extend(excl);
            Ok(full)
        })
    }

    fn resolve(&mut self, _env: Env, output: Vec<u32>) -> napi::Result<Uint32Array> {
        Ok(Uint32Array::from(output))
    }
}
