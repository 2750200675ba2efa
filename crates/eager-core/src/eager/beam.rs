//! Constrained two-stream beam search and recommendation.
//!
//! Per stream, beam search walks the stream's code trie: at every level only tokens that
//! extend a prefix of an existing item code are candidates, so every finished beam is a real
//! item (distinct full codes are distinct items). Users are batched; the encoder runs once per
//! user and each decoder layer projects the encoder output to keys/values once; the beams of a
//! user are folded into the query axis of cross-attention (no copies of the encoder output).
//! Beam scores are `Σ_l log p(c_l | c_<l)` with the softmax over all K tokens of a level.
//!
//! Merging the two streams ([`MergeMode`]):
//! - `confidence` (paper): every finished beam of both streams gets its mean per-token
//!   log-probability (comparable across streams with different code lengths); an item found by
//!   both keeps its best; rank by it.
//! - `rescore` (released code): the union of each stream's top `perStream` items is scored by
//!   the sum of both streams' teacher-forced code log-likelihoods; rank by that sum. The
//!   semantic stream's term can be weighted (`semanticWeight`, 1 = the released code's plain
//!   sum), a decoding choice to make on validation data.
//!
//! Either way, exactly `min(k, numItems)` distinct items come back (the beam is widened to at
//! least `k`, and one stream alone then finds `k` distinct items).
use candle_core::Tensor;
use serde::{Deserialize, Serialize};

use super::encoder::Encoded;
use super::layers::Noise;
use super::model::{EagerModel, Stream, StreamKind};
use super::rescore::check_semantic_weight;
use crate::codes::CodeTrie;
use crate::error::{EagerError, Result};

/// How the two streams' candidates are merged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum MergeMode {
    /// Paper: rank by per-token code log-probability.
    Confidence,
    /// Released code: rescore the union by both streams' summed log-likelihoods.
    #[default]
    Rescore,
}

/// Options of [`EagerModel::recommend`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct RecommendOptions {
    /// Items to return (clamped to the catalogue size).
    pub k: usize,
    /// Beam width per stream (widened to at least `k`).
    pub beam: usize,
    /// Merge rule.
    pub merge: MergeMode,
    /// `rescore`: candidates taken from each stream (0 = `k`; widened to at least `k`).
    pub per_stream: usize,
    /// `rescore`: weight of the semantic stream's log-likelihood in the sum (behaviour: 1).
    /// 1 = the released code; finite and >= 0.
    pub semantic_weight: f32,
    /// Users decoded together (memory bound).
    pub batch_users: usize,
}

impl Default for RecommendOptions {
    fn default() -> Self {
        RecommendOptions {
            k: 10,
            beam: 20,
            merge: MergeMode::Rescore,
            per_stream: 0,
            semantic_weight: 1.0,
            batch_users: 64,
        }
    }
}

/// Ranked items for one user, best first, with their merge scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recommendation {
    pub items: Vec<u32>,
    pub scores: Vec<f32>,
}

/// A live beam: trie node, tokens so far, summed log-probability, and its row in the
/// decoder state (and in the current log-probability block).
#[derive(Debug, Clone)]
struct Beam {
    node: u32,
    tokens: Vec<u32>,
    score: f32,
    row: u32,
}

/// Sorts (item, score) best first; ties by item id for determinism.
fn sort_desc(v: &mut [(u32, f32)]) {
    v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
}

/// The `n` best candidates `(score, beam, token, child)` of `beams` as new beams (score
/// descending, then lexicographic tokens); the new beams' `row` is their parent's until the
/// caller lays out the next level.
fn keep_best(beams: &[Beam], mut cands: Vec<(f32, u32, u32, u32)>, n: usize) -> Vec<Beam> {
    let by = |a: &(f32, u32, u32, u32), b: &(f32, u32, u32, u32)| {
        b.0.total_cmp(&a.0).then_with(|| {
            let (ta, tb) = (&beams[a.1 as usize].tokens, &beams[b.1 as usize].tokens);
            ta.cmp(tb).then(a.2.cmp(&b.2))
        })
    };
    if cands.len() > n {
        cands.select_nth_unstable_by(n, by);
        cands.truncate(n);
    }
    cands.sort_by(by);
    cands
        .into_iter()
        .map(|(score, j, t, child)| {
            let parent = &beams[j as usize];
            let mut tokens = Vec::with_capacity(parent.tokens.len() + 1);
            tokens.extend_from_slice(&parent.tokens);
            tokens.push(t);
            Beam { node: child, tokens, score, row: parent.row }
        })
        .collect()
}

