//! The two-stream EAGER model: one shared encoder, a behaviour-code decoder and a
//! semantic-code decoder (either may be switched off), the global contrastive task per stream
//! and the semantic-guided transfer task.
//!
//! Total loss `L = L_gen^b + L_gen^s + λ1 (w_b L_con^b + w_s L_con^s) + λ2 (L_recon + L_recog)`,
//! where `L_gen` is the mean cross-entropy over the code tokens of a stream; with the
//! history-unlikelihood extension on, `+ λ3 (L_hist^b + L_hist^s)` (`history.rs`).
use candle_core::Tensor;
use serde::{Deserialize, Serialize};

use super::batch::TrainBatch;
use super::config::{EagerConfig, GctForm};
use super::decoder::CodeDecoder;
use super::encoder::{Encoded, Encoder};
use super::gct::{sample_rows, GctHead, Pretrained};
use super::history::{draw_history_items, history_unlikelihood};
use super::layers::Noise;
use super::stt::SttHead;
use crate::codes::{CodeTable, CodeTrie};
use crate::error::{EagerError, Result};
use crate::nn::ParamStore;
use crate::rng::SeededRng;

/// The two code streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StreamKind {
    Behaviour,
    Semantic,
}

impl StreamKind {
    /// Parameter prefix / display name.
    pub fn name(&self) -> &'static str {
        match self {
            StreamKind::Behaviour => "behaviour",
            StreamKind::Semantic => "semantic",
        }
    }
}

/// What one stream is built from.
pub struct StreamInput<'a> {
    /// The stream's item codes.
    pub codes: &'a CodeTable,
    /// Pretrained item embeddings `[numItems, dim]` row-major (needed when GCT is on).
    pub embeddings: Option<(&'a [f32], usize)>,
}

/// One code stream: its codes, trie, decoder and GCT head.
#[derive(Debug, Clone)]
pub struct Stream {
    pub kind: StreamKind,
    pub codes: CodeTable,
    pub trie: CodeTrie,
    pub decoder: CodeDecoder,
    pub gct: Option<(GctHead, Pretrained)>,
}

impl Stream {
    /// Codes of `items` (ids ≥ 1) as a flat `[N, L]` block.
    pub fn codes_of(&self, items: &[u32]) -> Result<Vec<u32>> {
        let mut out = Vec::with_capacity(items.len() * self.codes.length);
        for &i in items {
            let c = self
                .codes
                .code(i)
                .ok_or_else(|| EagerError::invalid(format!("{} codes: no code for item {i}", self.kind.name())))?;
            out.extend_from_slice(c);
        }
        Ok(out)
    }
}

/// Loss values of one step (absent parts are switched off).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LossParts {
    /// The weighted total that was optimised.
    pub total: f32,
    pub gen_behaviour: Option<f32>,
    pub gen_semantic: Option<f32>,
    pub con_behaviour: Option<f32>,
    pub con_semantic: Option<f32>,
    pub recon: Option<f32>,
    pub recog: Option<f32>,
    /// History unlikelihood per stream (extension, `historyUnlikelihood` > 0).
    pub hist_behaviour: Option<f32>,
    pub hist_semantic: Option<f32>,
}

/// The model (parameters live in its [`ParamStore`]).
#[derive(Debug, Clone)]
pub struct EagerModel {
    cfg: EagerConfig,
    store: ParamStore,
    num_items: usize,
    encoder: Encoder,
    behaviour: Option<Stream>,
    semantic: Option<Stream>,
    stt: Option<SttHead>,
}

fn value(t: &Tensor) -> Result<f32> {
    Ok(t.to_scalar::<f32>()?)
}

