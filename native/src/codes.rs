//! Binding for `eager_core::kmeans` (hierarchical k-means codes) and `eager_core::codes`
//! (code table, prefix trie). Conversion and threading only.
use std::path::PathBuf;

use eager_core::codes as core;
use eager_core::kmeans::{self, KMeansConfig, KMeansInit};
use eager_core::EagerError;
use napi::bindgen_prelude::{AsyncTask, Float32Array, FnArgs, Uint32Array};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{Env, Status, Task};
use napi_derive::napi;

use crate::error::IntoNapi;

/// Progress callback `(itemsDone, numItems)`, non-blocking and weak.
type ProgressFn = ThreadsafeFunction<FnArgs<(u32, u32)>, (), FnArgs<(u32, u32)>, Status, false, true>;

/// Options of `buildCodes` (all optional; defaults in brackets).
#[napi(object)]
pub struct BuildCodesOptions {
    /// Branching factor K, also the token vocabulary [256].
    pub k: Option<u32>,
    /// Equal-size clusters; false = plain k-means [true].
    pub balanced: Option<bool>,
    /// Max Lloyd iterations per node [100].
    pub max_iters: Option<u32>,
    /// Stop when (Σ centre shift)² < tol [1e-6].
    pub tol: Option<f64>,
    /// Seed of every random draw (integer ≥ 0) [2024].
    pub seed: Option<i64>,
    /// Runs per node, lowest inertia kept [1].
    pub n_init: Option<u32>,
    /// Centroid init: "plusPlus" (k-means++) or "randomPartition" ["plusPlus"].
    pub init: Option<String>,
}

/// A code table: `codes` is row-major `[numItems, length]`, row r = item id r+1; tokens < k.
#[napi(object)]
pub struct CodeTableData {
    pub k: u32,
    pub length: u32,
    pub num_items: u32,
    pub codes: Uint32Array,
}

fn to_config(o: Option<BuildCodesOptions>) -> napi::Result<KMeansConfig> {
    let d = KMeansConfig::default();
    let Some(o) = o else { return Ok(d) };
    let seed = match o.seed {
        None => d.seed,
        Some(s) => u64::try_from(s).map_err(|_| EagerError::invalid(format!("seed must be >= 0, got {s}"))).napi()?,
    };
    let init = match o.init.as_deref() {
        None | Some("plusPlus") => KMeansInit::PlusPlus,
        Some("randomPartition") => KMeansInit::RandomPartition,
        Some(other) => {
            return Err(EagerError::invalid(format!("init must be \"plusPlus\" or \"randomPartition\", got {other:?}")))
                .napi()
        }
    };
    let cfg = KMeansConfig {
        k: o.k.map_or(d.k, |v| v as usize),
        balanced: o.balanced.unwrap_or(d.balanced),
        max_iters: o.max_iters.map_or(d.max_iters, |v| v as usize),
        tol: o.tol.unwrap_or(d.tol),
        seed,
        n_init: o.n_init.map_or(d.n_init, |v| v as usize),
        init,
    };
    cfg.validate().napi()?;
    Ok(cfg)
}

fn to_js(t: core::CodeTable) -> CodeTableData {
    CodeTableData {
        k: t.k,
        length: t.length as u32,
        num_items: t.num_items() as u32,
        codes: Uint32Array::from(t.codes),
    }
}

fn from_js(t: &CodeTableData) -> napi::Result<core::CodeTable> {
    let table = core::CodeTable::new(t.k, t.length as usize, t.codes.to_vec()).napi()?;
    if table.num_items() != t.num_items as usize {
        return Err(EagerError::invalid(format!(
            "numItems is {} but codes hold {} rows of length {}",
            t.num_items,
            table.num_items(),
            t.length
        )))
        .napi();
    }
    Ok(table)
}

/// Builds item codes by hierarchical k-means on the calling thread. `embeddings` is row-major
/// `[numItems, dim]`, row r = item id r+1.
#[napi(catch_unwind)]
pub fn build_codes(
    embeddings: Float32Array,
    dim: u32,
    options: Option<BuildCodesOptions>,
) -> napi::Result<CodeTableData> {
    let cfg = to_config(options)?;
    Ok(to_js(kmeans::build_codes(&embeddings, dim as usize, &cfg).napi()?))
}

