//! History unlikelihood (an extension of this project; off unless `historyUnlikelihood` > 0).
//!
//! In the benchmark sets no target repeats an item of its user's history, yet the beam search
//! puts one of the user's own items in about half of the top-10 lists: the items the encoder
//! reads are the ones closest to what it predicts. The generation loss only pushes such an item
//! down as one of the K - 1 wrong tokens of a level. This term adds, per sample, one item drawn
//! from its own history and, per stream, the unlikelihood of that item's **last** code token
//! given the item's own prefix:
//!
//! `L_hist = mean_rows -log(1 - p(h_L | x, h_<L))`
//!
//! Only the leaf is penalised, never a prefix: a history item usually shares its upper code
//! levels with the target (they are similar items), and pushing a shared prefix down would push
//! the target down with it. The leaf is the one token no other item shares.
use candle_core::Tensor;

use super::batch::TrainBatch;
use super::decoder::CodeDecoder;
use super::encoder::Encoded;
use super::layers::Noise;
use crate::error::Result;
use crate::rng::SeededRng;

/// `1 - p` is floored at this before the log (a history item the decoder is sure of).
const FLOOR: f64 = 1e-6;

/// One history item per sample `[B]`, drawn uniformly among the sample's non-padding items, and
/// the row mask `[B]` (1 = penalise): 0 where the sample has no history or drew its own target.
/// Drawn items of masked rows are replaced by the target (a valid item, weighted 0).
pub fn draw_history_items(batch: &TrainBatch, rng: &mut SeededRng) -> (Vec<u32>, Vec<f32>) {
    let t = batch.history_len;
    let mut items = Vec::with_capacity(batch.len());
    let mut mask = Vec::with_capacity(batch.len());
    for (r, &target) in batch.targets.iter().enumerate() {
        let row = &batch.history[r * t..(r + 1) * t];
        // right-aligned: the non-padding items are a suffix of the row
        let first = row.iter().position(|&i| i != 0).unwrap_or(t);
        let n = t - first;
        let drawn = if n == 0 { 0 } else { row[first + rng.below(n)] };
        if drawn == 0 || drawn == target {
            items.push(target);
            mask.push(0.0);
        } else {
            items.push(drawn);
            mask.push(1.0);
        }
    }
    (items, mask)
}

/// The masked mean over rows of `-log(1 - p(leaf | prefix))` for the codes `[B, L]` of the drawn
/// items (scalar); `None` when every row is masked.
pub fn history_unlikelihood(
    decoder: &CodeDecoder,
    codes: &[u32],
    mask: &[f32],
    enc: &Encoded,
    kvs: &[Option<Tensor>],
    noise: &mut Noise,
) -> Result<Option<Tensor>> {
    let b = mask.len();
    let count: f32 = mask.iter().sum();
    if count == 0.0 {
        return Ok(None);
    }
    let logp = decoder.last_token_log_probs_train(codes, b, enc, kvs, noise)?; // [B]
    let keep = (logp.exp()?.neg()? + (1.0 + FLOOR))?; // [B]: 1 - p + floor
    let rows = keep.log()?.neg()?; // [B]
    let mask = Tensor::from_slice(mask, b, rows.device())?; // [B]
    Ok(Some(((rows * mask)?.sum_all()? / count as f64)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_one_history_item_per_row_and_masks_rows_without_one() -> Result<()> {
        // rows: three items; no history; only its own target; two items
        let batch = TrainBatch::new(vec![4, 5, 6, 0, 0, 0, 0, 0, 7, 0, 8, 9], vec![1, 2, 7, 3], 3)?;
        let (items, mask) = draw_history_items(&batch, &mut SeededRng::new(3));
        assert_eq!(mask, vec![1.0, 0.0, 0.0, 1.0]);
        assert!([4, 5, 6].contains(&items[0]), "{items:?}");
        assert_eq!(items[1..3], [2, 7]); // masked rows carry their target
        assert!([8, 9].contains(&items[3]), "{items:?}");
        // deterministic per seed, and every history item is drawn over many draws
        assert_eq!(draw_history_items(&batch, &mut SeededRng::new(3)), (items, mask));
        let mut rng = SeededRng::new(4);
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..60 {
            seen.insert(draw_history_items(&batch, &mut rng).0[0]);
        }
        assert_eq!(seen.into_iter().collect::<Vec<_>>(), vec![4, 5, 6]);
        Ok(())
    }
}
