//! Binding for `eager_core::eager`: the two-stream EAGER model (training step, checkpoints,
//! constrained beam-search recommendation). Conversion and threading only.
//!
//! The model sits behind a read-write lock: `recommend` / `scoreLists` / `scoreAll` / `evaluateLoss` take the
//! read side (concurrent calls run in parallel and equal sequential ones), `trainStep`,
//! `setLearningRate` and `loadCheckpoint` the write side.
use std::path::PathBuf;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use eager_core::codes::CodeTable;
use eager_core::eager::checkpoint;
use eager_core::eager::{
    EagerConfig, EagerModel as CoreModel, LossParts, MergeMode, RecommendOptions, StepReport, StreamInput, StreamKind,
    TrainBatch, Trainer,
};
use eager_core::EagerError;
use napi::bindgen_prelude::{AsyncTask, Float32Array, Uint32Array};
use napi::{Env, Task};
use napi_derive::napi;

use crate::error::IntoNapi;

/// One stream's inputs: its code table and (for the contrastive task) pretrained embeddings.
#[napi(object)]
pub struct EagerStreamData {
    /// Token vocabulary K.
    pub k: u32,
    /// Code length L.
    pub length: u32,
    /// `[numItems, L]` row-major, row r = item id r+1.
    pub codes: Uint32Array,
    /// `[numItems, dim]` row-major pretrained item embeddings (needed when GCT is on).
    pub embeddings: Option<Float32Array>,
    /// Embedding width.
    pub dim: Option<u32>,
}

/// Loss values of one step (absent parts are switched off).
#[napi(object)]
pub struct EagerStepResult {
    /// Optimiser steps so far (this one included); 0 for `evaluateLoss`.
    pub step: u32,
    /// Learning rate used.
    pub lr: f64,
    /// Global gradient norm before clipping (0 for `evaluateLoss`).
    pub grad_norm: f64,
    pub total: f64,
    pub gen_behaviour: Option<f64>,
    pub gen_semantic: Option<f64>,
    pub con_behaviour: Option<f64>,
    pub con_semantic: Option<f64>,
    pub recon: Option<f64>,
    pub recog: Option<f64>,
    /// History unlikelihood per stream (extension, `historyUnlikelihood` > 0).
    pub hist_behaviour: Option<f64>,
    pub hist_semantic: Option<f64>,
}

fn step_result(step: u64, lr: f64, grad_norm: f64, l: &LossParts) -> EagerStepResult {
    let f = |v: Option<f32>| v.map(f64::from);
    EagerStepResult {
        step: step as u32,
        lr,
        grad_norm,
        total: l.total as f64,
        gen_behaviour: f(l.gen_behaviour),
        gen_semantic: f(l.gen_semantic),
        con_behaviour: f(l.con_behaviour),
        con_semantic: f(l.con_semantic),
        recon: f(l.recon),
        recog: f(l.recog),
        hist_behaviour: f(l.hist_behaviour),
        hist_semantic: f(l.hist_semantic),
    }
}

/// Decoding options of `recommend` (all optional).
#[napi(object)]
pub struct EagerRecommendOptions {
    /// Beam width per stream [20] (widened to at least k).
    pub beam: Option<u32>,
    /// `"rescore"` (released code) or `"confidence"` (paper) ["rescore"].
    pub merge: Option<String>,
    /// `rescore`: candidates per stream [k].
    pub per_stream: Option<u32>,
    /// `rescore`: weight of the semantic stream's log-likelihood (behaviour: 1) [1].
    pub semantic_weight: Option<f64>,
    /// Users decoded together [64].
    pub batch_users: Option<u32>,
}

/// Ranked lists `[B, k]` row-major; slots beyond the catalogue are item 0 with score -Infinity.
#[napi(object)]
pub struct EagerRanked {
    pub k: u32,
    pub items: Uint32Array,
    pub scores: Float32Array,
}

fn read(m: &RwLock<Trainer>) -> napi::Result<RwLockReadGuard<'_, Trainer>> {
    m.read().map_err(|_| EagerError::invalid("eager model poisoned by an earlier panic")).napi()
}