impl EagerModel {
    /// Validates and right-aligns histories (each keeps its last `maxHistory` items).
    pub(super) fn history_block(&self, histories: &[&[u32]]) -> Result<(Vec<u32>, usize)> {
        for (u, h) in histories.iter().enumerate() {
            if h.is_empty() {
                return Err(EagerError::invalid(format!("history {u} is empty")));
            }
            if let Some(&bad) = h.iter().find(|&&i| i == 0 || i as usize > self.num_items()) {
                return Err(EagerError::invalid(format!(
                    "history {u}: item {bad} is not in the catalogue 1..={}",
                    self.num_items()
                )));
            }
        }
        let t = histories.iter().map(|h| h.len()).max().unwrap_or(1).min(self.config().max_history).max(1);
        Ok((super::batch::right_align(histories, t), t))
    }

    /// Beam search in one stream for encoded users; per user up to `beam` finished
    /// `(item, log-likelihood)`, best first. Decoding is incremental: each level runs only the
    /// newest position of every beam over the cached keys | values of its prefix.
    pub fn beam_search(&self, stream: &Stream, enc: &Encoded, beam: usize) -> Result<Vec<Vec<(u32, f32)>>> {
        let kvs = stream.decoder.memory_kvs(&enc.memory())?;
        self.beam_search_with(stream, enc, &kvs, beam)
    }

    /// [`EagerModel::beam_search`] with the stream's cross-attention keys/values `kvs` already
    /// projected from `enc` (shared with candidate rescoring).
    fn beam_search_with(
        &self,
        stream: &Stream,
        enc: &Encoded,
        kvs: &[Option<Tensor>],
        beam: usize,
    ) -> Result<Vec<Vec<(u32, f32)>>> {
        let b = enc.states.dim(0)?;
        let dec = &stream.decoder;
        let trie: &CodeTrie = &stream.trie;
        let (k, l) = (dec.k(), dec.code_len());
        let beam = beam.max(1);
        // Level 0: one row per user (the start token), beam j of user u reads row `row`.
        let (mut logp, mut state) = dec.start(b, enc, kvs)?; // [B, K]
        let mut beams: Vec<Vec<Beam>> = (0..b)
            .map(|u| vec![Beam { node: CodeTrie::ROOT, tokens: Vec::new(), score: 0.0, row: u as u32 }])
            .collect();
        for level in 0..l {
            let lp: Vec<f32> = logp.flatten_all()?.to_vec1()?;
            for v in beams.iter_mut() {
                // Candidates as (score, beam, token, child); only the kept ones become beams.
                let mut cands: Vec<(f32, u32, u32, u32)> = Vec::new();
                for (j, bm) in v.iter().enumerate() {
                    let row = &lp[bm.row as usize * k..(bm.row as usize + 1) * k];
                    for &t in trie.allowed_tokens(bm.node) {
                        if let Some(child) = trie.child(bm.node, t) {
                            cands.push((bm.score + row[t as usize], j as u32, t, child));
                        }
                    }
                }
                *v = keep_best(v, cands, beam);
            }
            if level + 1 == l {
                break;
            }
            // Same number of rows per user (query folding); padding rows repeat a real beam.
            let r = beams.iter().map(|v| v.len()).max().unwrap_or(1).max(1);
            let mut parents = Vec::with_capacity(b * r);
            let mut tokens = Vec::with_capacity(b * r);
            for (u, v) in beams.iter_mut().enumerate() {
                for j in 0..r {
                    let (parent, token) =
                        v.get(j).or_else(|| v.first()).map_or((0, 0), |bm| (bm.row, bm.tokens[level]));
                    parents.push(parent);
                    tokens.push(token);
                }
                for (j, bm) in v.iter_mut().enumerate() {
                    bm.row = (u * r + j) as u32;
                }
            }
            (logp, state) = dec.step(&state, &parents, &tokens, enc, kvs)?; // [B·R, K]
        }
        Ok(beams
            .into_iter()
            .map(|v| {
                let mut out: Vec<(u32, f32)> =
                    v.iter().filter_map(|bm| trie.item_of_node(bm.node).map(|i| (i, bm.score))).collect();
                sort_desc(&mut out);
                out
            })
            .collect())
    }

