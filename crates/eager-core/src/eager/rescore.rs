//! Scoring given items by both streams: the `rescore` merge's sum, for any candidate lists.
//!
//! [`EagerModel::score_lists`] gives, for each history, each listed item's
//! `log p_behaviour(code) + w · log p_semantic(code)` (teacher-forced, the softmax over all K
//! tokens of a level): the score the `rescore` merge ranks by. It is what lets several models be
//! combined (an ensemble sums the members' scores of the union of their candidates) and lets a
//! caller rerank its own candidates with a trained model.
use candle_core::Tensor;

use super::encoder::Encoded;
use super::layers::Noise;
use super::model::{EagerModel, Stream, StreamKind};
use crate::error::{EagerError, Result};

/// Checks a `rescore` weight of the semantic stream: finite and >= 0.
pub(super) fn check_semantic_weight(what: &str, w: f32) -> Result<()> {
    if w.is_finite() && w >= 0.0 {
        Ok(())
    } else {
        Err(EagerError::invalid(format!("{what}: semanticWeight must be a finite number >= 0, got {w}")))
    }
}

impl EagerModel {
    /// Per user, the summed stream log-likelihoods (semantic weighted by `semantic_weight`) of
    /// that user's candidate items `cands[u]`, for encoded users whose streams' cross-attention
    /// keys/values are `kvs` (one entry per stream of `streams`). `[B][C_u]`.
    pub(super) fn merged_scores(
        &self,
        streams: &[&Stream],
        enc: &Encoded,
        kvs: &[Vec<Option<Tensor>>],
        cands: &[Vec<u32>],
        semantic_weight: f32,
    ) -> Result<Vec<Vec<f32>>> {
        let mut total: Vec<Vec<f32>> = cands.iter().map(|v| vec![0f32; v.len()]).collect();
        for (s, kv) in streams.iter().zip(kvs) {
            let w = match s.kind {
                StreamKind::Behaviour => 1.0,
                StreamKind::Semantic => semantic_weight,
            };
            for (t, ll) in total.iter_mut().zip(self.score_candidates_with(s, enc, kv, cands)?) {
                for (a, b) in t.iter_mut().zip(ll) {
                    *a += w * b;
                }
            }
        }
        Ok(total)
    }

    /// The `rescore` score of every item of `cands[u]` for history `histories[u]` (oldest item
    /// first): behaviour log-likelihood + `semantic_weight` · semantic log-likelihood of its
    /// codes (a stream that is off adds nothing). Users are encoded `batch_users` at a time.
    /// Items must be in `1..=numItems`; a list may be empty. `[B][C_u]`, in the lists' order.
    pub fn score_lists(
        &self,
        histories: &[&[u32]],
        cands: &[Vec<u32>],
        semantic_weight: f32,
        batch_users: usize,
    ) -> Result<Vec<Vec<f32>>> {
        if histories.len() != cands.len() {
            return Err(EagerError::invalid(format!(
                "score_lists: {} candidate lists for {} histories",
                cands.len(),
                histories.len()
            )));
        }
        check_semantic_weight("score_lists", semantic_weight)?;
        for (u, v) in cands.iter().enumerate() {
            if let Some(&bad) = v.iter().find(|&&i| i == 0 || i as usize > self.num_items()) {
                return Err(EagerError::invalid(format!(
                    "score_lists: list {u}: item {bad} is not in the catalogue 1..={}",
                    self.num_items()
                )));
            }
        }
        let n = batch_users.max(1);
        let streams: Vec<&Stream> = self.streams().collect();
        rayon::scope(|_| {
            let mut out = Vec::with_capacity(histories.len());
            for (hs, cs) in histories.chunks(n).zip(cands.chunks(n)) {
                let (hist, t) = self.history_block(hs)?;
                let enc = self.encode(&hist, hs.len(), t, &mut Noise::eval())?;
                let kvs: Vec<Vec<Option<Tensor>>> =
                    streams.iter().map(|s| s.decoder.memory_kvs(&enc.memory())).collect::<Result<_>>()?;
                out.extend(self.merged_scores(&streams, &enc, &kvs, cs, semantic_weight)?);
            }
            Ok(out)
        })
    }
}
