//! [`SasRec`]: the model with its optimiser and random stream — training epochs, top-K, embeddings.
use std::path::Path;

use candle_core::Device;

use crate::error::{EagerError, Result};
use crate::optim::{Adam, AdamConfig};
use crate::rng::SeededRng;
use crate::sasrec::batch::{history_batch, train_batch, training_windows, Sequences, Window};
use crate::sasrec::config::SasRecConfig;
use crate::sasrec::model::SasRecModel;
use crate::sasrec::topk::top_k_rows;

/// Progress of one training epoch, reported after every batch.
#[derive(Debug, Clone, Copy)]
pub struct BatchProgress {
    pub batch: usize,
    pub batches: usize,
    pub loss: f64,
}

/// A trainable SASRec. The same seed, config and calls give the same weights on the same machine.
#[derive(Debug)]
pub struct SasRec {
    model: SasRecModel,
    adam: Adam,
    rng: SeededRng,
    epochs: u64,
}

/// Batches per length-sorting pool in [`SasRec::train_epoch`].
const BUCKET_POOL: usize = 32;

/// Histories scored per forward pass in [`SasRec::top_k`] (bounds the `[chunk, numItems]` score matrix).
const SCORE_CHUNK: usize = 512;

impl SasRec {
    /// A fresh model on `device` for item ids `1..=num_items`.
    pub fn new(cfg: &SasRecConfig, num_items: usize, seed: u64, device: &Device) -> Result<Self> {
        let mut rng = SeededRng::new(seed);
        let mut init_rng = rng.fork(1);
        let model = SasRecModel::new(cfg, num_items, device, &mut init_rng)?;
        let adam = Adam::new(
            model.store(),
            AdamConfig { lr: cfg.lr, weight_decay: cfg.weight_decay, decoupled: true, ..AdamConfig::default() },
        )?;
        Ok(SasRec { model, adam, rng, epochs: 0 })
    }

    /// Like [`SasRec::new`] with the device by name: `cpu`, `cuda` or `cuda:N` (CUDA needs a core
    /// built with the `cuda` feature).
    pub fn on_named_device(cfg: &SasRecConfig, num_items: usize, seed: u64, device: &str) -> Result<Self> {
        Self::new(cfg, num_items, seed, &named_device(device)?)
    }

    /// The network.
    pub fn model(&self) -> &SasRecModel {
        &self.model
    }

    /// Epochs trained so far.
    pub fn epochs(&self) -> u64 {
        self.epochs
    }

    /// One pass over every next-item pair of `train` (training parts only: the caller must have cut
    /// validation and test targets off). Windows are shuffled, then batched. Returns the mean loss.
    pub fn train_epoch(
        &mut self,
        train: &Sequences,
        batch_size: usize,
        on_batch: &mut dyn FnMut(BatchProgress),
    ) -> Result<f64> {
        if batch_size == 0 {
            return Err(EagerError::invalid("sasrec: batchSize must be > 0"));
        }
        let mut windows = training_windows(train, self.model.config().max_len);
        if windows.is_empty() {
            return Err(EagerError::invalid("sasrec: no sequence has 2 or more training items"));
        }
        let mut epoch_rng = self.rng.fork(self.epochs);
        epoch_rng.shuffle(&mut windows);
        // Length bucketing: within pools of BUCKET_POOL batches, sort windows by length before
        // cutting batches, so a batch pads to about its own length instead of the longest user's
        // (most histories are far shorter than maxLen). Batch order is shuffled afterwards.
        let mut batches: Vec<&[Window]> = Vec::with_capacity(windows.len().div_ceil(batch_size));
        for pool in windows.chunks_mut(batch_size * BUCKET_POOL) {
            pool.sort_by_key(|w| w.end - w.start);
        }
        for chunk in windows.chunks(batch_size) {
            batches.push(chunk);
        }
        epoch_rng.shuffle(&mut batches);
        let n_batches = batches.len();
        let (mut sum, mut count) = (0.0f64, 0usize);
        for (i, chunk) in batches.into_iter().enumerate() {
            let batch = train_batch(train, chunk);
            let epoch = self.epochs + 1;
            let (model, adam, rng) = (&self.model, &mut self.adam, &mut epoch_rng);
            // On a rayon worker, so parallel kernels start on this thread (no hand-off per op).
            let value = rayon::scope(|_| -> Result<f64> {
                let loss = model.loss(&batch, true, rng)?;
                let value = loss.to_scalar::<f32>()? as f64;
                if !value.is_finite() {
                    return Err(EagerError::Numeric(format!("sasrec: loss is {value} at epoch {epoch} batch {i}")));
                }
                let grads = loss.backward()?;
                adam.step(model.store(), &grads)?;
                Ok(value)
            })?;
            sum += value * batch.targets.len() as f64;
            count += batch.targets.len();
            on_batch(BatchProgress { batch: i + 1, batches: n_batches, loss: value });
        }
        self.epochs += 1;
        Ok(sum / count.max(1) as f64)
    }

