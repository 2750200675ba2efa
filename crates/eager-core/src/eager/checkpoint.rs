//! Checkpoints: model weights and optimiser state as two safetensors files, each written
//! atomically (temporary file in the same directory + rename).
//!
//! - weights: one f32 tensor per parameter, named as in [`EagerModel::params`] (see the
//!   README of this folder for the naming scheme); readable by Python's `safetensors`;
//! - optimiser: `adam.m.<param>`, `adam.v.<param>` and `adam.step` (i64 `[1]`). The step count
//!   also selects the per-step random generator, so a resumed run continues exactly like an
//!   uninterrupted one.
//!
//! The configuration, code tables and run metadata are the caller's JSON (the TS side).
use std::path::Path;

use super::model::EagerModel;
use super::trainer::Trainer;
use crate::error::Result;

/// Writes the model weights.
pub fn save_weights(model: &EagerModel, path: &Path) -> Result<()> {
    model.params().save_safetensors(path)
}

/// Loads weights written by [`save_weights`] for the same configuration (names and shapes
/// must match exactly; the error names the file and the tensor).
pub fn load_weights(model: &EagerModel, path: &Path) -> Result<()> {
    model.params().load_safetensors(path)
}

/// Writes weights and optimiser state.
pub fn save_checkpoint(trainer: &Trainer, weights: &Path, optimizer: &Path) -> Result<()> {
    save_weights(trainer.model(), weights)?;
    trainer.optimizer().save(trainer.model().params(), optimizer)
}

/// Restores weights and (optionally) optimiser state into a trainer built with the same
/// configuration, codes and seed.
pub fn load_checkpoint(trainer: &mut Trainer, weights: &Path, optimizer: Option<&Path>) -> Result<()> {
    load_weights(trainer.model(), weights)?;
    if let Some(p) = optimizer {
        let store = trainer.model().params().clone();
        trainer.optimizer_mut().load(&store, p)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eager::tests::{build, cyclic_batch, fixture, tiny_config};

    #[test]
    fn resume_matches_uninterrupted_run() -> Result<()> {
        let f = fixture()?;
        let batch = cyclic_batch(f.num_items, 10, 5)?;
        let mut full = Trainer::new(build(tiny_config(), &f, 4)?, 4, 2e-3)?;
        let want: Vec<f32> = (0..4).map(|_| Ok(full.step(&batch)?.losses.total)).collect::<Result<_>>()?;

        let dir = std::env::temp_dir().join(format!("eager-ckpt-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| crate::EagerError::io("tmp", e))?;
        let (w, o) = (dir.join("weights.safetensors"), dir.join("optimizer.safetensors"));
        let mut first = Trainer::new(build(tiny_config(), &f, 4)?, 4, 2e-3)?;
        let mut got: Vec<f32> = (0..2).map(|_| Ok(first.step(&batch)?.losses.total)).collect::<Result<_>>()?;
        save_checkpoint(&first, &w, &o)?;
        // A fresh trainer (different init seed: the weights must come from the file).
        let mut resumed = Trainer::new(build(tiny_config(), &f, 99)?, 4, 2e-3)?;
        load_checkpoint(&mut resumed, &w, Some(&o))?;
        assert_eq!(resumed.step_count(), 2);
        for _ in 0..2 {
            got.push(resumed.step(&batch)?.losses.total);
        }
        assert_eq!(got, want);
        // A model of another shape refuses the weights, naming the file.
        let mut cfg = tiny_config();
        cfg.hidden = 8;
        let other = build(cfg, &f, 1)?;
        let err = load_weights(&other, &w).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("weights.safetensors"), "{err}");
        std::fs::remove_dir_all(&dir).map_err(|e| crate::EagerError::io("tmp", e))?;
        Ok(())
    }
}