    /// Code log-likelihood in one stream of each user's candidate items `cands[u]` for encoded
    /// users, decoded incrementally with every distinct code prefix of a user run once (the
    /// candidates of a user share most first-level prefixes). Same values as
    /// [`EagerModel::score_items`], a fraction of the work.
    pub fn score_candidates(&self, stream: &Stream, enc: &Encoded, cands: &[Vec<u32>]) -> Result<Vec<Vec<f32>>> {
        let kvs = stream.decoder.memory_kvs(&enc.memory())?;
        self.score_candidates_with(stream, enc, &kvs, cands)
    }

    /// [`EagerModel::score_candidates`] with the stream's projected `kvs` (see
    /// [`EagerModel::beam_search_with`]).
    pub(super) fn score_candidates_with(
        &self,
        stream: &Stream,
        enc: &Encoded,
        kvs: &[Option<Tensor>],
        cands: &[Vec<u32>],
    ) -> Result<Vec<Vec<f32>>> {
        let b = cands.len();
        if b != enc.states.dim(0)? {
            return Err(EagerError::invalid(format!(
                "score_candidates: {b} candidate lists for {} users",
                enc.states.dim(0)?
            )));
        }
        let dec = &stream.decoder;
        let (k, l) = (dec.k(), dec.code_len());
        let codes: Vec<Vec<u32>> = cands.iter().map(|v| stream.codes_of(v)).collect::<Result<_>>()?; // [C_u · L] each
        let mut scores: Vec<Vec<f32>> = cands.iter().map(|v| vec![0f32; v.len()]).collect();
        let (mut logp, mut state) = dec.start(b, enc, kvs)?; // [B, K]
                                                             // Row of the current log-probability block that holds each candidate's prefix.
        let mut row_of: Vec<Vec<u32>> = cands.iter().enumerate().map(|(u, v)| vec![u as u32; v.len()]).collect();
        for level in 0..l {
            let lp: Vec<f32> = logp.flatten_all()?.to_vec1()?;
            for u in 0..b {
                for (i, s) in scores[u].iter_mut().enumerate() {
                    *s += lp[row_of[u][i] as usize * k + codes[u][i * l + level] as usize];
                }
            }
            if level + 1 == l {
                break;
            }
            // Distinct (parent row, token) pairs per user become the next level's rows; every
            // user gets the same number R of rows (query folding), padding repeats a real one.
            let mut distinct: Vec<Vec<(u32, u32)>> = Vec::with_capacity(b);
            for u in 0..b {
                let mut pairs: Vec<(u32, u32)> =
                    (0..cands[u].len()).map(|i| (row_of[u][i], codes[u][i * l + level])).collect();
                pairs.sort_unstable();
                pairs.dedup();
                distinct.push(pairs);
            }
            let r = distinct.iter().map(|v| v.len()).max().unwrap_or(1).max(1);
            let mut parents = Vec::with_capacity(b * r);
            let mut tokens = Vec::with_capacity(b * r);
            for (u, pairs) in distinct.iter().enumerate() {
                for j in 0..r {
                    // A user without candidates takes any valid row (its output is never read).
                    let (p, t) = pairs.get(j).or_else(|| pairs.first()).copied().unwrap_or((0, 0));
                    parents.push(p);
                    tokens.push(t);
                }
                for (i, row) in row_of[u].iter_mut().enumerate() {
                    let key = (*row, codes[u][i * l + level]);
                    let j =
                        pairs.binary_search(&key).map_err(|_| EagerError::invalid("score_candidates: lost prefix"))?;
                    *row = (u * r + j) as u32;
                }
            }
            (logp, state) = dec.step(&state, &parents, &tokens, enc, kvs)?; // [B·R, K]
        }
        Ok(scores)
    }

    /// Teacher-forced code log-likelihood in one stream of `items` `[B, C]` (row-major, C per
    /// user) for encoded users. Returns `[B·C]`.
    pub fn score_items(&self, stream: &Stream, enc: &Encoded, items: &[u32], per_user: usize) -> Result<Vec<f32>> {
        let b = enc.states.dim(0)?;
        if per_user == 0 || items.len() != b * per_user {
            return Err(EagerError::invalid(format!("score_items: {} items for {b} users × {per_user}", items.len())));
        }
        let kvs = stream.decoder.memory_kvs(&enc.memory())?;
        let codes = stream.codes_of(items)?;
        stream.decoder.code_log_likelihood(&codes, items.len(), enc, &kvs)
    }