fn write(m: &RwLock<Trainer>) -> napi::Result<RwLockWriteGuard<'_, Trainer>> {
    m.write().map_err(|_| EagerError::invalid("eager model poisoned by an earlier panic")).napi()
}

fn stream_table(s: &EagerStreamData, what: &str) -> napi::Result<CodeTable> {
    CodeTable::new(s.k, s.length as usize, s.codes.to_vec())
        .map_err(|e| EagerError::invalid(format!("{what} codes: {e}")))
        .napi()
}

fn batch(histories: &[u32], targets: &[u32], history_len: u32) -> napi::Result<TrainBatch> {
    TrainBatch::new(histories.to_vec(), targets.to_vec(), history_len as usize).napi()
}

/// Rows of a left-padded `[B, T]` history matrix without their padding.
fn history_rows(histories: &[u32], history_len: u32) -> napi::Result<Vec<Vec<u32>>> {
    let t = history_len as usize;
    if t == 0 || histories.len() % t != 0 {
        return Err(EagerError::invalid(format!(
            "histories: {} ids is not a multiple of historyLen {t}",
            histories.len()
        )))
        .napi();
    }
    Ok(histories.chunks(t).map(|r| r.iter().copied().filter(|&i| i != 0).collect()).collect())
}

fn recommend_options(k: u32, o: Option<&EagerRecommendOptions>) -> napi::Result<RecommendOptions> {
    let d = RecommendOptions::default();
    let merge = match o.and_then(|o| o.merge.as_deref()) {
        None | Some("rescore") => MergeMode::Rescore,
        Some("confidence") => MergeMode::Confidence,
        Some(other) => {
            return Err(EagerError::invalid(format!("merge must be \"rescore\" or \"confidence\", got {other:?}")))
                .napi()
        }
    };
    Ok(RecommendOptions {
        k: k as usize,
        beam: o.and_then(|o| o.beam).map_or(d.beam, |v| v as usize),
        merge,
        per_stream: o.and_then(|o| o.per_stream).map_or(0, |v| v as usize),
        semantic_weight: o.and_then(|o| o.semantic_weight).map_or(d.semantic_weight, |v| v as f32),
        batch_users: o.and_then(|o| o.batch_users).map_or(d.batch_users, |v| v as usize),
    })
}

fn recommend_ranked(
    model: &CoreModel,
    rows: &[Vec<u32>],
    opts: &RecommendOptions,
) -> eager_core::Result<(u32, Vec<u32>, Vec<f32>)> {
    let refs: Vec<&[u32]> = rows.iter().map(|r| r.as_slice()).collect();
    let recs = model.recommend(&refs, opts)?;
    let k = opts.k;
    let mut items = vec![0u32; recs.len() * k];
    let mut scores = vec![f32::NEG_INFINITY; recs.len() * k];
    for (u, r) in recs.iter().enumerate() {
        items[u * k..u * k + r.items.len()].copy_from_slice(&r.items);
        scores[u * k..u * k + r.scores.len()].copy_from_slice(&r.scores);
    }
    Ok((k as u32, items, scores))
}

/// Per-user candidate lists from flat `items` and `offsets` (`users + 1` entries, starting at 0,
/// non-decreasing, ending at `items.length`; user u's list is `items[offsets[u]..offsets[u+1]]`).
fn candidate_lists(items: &[u32], offsets: &[u32], users: usize) -> napi::Result<Vec<Vec<u32>>> {
    let ok = offsets.len() == users + 1
        && offsets.first() == Some(&0)
        && offsets.last().map(|&o| o as usize) == Some(items.len())
        && offsets.windows(2).all(|w| w[0] <= w[1]);
    if !ok {
        return Err(EagerError::invalid(format!(
            "offsets: expected {} non-decreasing entries from 0 to {} (items.length), got {} entries",
            users + 1,
            items.len(),
            offsets.len()
        )))
        .napi();
    }
    Ok(offsets.windows(2).map(|w| items[w[0] as usize..w[1] as usize].to_vec()).collect())
}

/// Options of `scoreLists` (all optional).
#[napi(object)]
pub struct EagerScoreOptions {
    /// Weight of the semantic stream's log-likelihood (behaviour: 1) [1].
    pub semantic_weight: Option<f64>,
    /// Users encoded together [64].
    pub batch_users: Option<u32>,
}

