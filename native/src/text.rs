//! Binding for `eager_core::text`: the sentence encoder, the `tfidf-svd` fallback and
//! embedding files. Conversion and threading only.
use std::path::PathBuf;
use std::sync::Arc;

use eager_core::text as core;
use napi::bindgen_prelude::{AsyncTask, Float32Array, FnArgs};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{Env, Status, Task};
use napi_derive::napi;

use crate::error::IntoNapi;

/// Progress callback `(done, total)`, called from the worker thread without blocking it; weak,
/// so it does not keep the process alive.
type ProgressFn = ThreadsafeFunction<FnArgs<(u32, u32)>, (), FnArgs<(u32, u32)>, Status, false, true>;

/// Options of `SentenceEncoder.load`.
#[napi(object)]
pub struct SentenceEncoderOptions {
    /// Max tokens per text incl. [CLS]/[SEP]; longer texts are truncated. Default 128.
    pub max_len: Option<u32>,
    /// Texts per forward pass (texts are sorted by length first). Default 64.
    pub batch_size: Option<u32>,
}

fn to_core_options(o: Option<SentenceEncoderOptions>) -> core::SentenceEncoderOptions {
    let d = core::SentenceEncoderOptions::default();
    match o {
        None => d,
        Some(o) => core::SentenceEncoderOptions {
            max_len: o.max_len.map_or(d.max_len, |v| v as usize),
            batch_size: o.batch_size.map_or(d.batch_size, |v| v as usize),
        },
    }
}

/// A BERT-family sentence encoder (all-MiniLM-L6-v2 layout) loaded from a local HF directory.
#[napi]
pub struct SentenceEncoder {
    inner: Arc<core::SentenceEncoder>,
}

#[napi]
impl SentenceEncoder {
    /// Loads `config.json`, `tokenizer.json` and `model.safetensors`/`pytorch_model.bin`.
    #[napi(factory, catch_unwind)]
    pub fn load(model_dir: String, options: Option<SentenceEncoderOptions>) -> napi::Result<Self> {
        let enc = core::SentenceEncoder::load(&PathBuf::from(model_dir), to_core_options(options)).napi()?;
        Ok(SentenceEncoder { inner: Arc::new(enc) })
    }

    /// Output dimension.
    #[napi(getter)]
    pub fn dim(&self) -> u32 {
        self.inner.dim() as u32
    }

    /// Truncation length in force.
    #[napi(getter)]
    pub fn max_len(&self) -> u32 {
        self.inner.options().max_len as u32
    }

    /// Token ids (`[CLS] ... [SEP]`, truncated) of one text.
    #[napi(catch_unwind)]
    pub fn token_ids(&self, text: String) -> Vec<u32> {
        self.inner.token_ids(&text)
    }

    /// Encodes texts on the calling thread: unit-norm rows, row-major `[texts.length, dim]`.
    #[napi(catch_unwind)]
    pub fn encode_sync(&self, texts: Vec<String>) -> napi::Result<Float32Array> {
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        Ok(Float32Array::from(self.inner.encode(&refs, &mut |_, _| {}).napi()?))
    }

    /// Encodes texts on a worker thread; `onProgress(done, total)` is called after each batch.
    #[napi(
        ts_args_type = "texts: Array<string>, onProgress?: (done: number, total: number) => void",
        ts_return_type = "Promise<Float32Array>"
    )]
    pub fn encode(&self, texts: Vec<String>, on_progress: Option<ProgressFn>) -> AsyncTask<EncodeTask> {
        AsyncTask::new(EncodeTask { enc: Arc::clone(&self.inner), texts, progress: on_progress })
    }
}

/// Background encoding job of `SentenceEncoder.encode`.
pub struct EncodeTask {
    enc: Arc<core::SentenceEncoder>,
    texts: Vec<String>,
    progress: Option<ProgressFn>,
}

impl Task for EncodeTask {
    type Output = Vec<f32>;
    type JsValue = Float32Array;

    fn compute(&mut self) -> napi::Result<Vec<f32>> {
        crate::error::guard(|| {
            let refs: Vec<&str> = self.texts.iter().map(String::as_str).collect();
            let progress = self.progress.as_ref();
            self.enc
                .encode(&refs, &mut |done, total| {
                    if let Some(p) = progress {
                        p.call(FnArgs::from((done as u32, total as u32)), ThreadsafeFunctionCallMode::NonBlocking);
                    }
                })
                .napi()
        })
    }

    fn resolve(&mut self, _env: Env, output: Vec<f32>) -> napi::Result<Float32Array> {
        Ok(Float32Array::from(output))
    }
}

/// `tfidf-svd` fallback embeddings (no pretrained model): row-major `[texts.length, dim]`,
/// unit-norm rows (zero for a text without known terms). Deterministic for a seed.
#[napi(catch_unwind)]
pub fn tfidf_svd(texts: Vec<String>, dim: u32, seed: u32) -> napi::Result<Float32Array> {
    Ok(Float32Array::from(run_tfidf(&texts, dim, seed)?))
}

fn run_tfidf(texts: &[String], dim: u32, seed: u32) -> napi::Result<Vec<f32>> {
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let opts = core::TfidfSvdOptions { dim: dim as usize, seed: seed as u64, ..Default::default() };
    core::tfidf_svd(&refs, opts).napi()
}

/// Background job of `tfidfSvdAsync`.
pub struct TfidfTask {
    texts: Vec<String>,
    dim: u32,
    seed: u32,
}

impl Task for TfidfTask {
    type Output = Vec<f32>;
    type JsValue = Float32Array;

    fn compute(&mut self) -> napi::Result<Vec<f32>> {
        crate::error::guard(|| run_tfidf(&self.texts, self.dim, self.seed))
    }

    fn resolve(&mut self, _env: Env, output: Vec<f32>) -> napi::Result<Float32Array> {
        Ok(Float32Array::from(output))
    }
}

/// `tfidfSvd` on a worker thread.
#[napi(ts_return_type = "Promise<Float32Array>")]
pub fn tfidf_svd_async(texts: Vec<String>, dim: u32, seed: u32) -> AsyncTask<TfidfTask> {
    AsyncTask::new(TfidfTask { texts, dim, seed })
}

/// A row-major f32 matrix.
#[napi(object)]
pub struct EmbeddingMatrix {
    pub rows: u32,
    pub cols: u32,
    /// `[rows, cols]`, row r = item id r + 1.
    pub data: Float32Array,
}

/// Reads precomputed embeddings from `.npy` (f32/f64, 2-D) or `.safetensors` (the tensor
/// `name`, else the only one, else `embeddings`).
#[napi(catch_unwind)]
pub fn load_embedding_file(path: String, name: Option<String>) -> napi::Result<EmbeddingMatrix> {
    let m = core::load_embedding_matrix(&PathBuf::from(path), name.as_deref()).napi()?;
    Ok(EmbeddingMatrix { rows: m.rows as u32, cols: m.cols as u32, data: Float32Array::from(m.data) })
}