    /// Full score matrix `[histories, numItems]` (row-major; column c = item id c+1).
    pub fn scores(&self, histories: &Sequences) -> Result<Vec<f32>> {
        let n = self.model.num_items();
        let mut out = vec![0f32; histories.len() * n];
        for chunk in length_sorted_chunks(histories, self.model.config().max_len) {
            let hs: Vec<&[u32]> = chunk.iter().map(|&u| histories.get(u)).collect();
            let (ids, b, t) = history_batch(&hs, self.model.config().max_len);
            let s: Vec<f32> = self.model.scores(&ids, b, t)?.flatten_all()?.to_vec1()?; // [b, n]
            for (r, &u) in chunk.iter().enumerate() {
                out[u * n..(u + 1) * n].copy_from_slice(&s[r * n..(r + 1) * n]);
            }
        }
        Ok(out)
    }

    /// The `k` best item ids per history (row-major `[histories, k]`, best first); with
    /// `exclude_history` the items of the history itself are never returned.
    pub fn top_k(&self, histories: &Sequences, k: usize, exclude_history: bool) -> Result<Vec<u32>> {
        let n = self.model.num_items();
        let mut out = vec![0u32; histories.len() * k];
        for chunk in length_sorted_chunks(histories, self.model.config().max_len) {
            let hs: Vec<&[u32]> = chunk.iter().map(|&u| histories.get(u)).collect();
            let (ids, b, t) = history_batch(&hs, self.model.config().max_len);
            let s: Vec<f32> = self.model.scores(&ids, b, t)?.flatten_all()?.to_vec1()?;
            let top = top_k_rows(&s, n, k, if exclude_history { Some(&hs) } else { None });
            for (r, &u) in chunk.iter().enumerate() {
                out[u * k..(u + 1) * k].copy_from_slice(&top[r * k..(r + 1) * k]);
            }
        }
        Ok(out)
    }

    /// [`SasRec::top_k`] in both ranking modes from one scoring pass: `(full, history excluded)`.
    pub fn top_k_both(&self, histories: &Sequences, k: usize) -> Result<(Vec<u32>, Vec<u32>)> {
        let n = self.model.num_items();
        let mut full = vec![0u32; histories.len() * k];
        let mut excl = vec![0u32; histories.len() * k];
        for chunk in length_sorted_chunks(histories, self.model.config().max_len) {
            let hs: Vec<&[u32]> = chunk.iter().map(|&u| histories.get(u)).collect();
            let (ids, b, t) = history_batch(&hs, self.model.config().max_len);
            let s: Vec<f32> =
                rayon::scope(|_| -> Result<Vec<f32>> { Ok(self.model.scores(&ids, b, t)?.flatten_all()?.to_vec1()?) })?;
            let a = top_k_rows(&s, n, k, None);
            let e = top_k_rows(&s, n, k, Some(&hs));
            for (r, &u) in chunk.iter().enumerate() {
                full[u * k..(u + 1) * k].copy_from_slice(&a[r * k..(r + 1) * k]);
                excl[u * k..(u + 1) * k].copy_from_slice(&e[r * k..(r + 1) * k]);
            }
        }
        Ok((full, excl))
    }

    /// The trained item table `E^b`, `[numItems, hidden]` row-major (row r = item id r+1).
    pub fn embeddings(&self) -> Result<Vec<f32>> {
        Ok(self.model.item_table()?.flatten_all()?.to_vec1()?)
    }

    /// Writes the weights as safetensors (atomic; names in [`SasRecModel`]).
    pub fn save(&self, path: &Path) -> Result<()> {
        self.model.store().save_safetensors(path)
    }

    /// Loads weights written by [`SasRec::save`] for the same config and item count.
    pub fn load(&mut self, path: &Path) -> Result<()> {
        self.model.store().load_safetensors(path)
    }
}

/// User indices in chunks of at most [`SCORE_CHUNK`], sorted by (truncated) history length so each
/// chunk pads little. Results are scattered back to the original order by the callers.
fn length_sorted_chunks(histories: &Sequences, max_len: usize) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..histories.len()).collect();
    order.sort_by_key(|&u| (histories.get(u).len().min(max_len), u));
    order.chunks(SCORE_CHUNK).map(|c| c.to_vec()).collect()
}

/// `cpu`, `cuda` or `cuda:N` → a candle device.
pub fn named_device(name: &str) -> Result<Device> {
    match name {
        "cpu" => Ok(Device::Cpu),
        "cuda" => Ok(Device::new_cuda(0)?),
        other => match other.strip_prefix("cuda:").and_then(|n| n.parse::<usize>().ok()) {
            Some(i) => Ok(Device::new_cuda(i)?),
            None => Err(EagerError::invalid(format!("device must be `cpu`, `cuda` or `cuda:N`, got `{other}`"))),
        },
    }
}