/// A `scoreLists` call's inputs, converted.
pub struct ScoreLists {
    rows: Vec<Vec<u32>>,
    cands: Vec<Vec<u32>>,
    semantic_weight: f32,
    batch_users: usize,
}

impl ScoreLists {
    fn new(
        histories: &[u32],
        history_len: u32,
        items: &[u32],
        offsets: &[u32],
        options: Option<&EagerScoreOptions>,
    ) -> napi::Result<Self> {
        let rows = history_rows(histories, history_len)?;
        let cands = candidate_lists(items, offsets, rows.len())?;
        let d = RecommendOptions::default();
        Ok(ScoreLists {
            rows,
            cands,
            semantic_weight: options.and_then(|o| o.semantic_weight).map_or(d.semantic_weight, |v| v as f32),
            batch_users: options.and_then(|o| o.batch_users).map_or(d.batch_users, |v| v as usize),
        })
    }

    /// Scores flattened in the lists' order (`[items.length]`).
    fn run(&self, model: &CoreModel) -> eager_core::Result<Vec<f32>> {
        let refs: Vec<&[u32]> = self.rows.iter().map(|r| r.as_slice()).collect();
        Ok(model.score_lists(&refs, &self.cands, self.semantic_weight, self.batch_users)?.concat())
    }
}

fn stream_input<'a>(t: &'a Option<CodeTable>, e: &'a Option<(Vec<f32>, usize)>) -> Option<StreamInput<'a>> {
    t.as_ref().map(|codes| StreamInput { codes, embeddings: e.as_ref().map(|(v, d)| (v.as_slice(), *d)) })
}

/// The EAGER model with its optimiser.
#[napi]
pub struct EagerModel {
    inner: Arc<RwLock<Trainer>>,
    num_items: u32,
}

#[napi]
impl EagerModel {
    /// A fresh model. `configJson`: the model config as JSON (camelCase, validated again here);
    /// streams switched off in the config may be `null`. All randomness comes from `seed`.
    #[napi(constructor, catch_unwind)]
    pub fn new(
        config_json: String,
        num_items: u32,
        behaviour: Option<EagerStreamData>,
        semantic: Option<EagerStreamData>,
        seed: u32,
    ) -> napi::Result<Self> {
        let cfg = EagerConfig::from_json(&config_json).napi()?;
        let tb = behaviour.as_ref().map(|s| stream_table(s, "behaviour")).transpose()?;
        let ts = semantic.as_ref().map(|s| stream_table(s, "semantic")).transpose()?;
        let emb = |s: &Option<EagerStreamData>| -> Option<(Vec<f32>, usize)> {
            s.as_ref().and_then(|s| match (&s.embeddings, s.dim) {
                (Some(e), Some(d)) => Some((e.to_vec(), d as usize)),
                _ => None,
            })
        };
        let (eb, es) = (emb(&behaviour), emb(&semantic));
        let model =
            CoreModel::new(cfg, num_items as usize, stream_input(&tb, &eb), stream_input(&ts, &es), seed as u64)
                .napi()?;
        let trainer = Trainer::new(model, seed as u64, 1e-3).napi()?;
        Ok(EagerModel { inner: Arc::new(RwLock::new(trainer)), num_items })
    }

    /// Number of items (ids `1..=numItems`).
    #[napi(getter)]
    pub fn num_items(&self) -> u32 {
        self.num_items
    }

    /// Trainable scalars.
    #[napi(getter, catch_unwind)]
    pub fn num_parameters(&self) -> napi::Result<f64> {
        Ok(read(&self.inner)?.model().params().num_parameters() as f64)
    }

    /// Parameter names in order (the safetensors tensor names).
    #[napi(catch_unwind)]
    pub fn parameter_names(&self) -> napi::Result<Vec<String>> {
        Ok(read(&self.inner)?.model().params().names().to_vec())
    }

    /// Optimiser steps taken.
    #[napi(getter, catch_unwind)]
    pub fn step(&self) -> napi::Result<u32> {
        Ok(read(&self.inner)?.step_count() as u32)
    }

