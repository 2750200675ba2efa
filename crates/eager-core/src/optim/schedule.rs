//! Learning-rate schedules (the optimiser's lr is set from these each step).

/// Learning rate as a function of the 1-based update number.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LrSchedule {
    /// Always `base`.
    Constant,
    /// Linear warm-up over `warmup` steps to `base`, then `base · sqrt(warmup / step)`
    /// (the EAGER code's schedule).
    WarmupInverseSqrt { warmup: u64 },
    /// Linear warm-up, then linear decay to `base · min_ratio` at `total` steps (constant after).
    WarmupLinear { warmup: u64, total: u64, min_ratio: f64 },
    /// Linear warm-up, then cosine decay to `base · min_ratio` at `total` steps (constant after).
    WarmupCosine { warmup: u64, total: u64, min_ratio: f64 },
}

impl LrSchedule {
    /// Learning rate for update `step` (1-based; step 0 is treated as 1).
    pub fn lr_at(&self, base: f64, step: u64) -> f64 {
        let s = step.max(1) as f64;
        let warm = |w: u64| if w > 0 && s < w as f64 { s / w as f64 } else { 1.0 };
        match *self {
            LrSchedule::Constant => base,
            LrSchedule::WarmupInverseSqrt { warmup } => {
                if warmup > 0 && s < warmup as f64 {
                    base * s / warmup as f64
                } else {
                    base * (warmup.max(1) as f64 / s).sqrt()
                }
            }
            LrSchedule::WarmupLinear { warmup, total, min_ratio } => {
                if s < warmup as f64 {
                    return base * warm(warmup);
                }
                let frac = decay_fraction(s, warmup, total);
                base * (1.0 - (1.0 - min_ratio) * frac)
            }
            LrSchedule::WarmupCosine { warmup, total, min_ratio } => {
                if s < warmup as f64 {
                    return base * warm(warmup);
                }
                let frac = decay_fraction(s, warmup, total);
                let cos = 0.5 * (1.0 + (std::f64::consts::PI * frac).cos());
                base * (min_ratio + (1.0 - min_ratio) * cos)
            }
        }
    }
}

/// Progress through the decay phase in [0, 1].
fn decay_fraction(s: f64, warmup: u64, total: u64) -> f64 {
    let span = total.saturating_sub(warmup).max(1) as f64;
    ((s - warmup as f64) / span).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_of_schedules() {
        let inv = LrSchedule::WarmupInverseSqrt { warmup: 100 };
        assert!((inv.lr_at(1e-3, 50) - 5e-4).abs() < 1e-12);
        assert!((inv.lr_at(1e-3, 100) - 1e-3).abs() < 1e-12);
        assert!((inv.lr_at(1e-3, 400) - 5e-4).abs() < 1e-12);
        let lin = LrSchedule::WarmupLinear { warmup: 10, total: 110, min_ratio: 0.0 };
        assert!((lin.lr_at(1.0, 5) - 0.5).abs() < 1e-12);
        assert!((lin.lr_at(1.0, 60) - 0.5).abs() < 1e-12);
        assert!(lin.lr_at(1.0, 500).abs() < 1e-12);
        let cos = LrSchedule::WarmupCosine { warmup: 0, total: 100, min_ratio: 0.1 };
        assert!((cos.lr_at(1.0, 50) - 0.55).abs() < 1e-12);
        assert!((cos.lr_at(1.0, 100) - 0.1).abs() < 1e-12);
        assert_eq!(LrSchedule::Constant.lr_at(0.3, 7), 0.3);
    }
}