impl EagerModel {
    /// Builds a model with weights drawn from `seed`. Inputs for a stream switched off in the
    /// config may be `None`; for a stream that is on they are required.
    pub fn new(
        cfg: EagerConfig,
        num_items: usize,
        behaviour: Option<StreamInput>,
        semantic: Option<StreamInput>,
        seed: u64,
    ) -> Result<Self> {
        cfg.validate()?;
        if num_items == 0 {
            return Err(EagerError::invalid("model: numItems must be >= 1"));
        }
        let device = cfg.device.device()?;
        let mut store = ParamStore::new(device.clone());
        let mut rng = SeededRng::new(seed);
        let mut encoder = Encoder::new(&mut store, &cfg, num_items, &mut rng)?;
        let mut build = |kind: StreamKind,
                         on: bool,
                         input: Option<StreamInput>,
                         store: &mut ParamStore|
         -> Result<(Option<Stream>, Option<Pretrained>)> {
            if !on {
                return Ok((None, None));
            }
            let name = kind.name();
            let input = input.ok_or_else(|| {
                EagerError::invalid(format!("model: the {name} stream is on but no {name} codes were given"))
            })?;
            input.codes.validate()?;
            if input.codes.num_items() != num_items {
                return Err(EagerError::invalid(format!(
                    "model: {name} codes cover {} items, numItems is {num_items}",
                    input.codes.num_items()
                )));
            }
            let (k, l) = (input.codes.k as usize, input.codes.length);
            let decoder = CodeDecoder::new(store, name, &cfg, k, l, &mut rng)?;
            let as_input = match kind {
                StreamKind::Behaviour => cfg.pretrained_inputs.behaviour,
                StreamKind::Semantic => cfg.pretrained_inputs.semantic,
            };
            let table = if cfg.gct.enabled || as_input {
                let (data, dim) = input.embeddings.ok_or_else(|| {
                    EagerError::invalid(format!(
                        "model: GCT or pretrainedInputs.{name} is on but no {name} embeddings were given"
                    ))
                })?;
                Some(Pretrained::new(data, num_items, dim, &format!("{name} embeddings"), &device)?)
            } else {
                None
            };
            let gct = match (&table, cfg.gct.enabled) {
                (Some(table), true) => {
                    Some((GctHead::new(store, name, cfg.hidden, table.dim(), cfg.init_std, &mut rng)?, table.clone()))
                }
                _ => None,
            };
            let trie = CodeTrie::from_table(input.codes)?;
            let stream = Stream { kind, codes: input.codes.clone(), trie, decoder, gct };
            Ok((Some(stream), if as_input { table } else { None }))
        };
        let (behaviour, behaviour_input) = build(StreamKind::Behaviour, cfg.streams.behaviour, behaviour, &mut store)?;
        let (semantic, semantic_input) = build(StreamKind::Semantic, cfg.streams.semantic, semantic, &mut store)?;
        let stt = match (&behaviour, cfg.stt_active()) {
            (Some(b), true) => Some(SttHead::new(&mut store, &cfg, b.codes.k as usize, b.codes.length, &mut rng)?),
            _ => None,
        };
        // Drawn last, so a model without pretrained inputs initialises exactly as before.
        for (kind, table) in [(StreamKind::Behaviour, behaviour_input), (StreamKind::Semantic, semantic_input)] {
            if let Some(table) = table {
                encoder.add_pretrained_input(&mut store, kind.name(), &table, cfg.init_std, &mut rng)?;
            }
        }
        Ok(EagerModel { cfg, store, num_items, encoder, behaviour, semantic, stt })
    }

    /// The configuration.
    pub fn config(&self) -> &EagerConfig {
        &self.cfg
    }

    /// Every trainable variable, by name.
    pub fn params(&self) -> &ParamStore {
        &self.store
    }

    /// Catalogue size.
    pub fn num_items(&self) -> usize {
        self.num_items
    }

    /// The stream of that kind, if it is on.
    pub fn stream(&self, kind: StreamKind) -> Option<&Stream> {
        match kind {
            StreamKind::Behaviour => self.behaviour.as_ref(),
            StreamKind::Semantic => self.semantic.as_ref(),
        }
    }

    /// Streams that are on, behaviour first.
    pub fn streams(&self) -> impl Iterator<Item = &Stream> {
        self.behaviour.iter().chain(self.semantic.iter())
    }

    /// Encodes right-aligned histories `[B, T]`.
    pub fn encode(&self, history: &[u32], b: usize, t: usize, noise: &mut Noise) -> Result<Encoded> {
        self.encoder.forward(history, b, t, noise)
    }