    /// The validated config (defaults filled in) as JSON.
    #[napi(catch_unwind)]
    pub fn config_json(&self) -> napi::Result<String> {
        read(&self.inner)?.model().config().to_json().napi()
    }

    /// Learning rate of the next steps.
    #[napi(catch_unwind)]
    pub fn set_learning_rate(&self, lr: f64) -> napi::Result<()> {
        write(&self.inner)?.set_learning_rate(lr).napi()
    }

    /// One training step on the calling thread. `histories` `[B, historyLen]` left-padded with 0,
    /// `targets` `[B]`. A non-finite loss fails with `EAGER_NUMERIC` and leaves the weights.
    #[napi(catch_unwind)]
    pub fn train_step_sync(
        &self,
        histories: Uint32Array,
        targets: Uint32Array,
        history_len: u32,
    ) -> napi::Result<EagerStepResult> {
        let b = batch(&histories, &targets, history_len)?;
        let r: StepReport = write(&self.inner)?.step(&b).napi()?;
        Ok(step_result(r.step, r.lr, r.grad_norm, &r.losses))
    }

    /// `trainStepSync` on a worker thread.
    #[napi(catch_unwind, ts_return_type = "Promise<EagerStepResult>")]
    pub fn train_step(
        &self,
        histories: Uint32Array,
        targets: Uint32Array,
        history_len: u32,
    ) -> napi::Result<AsyncTask<TrainStepTask>> {
        let b = batch(&histories, &targets, history_len)?;
        Ok(AsyncTask::new(TrainStepTask { model: Arc::clone(&self.inner), batch: b }))
    }

    /// Loss parts of a batch in evaluation mode (no dropout, no update), on the calling thread.
    #[napi(catch_unwind)]
    pub fn evaluate_loss(
        &self,
        histories: Uint32Array,
        targets: Uint32Array,
        history_len: u32,
    ) -> napi::Result<EagerStepResult> {
        let b = batch(&histories, &targets, history_len)?;
        let g = read(&self.inner)?;
        let l = g.evaluate(&b).napi()?;
        Ok(step_result(0, g.learning_rate(), 0.0, &l))
    }

    /// Top-`k` items per history on the calling thread. `histories` `[B, historyLen]`,
    /// left-padded with 0 (each row needs at least one item; ids in `1..=numItems`).
    #[napi(catch_unwind)]
    pub fn recommend_sync(
        &self,
        histories: Uint32Array,
        history_len: u32,
        k: u32,
        options: Option<EagerRecommendOptions>,
    ) -> napi::Result<EagerRanked> {
        let rows = history_rows(&histories, history_len)?;
        let opts = recommend_options(k, options.as_ref())?;
        let (k, items, scores) = recommend_ranked(read(&self.inner)?.model(), &rows, &opts).napi()?;
        Ok(EagerRanked { k, items: Uint32Array::from(items), scores: Float32Array::from(scores) })
    }

    /// `recommendSync` on a worker thread (read-only: concurrent calls are safe).
    #[napi(catch_unwind, ts_return_type = "Promise<EagerRanked>")]
    pub fn recommend(
        &self,
        histories: Uint32Array,
        history_len: u32,
        k: u32,
        options: Option<EagerRecommendOptions>,
    ) -> napi::Result<AsyncTask<RecommendTask>> {
        let rows = history_rows(&histories, history_len)?;
        let opts = recommend_options(k, options.as_ref())?;
        Ok(AsyncTask::new(RecommendTask { model: Arc::clone(&self.inner), rows, opts }))
    }

    /// The `rescore` score (behaviour + `semanticWeight` · semantic code log-likelihood) of
    /// given items per history, on a worker thread (read-only: concurrent calls are safe):
    /// `histories` `[B, historyLen]` left-padded with 0; user u's items are
    /// `items[offsets[u]..offsets[u+1]]` (ids in `1..=numItems`; a list may be empty). Resolves to
    /// `[items.length]`, in the lists' order.
    #[napi(catch_unwind, ts_return_type = "Promise<Float32Array>")]
    pub fn score_lists(
        &self,
        histories: Uint32Array,
        history_len: u32,
        items: Uint32Array,
        offsets: Uint32Array,
        options: Option<EagerScoreOptions>,
    ) -> napi::Result<AsyncTask<ScoreListsTask>> {
        let job = ScoreLists::new(&histories, history_len, &items, &offsets, options.as_ref())?;
        Ok(AsyncTask::new(ScoreListsTask { model: Arc::clone(&self.inner), job }))
    }

