//! The EAGER two-stream generative recommender (see `README.md` in this folder).
//!
//! - [`config`]: [`EagerConfig`] and its validation;
//! - [`kernels`]: fused CPU ops (attention, layer norm, bias+GELU, dropout) with backward;
//! - [`layers`], [`encoder`], [`decoder`], [`gct`], [`stt`]: the model's parts; [`history`]: the
//!   history unlikelihood term (extension);
//! - [`model`]: [`EagerModel`] and its losses; [`batch`]: [`TrainBatch`];
//! - [`trainer`]: one optimisation step; [`checkpoint`]: save / resume;
//! - [`beam`]: constrained two-stream beam search and recommendation; [`rescore`]: both
//!   streams' summed score of given items (rerank, ensembles).
pub mod batch;
pub mod beam;
pub mod checkpoint;
pub mod config;
pub mod decoder;
pub mod encoder;
pub mod gct;
pub mod history;
pub mod kernels;
pub mod layers;
pub mod model;
pub mod rescore;
pub mod stt;
pub mod trainer;

pub use batch::TrainBatch;
pub use beam::{MergeMode, RecommendOptions, Recommendation};
pub use config::{
    DeviceKind, EagerConfig, GctConfig, GctForm, OptimizerConfig, PretrainedInputsConfig, StreamsConfig, SttConfig,
};
pub use model::{EagerModel, LossParts, StreamInput, StreamKind};
pub use trainer::{StepReport, Trainer};

#[cfg(test)]
pub(crate) mod tests;