    /// Log-likelihood of every item's code in stream `kind` for one history (exhaustive
    /// scoring, for tests and analysis): `[numItems]`, entry `i` = item `i + 1`.
    pub fn score_all(&self, kind: StreamKind, history: &[u32]) -> Result<Vec<f32>> {
        let stream =
            self.stream(kind).ok_or_else(|| EagerError::invalid(format!("the {} stream is off", kind.name())))?;
        let (hist, t) = self.history_block(&[history])?;
        let enc = self.encode(&hist, 1, t, &mut Noise::eval())?;
        let items: Vec<u32> = (1..=self.num_items() as u32).collect();
        self.score_items(stream, &enc, &items, items.len())
    }

    /// Top-k items for each history (oldest item first; unknown ids and empty histories are
    /// errors).
    ///
    /// The whole call runs on a rayon worker thread: the kernels' parallel loops then start
    /// on the calling worker instead of each handing its work to the pool and sleeping until it
    /// is done (a thread switch per op, which dominated single-user latency).
    pub fn recommend(&self, histories: &[&[u32]], opts: &RecommendOptions) -> Result<Vec<Recommendation>> {
        if opts.k == 0 {
            return Err(EagerError::invalid("recommend: k must be >= 1"));
        }
        check_semantic_weight("recommend", opts.semantic_weight)?;
        rayon::scope(|_| {
            let mut out = Vec::with_capacity(histories.len());
            for chunk in histories.chunks(opts.batch_users.max(1)) {
                out.extend(self.recommend_chunk(chunk, opts)?);
            }
            Ok(out)
        })
    }

    fn recommend_chunk(&self, histories: &[&[u32]], opts: &RecommendOptions) -> Result<Vec<Recommendation>> {
        let b = histories.len();
        let k = opts.k.min(self.num_items());
        let beam = opts.beam.max(k);
        let (hist, t) = self.history_block(histories)?;
        let enc = self.encode(&hist, b, t, &mut Noise::eval())?;
        let streams: Vec<&Stream> = self.streams().collect();
        // Cross-attention keys/values once per stream, for the beam search and the rescoring.
        let kvs: Vec<Vec<Option<Tensor>>> =
            streams.iter().map(|s| s.decoder.memory_kvs(&enc.memory())).collect::<Result<_>>()?;
        let found: Vec<Vec<Vec<(u32, f32)>>> =
            streams.iter().zip(&kvs).map(|(s, kv)| self.beam_search_with(s, &enc, kv, beam)).collect::<Result<_>>()?;
        match opts.merge {
            MergeMode::Confidence => Ok((0..b)
                .map(|u| {
                    let mut best: std::collections::HashMap<u32, f32> = std::collections::HashMap::new();
                    for (s, per) in streams.iter().zip(&found) {
                        let len = s.decoder.code_len() as f32;
                        for &(item, ll) in &per[u] {
                            let c = ll / len;
                            let e = best.entry(item).or_insert(f32::NEG_INFINITY);
                            *e = e.max(c);
                        }
                    }
                    let mut v: Vec<(u32, f32)> = best.into_iter().collect();
                    sort_desc(&mut v);
                    v.truncate(k);
                    Recommendation { items: v.iter().map(|x| x.0).collect(), scores: v.iter().map(|x| x.1).collect() }
                })
                .collect()),
            MergeMode::Rescore => {
                let per_stream = if opts.per_stream == 0 { k } else { opts.per_stream.max(k) };
                // Union of each stream's top candidates, scored by both streams.
                let cands: Vec<Vec<u32>> = (0..b)
                    .map(|u| {
                        let mut v: Vec<u32> = Vec::new();
                        for per in &found {
                            for &(item, _) in per[u].iter().take(per_stream) {
                                if !v.contains(&item) {
                                    v.push(item);
                                }
                            }
                        }
                        v
                    })
                    .collect();
                let total = self.merged_scores(&streams, &enc, &kvs, &cands, opts.semantic_weight)?;
                Ok((0..b)
                    .map(|u| {
                        let mut v: Vec<(u32, f32)> = cands[u].iter().copied().zip(total[u].iter().copied()).collect();
                        sort_desc(&mut v);
                        v.truncate(k);
                        Recommendation {
                            items: v.iter().map(|x| x.0).collect(),
                            scores: v.iter().map(|x| x.1).collect(),
                        }
                    })
                    .collect())
            }
        }
    }
}
