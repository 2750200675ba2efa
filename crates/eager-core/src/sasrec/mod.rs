//! SASRec (Kang & McAuley 2018): causal self-attention sequential recommender, trained with
//! full-softmax cross-entropy over every item at every position. It is the project's SASRec
//! baseline and the source of the behaviour embeddings `E^b` for EAGER ([`SasRec::embeddings`]).
//!
//! ```ignore
//! let train = Sequences::new(flat_items, offsets, num_items)?;    // training parts only
//! let mut m = SasRec::new(&SasRecConfig::default(), num_items, seed, &Device::Cpu)?;
//! let loss = m.train_epoch(&train, 256, &mut |p| { /* p.batch, p.batches, p.loss */ })?;
//! let top = m.top_k(&histories, 20, true)?;                        // [users, 20] item ids
//! let eb = m.embeddings()?;                                       // [numItems, hidden]
//! ```
pub mod batch;
pub mod config;
pub mod model;
pub mod topk;
pub mod trainer;

#[cfg(test)]
mod tests;

pub use batch::Sequences;
pub use config::SasRecConfig;
pub use model::SasRecModel;
pub use topk::top_k_rows;
pub use trainer::{BatchProgress, SasRec};
