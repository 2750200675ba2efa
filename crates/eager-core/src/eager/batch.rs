//! Training batch layout.
//!
//! Histories are a row-major `[B, T]` matrix of item ids, **right-aligned**: each row ends with
//! the most recent item and is left-padded with 0. `T <= maxHistory` may change from batch to
//! batch (positions are counted from the right, so a batch of short histories can use a
//! smaller `T`). Targets are the next item of each row, ids in `1..=numItems`.
use crate::error::{EagerError, Result};

/// One batch of (history, next item) training samples.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrainBatch {
    /// `[B, T]` item ids, right-aligned, 0 = padding.
    pub history: Vec<u32>,
    /// `[B]` target item ids (≥ 1).
    pub targets: Vec<u32>,
    /// T.
    pub history_len: usize,
}

impl TrainBatch {
    /// Checks shapes (ids against the catalogue are checked by the model).
    pub fn new(history: Vec<u32>, targets: Vec<u32>, history_len: usize) -> Result<Self> {
        let b = targets.len();
        if b == 0 {
            return Err(EagerError::invalid("batch: no samples"));
        }
        if history_len == 0 || history.len() != b * history_len {
            return Err(EagerError::invalid(format!(
                "batch: history has {} ids, expected batch {b} × historyLen {history_len}",
                history.len()
            )));
        }
        if let Some(p) = targets.iter().position(|&t| t == 0) {
            return Err(EagerError::invalid(format!("batch: target {p} is 0 (the padding id)")));
        }
        Ok(TrainBatch { history, targets, history_len })
    }

    /// Builds a batch from per-sample histories (oldest first): each keeps its last
    /// `max_history` items; `T` = the longest kept history (at least 1).
    pub fn from_sequences(histories: &[&[u32]], targets: &[u32], max_history: usize) -> Result<Self> {
        if histories.len() != targets.len() {
            return Err(EagerError::invalid(format!(
                "batch: {} histories but {} targets",
                histories.len(),
                targets.len()
            )));
        }
        let t = histories.iter().map(|h| h.len().min(max_history)).max().unwrap_or(0).max(1);
        TrainBatch::new(right_align(histories, t), targets.to_vec(), t)
    }

    /// Number of samples B.
    pub fn len(&self) -> usize {
        self.targets.len()
    }

    /// True when the batch has no samples (never, for a constructed batch).
    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }
}

/// Right-aligns histories into a `[B, t]` matrix, keeping each one's last `t` items.
pub fn right_align(histories: &[&[u32]], t: usize) -> Vec<u32> {
    let mut out = vec![0u32; histories.len() * t];
    for (row, h) in out.chunks_mut(t.max(1)).zip(histories) {
        let keep = h.len().min(t);
        row[t - keep..].copy_from_slice(&h[h.len() - keep..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn right_aligned_and_truncated() -> Result<()> {
        let b = TrainBatch::from_sequences(&[&[1, 2, 3, 4], &[5]], &[9, 8], 3)?;
        assert_eq!(b.history_len, 3);
        assert_eq!(b.history, vec![2, 3, 4, 0, 0, 5]);
        assert!(TrainBatch::new(vec![1, 2], vec![0], 2).is_err());
        assert!(TrainBatch::new(vec![1, 2, 3], vec![1], 2).is_err());
        Ok(())
    }
}