    /// Log-likelihood of every item's code in `stream` (`"behaviour"` | `"semantic"`) for one
    /// history (exhaustive scoring, for tests): `[numItems]`, entry i = item i+1.
    #[napi(catch_unwind)]
    pub fn score_all(&self, stream: String, history: Uint32Array) -> napi::Result<Float32Array> {
        let kind = match stream.as_str() {
            "behaviour" => StreamKind::Behaviour,
            "semantic" => StreamKind::Semantic,
            other => {
                return Err(EagerError::invalid(format!("stream must be \"behaviour\" or \"semantic\", got {other:?}")))
                    .napi()
            }
        };
        Ok(Float32Array::from(read(&self.inner)?.model().score_all(kind, &history).napi()?))
    }

    /// Writes the weights (and, with `optimizerPath`, the Adam state and step) as safetensors,
    /// each file atomically.
    #[napi(catch_unwind)]
    pub fn save_checkpoint(&self, weights_path: String, optimizer_path: Option<String>) -> napi::Result<()> {
        let g = read(&self.inner)?;
        checkpoint::save_weights(g.model(), &PathBuf::from(weights_path)).napi()?;
        if let Some(p) = optimizer_path {
            g.optimizer().save(g.model().params(), &PathBuf::from(p)).napi()?;
        }
        Ok(())
    }

    /// Restores weights (and optionally optimiser state) saved by a model of the same config.
    #[napi(catch_unwind)]
    pub fn load_checkpoint(&self, weights_path: String, optimizer_path: Option<String>) -> napi::Result<()> {
        let mut g = write(&self.inner)?;
        let o = optimizer_path.map(PathBuf::from);
        checkpoint::load_checkpoint(&mut g, &PathBuf::from(weights_path), o.as_deref()).napi()
    }
}

/// Background job of `EagerModel.trainStep`.
pub struct TrainStepTask {
    model: Arc<RwLock<Trainer>>,
    batch: TrainBatch,
}

impl Task for TrainStepTask {
    type Output = StepReport;
    type JsValue = EagerStepResult;

    fn compute(&mut self) -> napi::Result<StepReport> {
        crate::error::guard(|| write(&self.model)?.step(&self.batch).napi())
    }

    fn resolve(&mut self, _env: Env, r: StepReport) -> napi::Result<EagerStepResult> {
        Ok(step_result(r.step, r.lr, r.grad_norm, &r.losses))
    }
}

/// Background job of `EagerModel.recommend`.
pub struct RecommendTask {
    model: Arc<RwLock<Trainer>>,
    rows: Vec<Vec<u32>>,
    opts: RecommendOptions,
}

impl Task for RecommendTask {
    type Output = (u32, Vec<u32>, Vec<f32>);
    type JsValue = EagerRanked;

    fn compute(&mut self) -> napi::Result<(u32, Vec<u32>, Vec<f32>)> {
        crate::error::guard(|| recommend_ranked(read(&self.model)?.model(), &self.rows, &self.opts).napi())
    }

    fn resolve(&mut self, _env: Env, (k, items, scores): (u32, Vec<u32>, Vec<f32>)) -> napi::Result<EagerRanked> {
        Ok(EagerRanked { k, items: Uint32Array::from(items), scores: Float32Array::from(scores) })
    }
}

/// Background job of `EagerModel.scoreLists`.
pub struct ScoreListsTask {
    model: Arc<RwLock<Trainer>>,
    job: ScoreLists,
}

impl Task for ScoreListsTask {
    type Output = Vec<f32>;
    type JsValue = Float32Array;

    fn compute(&mut self) -> napi::Result<Vec<f32>> {
        crate::error::guard(|| self.job.run(read(&self.model)?.model()).napi())
    }

    fn resolve(&mut self, _env: Env, scores: Vec<f32>) -> napi::Result<Float32Array> {
        Ok(Float32Array::from(scores))
    }
}
