//! Optimisation: Adam/AdamW over a [`crate::nn::ParamStore`], learning-rate schedules, gradient clipping.
//!
//! One training step:
//! ```ignore
//! let mut grads = loss.backward()?;
//! let norm = clip_grad_norm(&store, &mut grads, 1.0)?;   // optional
//! adam.set_lr(schedule.lr_at(base_lr, adam.step_count() + 1));
//! adam.step(&store, &grads)?;
//! ```
pub mod adam;
pub mod clip;
pub mod schedule;

pub use adam::{Adam, AdamConfig};
pub use clip::{clip_grad_norm, grad_norm};
pub use schedule::LrSchedule;