    /// Forward pass of a training batch: the total loss tensor (for backward) and the parts.
    /// `train` switches dropout on; `rng` draws dropout masks, negatives and STT corruptions.
    pub fn losses(&self, batch: &TrainBatch, rng: &mut SeededRng, train: bool) -> Result<(Tensor, LossParts)> {
        let b = batch.len();
        if let Some(&bad) = batch.targets.iter().find(|&&t| t as usize > self.num_items) {
            return Err(EagerError::invalid(format!("batch: target {bad} > numItems {}", self.num_items)));
        }
        // Draws that do not depend on the forward pass come first, from their own generators,
        // so that switching a part off does not change the others' randomness.
        let mut noise_rng = rng.fork(1);
        let mut neg_rng = rng.fork(2);
        let mut stt_rng = rng.fork(3);
        let mut noise = if train { Noise::train(&mut noise_rng) } else { Noise::eval() };
        // Forked only when on, so a model without the extension draws exactly as before.
        let history =
            if self.cfg.history_unlikelihood > 0.0 { Some(draw_history_items(batch, &mut rng.fork(4))) } else { None };
        let enc = self.encoder.forward(&batch.history, b, batch.history_len, &mut noise)?;
        let dev = enc.states.device().clone();
        let target_rows: Vec<u32> = batch.targets.iter().map(|&t| t - 1).collect();
        let target_rows = Tensor::from_vec(target_rows, b, &dev)?;
        let mut parts = LossParts::default();
        let mut total: Option<Tensor> = None;
        let add = |total: &mut Option<Tensor>, t: Tensor| -> Result<()> {
            *total = Some(match total.take() {
                Some(acc) => (acc + t)?,
                None => t,
            });
            Ok(())
        };
        let mut semantic_summary: Option<Tensor> = None;
        let mut behaviour_codes: Option<Vec<u32>> = None;
        for stream in self.streams() {
            let codes = stream.codes_of(&batch.targets)?;
            let summary = match stream.kind {
                StreamKind::Behaviour => self.cfg.behaviour_summary(),
                StreamKind::Semantic => self.cfg.semantic_summary(),
            };
            let kvs = stream.decoder.memory_kvs(&enc.memory())?;
            let out = stream.decoder.forward_train(&codes, b, &enc, &kvs, summary, &mut noise)?;
            let gen = crate::nn::loss::cross_entropy_smoothed(&out.logits, &out.targets, self.cfg.label_smoothing)?;
            let gen_v = value(&gen)?;
            add(&mut total, gen)?;
            if let Some((items, mask)) = &history {
                let hcodes = stream.codes_of(items)?; // [B, L]
                if let Some(h) = history_unlikelihood(&stream.decoder, &hcodes, mask, &enc, &kvs, &mut noise)? {
                    let v = Some(value(&h)?);
                    match stream.kind {
                        StreamKind::Behaviour => parts.hist_behaviour = v,
                        StreamKind::Semantic => parts.hist_semantic = v,
                    }
                    add(&mut total, (h * self.cfg.history_unlikelihood as f64)?)?;
                }
            }
            if let (Some((head, table)), Some(h)) = (&stream.gct, &out.summary) {
                let neg = if self.cfg.gct.form == GctForm::InfoNce {
                    sample_rows(table.num_items(), self.cfg.gct.negatives, &mut neg_rng)
                } else {
                    Vec::new()
                };
                let negt = Tensor::from_vec(neg.clone(), neg.len(), &dev)?;
                let con = head.loss(h, &target_rows, table, &negt, &self.cfg.gct)?;
                let w = match stream.kind {
                    StreamKind::Behaviour => self.cfg.gct.behaviour_weight,
                    StreamKind::Semantic => self.cfg.gct.semantic_weight,
                } * self.cfg.gct.weight;
                let con_v = value(&con)?;
                match stream.kind {
                    StreamKind::Behaviour => parts.con_behaviour = Some(con_v),
                    StreamKind::Semantic => parts.con_semantic = Some(con_v),
                }
                add(&mut total, (con * w as f64)?)?;
            }
            match stream.kind {
                StreamKind::Behaviour => {
                    parts.gen_behaviour = Some(gen_v);
                    behaviour_codes = Some(codes);
                }
                StreamKind::Semantic => {
                    parts.gen_semantic = Some(gen_v);
                    semantic_summary = out.summary;
                }
            }
        }
        if let (Some(stt), Some(bs), Some(codes), Some(sem)) =
            (&self.stt, &self.behaviour, &behaviour_codes, &semantic_summary)
        {
            let l = stt.forward(codes, b, bs.decoder.token_table(), sem, &mut stt_rng, &mut noise)?;
            let w = self.cfg.stt.weight as f64;
            if let Some(r) = l.recon {
                parts.recon = Some(value(&r)?);
                add(&mut total, (r * w)?)?;
            }
            if let Some(r) = l.recog {
                parts.recog = Some(value(&r)?);
                add(&mut total, (r * w)?)?;
            }
        }
        let total = total.ok_or_else(|| EagerError::invalid("model: no loss part is on"))?;
        parts.total = value(&total)?;
        Ok((total, parts))
    }
}
