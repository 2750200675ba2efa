//! Turning user sequences into left-padded training and scoring batches.
use crate::error::{EagerError, Result};

/// Item id 0 is padding.
pub const PAD: u32 = 0;

/// Per-user sequences in one flat buffer: user `u` is `items[offsets[u]..offsets[u+1]]`.
#[derive(Debug, Clone)]
pub struct Sequences {
    items: Vec<u32>,
    offsets: Vec<usize>,
}

impl Sequences {
    /// Checks that offsets are monotone, end at `items.len()`, and that every id is in `1..=num_items`.
    pub fn new(items: Vec<u32>, offsets: Vec<usize>, num_items: usize) -> Result<Self> {
        if offsets.first() != Some(&0) || offsets.last() != Some(&items.len()) {
            return Err(EagerError::invalid(format!(
                "sequences: offsets must start at 0 and end at {} (the item count)",
                items.len()
            )));
        }
        if let Some(w) = offsets.windows(2).position(|w| w[1] < w[0]) {
            return Err(EagerError::invalid(format!("sequences: offsets decrease at user {w}")));
        }
        if let Some(i) = items.iter().position(|&x| x == PAD || x as usize > num_items) {
            return Err(EagerError::invalid(format!(
                "sequences: item id {} at position {i} is outside 1..={num_items}",
                items[i]
            )));
        }
        Ok(Sequences { items, offsets })
    }

    /// Number of users.
    pub fn len(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    /// True when there is no user.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// User `u`'s items.
    pub fn get(&self, u: usize) -> &[u32] {
        &self.items[self.offsets[u]..self.offsets[u + 1]]
    }
}

/// One training window: inputs `seq[start..end]`, targets `seq[start+1..end+1]` of user `user`.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub user: usize,
    pub start: usize,
    pub end: usize,
}

/// Splits every sequence (a training part) into windows of at most `max_len` inputs, from the end
/// backwards, so every next-item pair is a target exactly once and the most recent window has the
/// longest context. Sequences shorter than 2 give nothing.
pub fn training_windows(seqs: &Sequences, max_len: usize) -> Vec<Window> {
    let mut out = Vec::new();
    for u in 0..seqs.len() {
        let n = seqs.get(u).len();
        if n < 2 {
            continue;
        }
        let mut end = n - 1;
        while end > 0 {
            let start = end.saturating_sub(max_len);
            out.push(Window { user: u, start, end });
            end = start;
        }
    }
    out
}

/// A left-padded batch `[B, T]` with the flat positions and 0-based targets of its real tokens.
#[derive(Debug, Clone)]
pub struct TrainBatch {
    /// Row-major `[B, T]` item ids, 0 = padding on the left.
    pub ids: Vec<u32>,
    pub b: usize,
    pub t: usize,
    /// Flat indices `b·T + col` of positions that have a target.
    pub positions: Vec<u32>,
    /// Target item index (item id − 1) per entry of `positions`.
    pub targets: Vec<u32>,
}

/// Builds the batch of `windows` (T = the longest window in the batch).
pub fn train_batch(seqs: &Sequences, windows: &[Window]) -> TrainBatch {
    let b = windows.len();
    let t = windows.iter().map(|w| w.end - w.start).max().unwrap_or(0).max(1);
    let mut ids = vec![PAD; b * t];
    let mut positions = Vec::new();
    let mut targets = Vec::new();
    for (r, w) in windows.iter().enumerate() {
        let s = seqs.get(w.user);
        let len = w.end - w.start;
        let off = r * t + (t - len);
        for j in 0..len {
            ids[off + j] = s[w.start + j];
            positions.push((off + j) as u32);
            targets.push(s[w.start + j + 1] - 1);
        }
    }
    TrainBatch { ids, b, t, positions, targets }
}

/// Left-pads the last `max_len` items of each history into `[B, T]` (T = longest kept history, ≥ 1).
pub fn history_batch(histories: &[&[u32]], max_len: usize) -> (Vec<u32>, usize, usize) {
    let b = histories.len();
    let t = histories.iter().map(|h| h.len().min(max_len)).max().unwrap_or(0).max(1);
    let mut ids = vec![PAD; b * t];
    for (r, h) in histories.iter().enumerate() {
        let kept = &h[h.len() - h.len().min(max_len)..];
        let off = r * t + (t - kept.len());
        ids[off..off + kept.len()].copy_from_slice(kept);
    }
    (ids, b, t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_cover_every_pair_once() -> Result<()> {
        let s = Sequences::new(vec![1, 2, 3, 4, 5, 6, 7, 9, 9], vec![0, 7, 8, 9], 9)?;
        let w = training_windows(&s, 3);
        // user 0 has 6 pairs: windows [3,6), [0,3); users 1 and 2 have none.
        assert_eq!(w.len(), 2);
        let b = train_batch(&s, &w);
        assert_eq!((b.b, b.t), (2, 3));
        assert_eq!(b.ids, vec![4, 5, 6, 1, 2, 3]);
        assert_eq!(b.targets, vec![4, 5, 6, 1, 2, 3]); // items 5,6,7,2,3,4 as 0-based
        let (ids, bb, t) = history_batch(&[&[1, 2, 3, 4][..], &[7][..]], 3);
        assert_eq!((bb, t), (2, 3));
        assert_eq!(ids, vec![2, 3, 4, 0, 0, 7]);
        assert!(Sequences::new(vec![1, 0], vec![0, 2], 5).is_err());
        assert!(Sequences::new(vec![1, 6], vec![0, 2], 5).is_err());
        assert!(Sequences::new(vec![1, 2], vec![0, 1], 5).is_err());
        Ok(())
    }
}
