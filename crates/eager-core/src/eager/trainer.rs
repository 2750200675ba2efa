//! One optimisation step of the EAGER model: forward, total loss, backward, gradient clipping,
//! Adam update with an externally set learning rate.
//!
//! Randomness of step `n` (dropout masks, negatives, STT corruptions) comes from a generator
//! seeded with `(seed, n)`, so a run resumed from a checkpoint at step `n` continues exactly
//! like an uninterrupted one. A non-finite loss or gradient norm fails the step with
//! [`EagerError::Numeric`] before any weight changes.
use serde::{Deserialize, Serialize};

use super::batch::TrainBatch;
use super::model::{EagerModel, LossParts};
use crate::error::{EagerError, Result};
use crate::optim::{clip_grad_norm, grad_norm, Adam, AdamConfig};
use crate::rng::SeededRng;

/// Result of one step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StepReport {
    /// Optimiser steps taken so far, this one included.
    pub step: u64,
    /// Learning rate used.
    pub lr: f64,
    /// Global gradient norm before clipping.
    pub grad_norm: f64,
    /// Loss values.
    pub losses: LossParts,
}

/// A model with its optimiser.
#[derive(Debug)]
pub struct Trainer {
    model: EagerModel,
    adam: Adam,
    seed: u64,
}

impl Trainer {
    /// Wraps a model; `seed` drives the per-step randomness. The learning rate starts at
    /// `lr` (change it with [`Trainer::set_learning_rate`]).
    pub fn new(model: EagerModel, seed: u64, lr: f64) -> Result<Self> {
        let o = model.config().optimizer;
        let adam = Adam::new(
            model.params(),
            AdamConfig {
                lr,
                beta1: o.beta1,
                beta2: o.beta2,
                eps: o.eps,
                weight_decay: o.weight_decay,
                decoupled: true,
            },
        )?;
        Ok(Trainer { model, adam, seed })
    }

    /// The model.
    pub fn model(&self) -> &EagerModel {
        &self.model
    }

    /// The optimiser (state for checkpoints).
    pub fn optimizer(&self) -> &Adam {
        &self.adam
    }

    /// Mutable optimiser (restoring state).
    pub fn optimizer_mut(&mut self) -> &mut Adam {
        &mut self.adam
    }

    /// Seed of the per-step randomness.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Sets the learning rate of the next steps.
    pub fn set_learning_rate(&mut self, lr: f64) -> Result<()> {
        if !lr.is_finite() || lr < 0.0 {
            return Err(EagerError::invalid(format!("learning rate must be finite and >= 0, got {lr}")));
        }
        self.adam.set_lr(lr);
        Ok(())
    }

    /// Current learning rate.
    pub fn learning_rate(&self) -> f64 {
        self.adam.lr()
    }

    /// Steps taken so far.
    pub fn step_count(&self) -> u64 {
        self.adam.step_count()
    }

    /// The generator of step `n` (1-based).
    fn step_rng(&self, n: u64) -> SeededRng {
        SeededRng::new(self.seed ^ n.wrapping_mul(0xA076_1D64_78BD_642F))
    }

    /// Loss parts of a batch without training (evaluation mode: no dropout, no update).
    pub fn evaluate(&self, batch: &TrainBatch) -> Result<LossParts> {
        let mut rng = self.step_rng(0);
        rayon::scope(|_| Ok(self.model.losses(batch, &mut rng, false)?.1))
    }

    /// One training step on `batch` (run on a rayon worker thread, so the kernels' parallel
    /// loops start on it instead of handing each op to the pool).
    pub fn step(&mut self, batch: &TrainBatch) -> Result<StepReport> {
        rayon::scope(|_| self.step_on_pool(batch))
    }

    fn step_on_pool(&mut self, batch: &TrainBatch) -> Result<StepReport> {
        let n = self.adam.step_count() + 1;
        let mut rng = self.step_rng(n);
        let (total, losses) = self.model.losses(batch, &mut rng, true)?;
        if !losses.total.is_finite() {
            return Err(EagerError::Numeric(format!(
                "loss is {} at step {n} ({losses:?}); weights not updated",
                losses.total
            )));
        }
        let mut grads = total.backward()?;
        let clip = self.model.config().optimizer.clip_norm;
        let store = self.model.params();
        let norm = if clip > 0.0 {
            clip_grad_norm(store, &mut grads, clip).map_err(|e| match e {
                EagerError::Numeric(m) => EagerError::Numeric(format!("{m} at step {n}; weights not updated")),
                other => other,
            })?
        } else {
            grad_norm(store, &grads)?
        };
        if !norm.is_finite() {
            return Err(EagerError::Numeric(format!("gradient norm is {norm} at step {n}; weights not updated")));
        }
        self.adam.step(store, &grads)?;
        Ok(StepReport { step: n, lr: self.adam.lr(), grad_norm: norm, losses })
    }
}