/// Same as `buildCodes` on a worker thread; `onProgress(itemsDone, numItems)` after each node.
#[napi(
    catch_unwind,
    ts_args_type = "embeddings: Float32Array, dim: number, options?: BuildCodesOptions | undefined | null, onProgress?: (itemsDone: number, numItems: number) => void",
    ts_return_type = "Promise<CodeTableData>"
)]
pub fn build_codes_async(
    embeddings: Float32Array,
    dim: u32,
    options: Option<BuildCodesOptions>,
    on_progress: Option<ProgressFn>,
) -> napi::Result<AsyncTask<BuildCodesTask>> {
    let cfg = to_config(options)?;
    Ok(AsyncTask::new(BuildCodesTask { data: embeddings.to_vec(), dim: dim as usize, cfg, progress: on_progress }))
}

/// Background job of `buildCodesAsync`.
pub struct BuildCodesTask {
    data: Vec<f32>,
    dim: usize,
    cfg: KMeansConfig,
    progress: Option<ProgressFn>,
}

impl Task for BuildCodesTask {
    type Output = core::CodeTable;
    type JsValue = CodeTableData;

    fn compute(&mut self) -> napi::Result<core::CodeTable> {
        crate::error::guard(|| {
            let progress = self.progress.as_ref();
            kmeans::build_codes_with_progress(&self.data, self.dim, &self.cfg, &mut |p| {
                if let Some(f) = progress {
                    f.call(
                        FnArgs::from((p.items_done as u32, p.num_items as u32)),
                        ThreadsafeFunctionCallMode::NonBlocking,
                    );
                }
            })
            .napi()
        })
    }

    fn resolve(&mut self, _env: Env, output: core::CodeTable) -> napi::Result<CodeTableData> {
        Ok(to_js(output))
    }
}

/// Checks the code-table guarantees (shape, tokens < k, unique codes); throws if one fails.
#[napi(catch_unwind)]
pub fn validate_code_table(table: CodeTableData) -> napi::Result<()> {
    from_js(&table).map(|_| ())
}

/// Writes a code table (item → code and code → item) as JSON, atomically.
#[napi(catch_unwind)]
pub fn save_code_table(table: CodeTableData, path: String) -> napi::Result<()> {
    from_js(&table)?.save(&PathBuf::from(path)).napi()
}

/// Reads and checks a code table JSON file.
#[napi(catch_unwind)]
pub fn load_code_table(path: String) -> napi::Result<CodeTableData> {
    Ok(to_js(core::CodeTable::load(&PathBuf::from(path)).napi()?))
}

/// Prefix trie of valid codes, for constrained decoding.
#[napi]
pub struct CodeTrie {
    inner: core::CodeTrie,
}

#[napi]
impl CodeTrie {
    /// Builds the trie of a code table.
    #[napi(factory, catch_unwind)]
    pub fn from_table(table: CodeTableData) -> napi::Result<Self> {
        Ok(CodeTrie { inner: core::CodeTrie::from_table(&from_js(&table)?).napi()? })
    }

    /// Reads and checks a binary trie file (written by `save`).
    #[napi(factory, catch_unwind)]
    pub fn load(path: String) -> napi::Result<Self> {
        Ok(CodeTrie { inner: core::CodeTrie::load(&PathBuf::from(path)).napi()? })
    }

    /// Writes the binary trie file atomically.
    #[napi(catch_unwind)]
    pub fn save(&self, path: String) -> napi::Result<()> {
        self.inner.save(&PathBuf::from(path)).napi()
    }

    #[napi(getter)]
    pub fn k(&self) -> u32 {
        self.inner.k()
    }

    #[napi(getter)]
    pub fn length(&self) -> u32 {
        self.inner.length() as u32
    }

    #[napi(getter)]
    pub fn num_items(&self) -> u32 {
        self.inner.num_items() as u32
    }

    #[napi(getter)]
    pub fn num_nodes(&self) -> u32 {
        self.inner.num_nodes() as u32
    }

    /// Tokens allowed after `prefix`, ascending (empty if the prefix is invalid or complete).
    #[napi(catch_unwind)]
    pub fn allowed_next(&self, prefix: Vec<u32>) -> Uint32Array {
        Uint32Array::from(self.inner.allowed_next(&prefix).to_vec())
    }

    /// Item id whose full code is `code`, or null.
    #[napi(catch_unwind)]
    pub fn item_at(&self, code: Vec<u32>) -> Option<u32> {
        self.inner.item_at(&code)
    }

    /// The code table encoded by this trie.
    #[napi(catch_unwind)]
    pub fn to_table(&self) -> napi::Result<CodeTableData> {
        Ok(to_js(self.inner.to_table().napi()?))
    }
}
