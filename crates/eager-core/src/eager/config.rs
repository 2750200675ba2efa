//! Configuration of the EAGER model and its training step, with validation.
//!
//! The TypeScript zod schema (`ts/model/config.ts`) mirrors this struct field for field (JSON
//! keys are camelCase); this side checks everything again at the Rust boundary, naming the field.
use serde::{Deserialize, Serialize};

use crate::error::{EagerError, Result};

/// Where tensors live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum DeviceKind {
    /// The CPU (always available).
    #[default]
    Cpu,
    /// CUDA device 0; needs the crate built with the `cuda` feature.
    Cuda,
}

impl DeviceKind {
    /// The candle device, or a clear error when CUDA support was not compiled in.
    pub fn device(&self) -> Result<candle_core::Device> {
        match self {
            DeviceKind::Cpu => Ok(candle_core::Device::Cpu),
            #[cfg(feature = "cuda")]
            DeviceKind::Cuda => Ok(candle_core::Device::new_cuda(0)?),
            #[cfg(not(feature = "cuda"))]
            DeviceKind::Cuda => Err(EagerError::invalid(
                "device: `cuda` needs eager-core built with the `cuda` feature (this build is CPU-only)",
            )),
        }
    }
}

/// Which code streams the model has (ablations: behaviour only, semantic only = TIGER-like).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct StreamsConfig {
    /// Decoder generating the behaviour code (codes from the behaviour embedding `E^b`).
    pub behaviour: bool,
    /// Decoder generating the semantic code (codes from the text embedding `E^s`).
    pub semantic: bool,
}

impl Default for StreamsConfig {
    fn default() -> Self {
        StreamsConfig { behaviour: true, semantic: true }
    }
}

/// Form of the global contrastive task's loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum GctForm {
    /// Released code: InfoNCE with cosine similarity, temperature and shared sampled negatives.
    InfoNce,
    /// Paper: positive-only smooth-L1 distance between projection and pretrained embedding.
    SmoothL1,
    /// Paper variant: positive-only cosine distance `1 - cos`.
    Cosine,
}

/// Global contrastive task: the summary token's state, projected, matches the target item's
/// pretrained embedding (`E^b` in the behaviour decoder, `E^s` in the semantic one).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct GctConfig {
    /// Switch (ablation "no GCT").
    pub enabled: bool,
    /// λ1 of the total loss.
    pub weight: f32,
    /// Loss form.
    pub form: GctForm,
    /// InfoNCE temperature τ.
    pub temperature: f32,
    /// InfoNCE: number of shared negatives sampled per step (capped at the catalogue size).
    pub negatives: usize,
    /// Per-stream weight of the behaviour decoder's term.
    pub behaviour_weight: f32,
    /// Per-stream weight of the semantic decoder's term.
    pub semantic_weight: f32,
    /// Smooth-L1 β.
    pub smooth_l1_beta: f32,
}

impl Default for GctConfig {
    fn default() -> Self {
        GctConfig {
            enabled: true,
            weight: 1.0,
            form: GctForm::InfoNce,
            temperature: 0.3,
            negatives: 2048,
            behaviour_weight: 1.0,
            semantic_weight: 10.0,
            smooth_l1_beta: 1.0,
        }
    }
}

/// Semantic-guided transfer task (paper version): an auxiliary bidirectional decoder over
/// `[CLS, behaviour code tokens]` cross-attending to the semantic summary state.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct SttConfig {
    /// Switch (ablation "no STT"); needs both streams.
    pub enabled: bool,
    /// λ2 of the total loss.
    pub weight: f32,
    /// Reconstruction of masked tokens on/off.
    pub reconstruction: bool,
    /// Recognition of corrupted code sequences on/off.
    pub recognition: bool,
    /// Fraction m of code tokens masked for reconstruction (at least one token).
    pub mask_ratio: f32,
    /// Fraction of code tokens replaced by a different random token for recognition negatives
    /// (at least one token).
    pub replace_ratio: f32,
    /// J: sampled negative token embeddings per masked token (capped at K - 1).
    pub negatives: usize,
    /// Temperature of the reconstruction contrastive loss (dot products / τ).
    pub temperature: f32,
    /// Layers of the auxiliary decoder.
    pub layers: usize,
    /// FFN width of the auxiliary decoder (0 = 2 × hidden).
    pub ffn: usize,
    /// Dropout inside the auxiliary decoder.
    pub dropout: f32,
}

impl Default for SttConfig {
    fn default() -> Self {
        SttConfig {
            enabled: true,
            weight: 1.0,
            reconstruction: true,
            recognition: true,
            mask_ratio: 0.5,
            replace_ratio: 0.5,
            negatives: 127,
            temperature: 1.0,
            layers: 1,
            ffn: 0,
            dropout: 0.0,
        }
    }
}

/// Pretrained item embeddings fed to the shared encoder (an extension, off in the paper): each
/// one that is on adds `W · unit(E[item])` (a learned projection of the L2-normalised row) to
/// the encoder's item-id embedding, so rare items start from what the behaviour model / text
/// encoder know about them instead of a random vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct PretrainedInputsConfig {
    /// Add the behaviour embeddings `E^b` (needs the behaviour stream and its embeddings).
    pub behaviour: bool,
    /// Add the semantic embeddings `E^s` (needs the semantic stream and its embeddings).
    pub semantic: bool,
}

/// Adam hyper-parameters of the training step (the learning rate is set per step by the caller).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct OptimizerConfig {
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    /// Decoupled (AdamW) weight decay; 0 = plain Adam.
    pub weight_decay: f64,
    /// Global gradient-norm clipping threshold; 0 = off.
    pub clip_norm: f64,
}

impl Default for OptimizerConfig {
    fn default() -> Self {
        OptimizerConfig { beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0, clip_norm: 1.0 }
    }
}

/// Everything that shapes the model and its training step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct EagerConfig {
    /// Model width d (paper 128, released code 96).
    pub hidden: usize,
    /// Attention heads (d % heads == 0).
    pub heads: usize,
    /// FFN width of encoder and decoder layers (0 = 4 × hidden).
    pub ffn: usize,
    /// Shared encoder layers (paper 1).
    pub encoder_layers: usize,
    /// Layers of each code decoder (paper 4, released code 2).
    pub decoder_layers: usize,
    /// Dropout on embeddings and sub-layer outputs.
    pub dropout: f32,
    /// Dropout on attention probabilities.
    pub attention_dropout: f32,
    /// Longest history the encoder reads (older items are dropped by the caller / `recommend`).
    pub max_history: usize,
    /// Layer-norm ε.
    pub layer_norm_eps: f64,
    /// Standard deviation of the normal weight initialisation.
    pub init_std: f32,
    /// Label smoothing ε of the code-generation cross-entropy (0 = off, the paper's loss):
    /// `(1 - ε) · CE(target) + ε · CE(uniform)`.
    pub label_smoothing: f32,
    /// Weight λ3 of the history unlikelihood term (extension; 0 = off, the paper's loss): per
    /// sample, one item of its own history drawn at random, and per stream
    /// `-log(1 - p(last code token | that item's code prefix))`, so the decoder learns not to
    /// complete the codes of items the user already has. See `history.rs`.
    pub history_unlikelihood: f32,
    pub streams: StreamsConfig,
    pub gct: GctConfig,
    pub stt: SttConfig,
    /// Pretrained embeddings added to the encoder input (extension; off by default).
    pub pretrained_inputs: PretrainedInputsConfig,
    pub optimizer: OptimizerConfig,
    pub device: DeviceKind,
}

impl Default for EagerConfig {
    fn default() -> Self {
        EagerConfig {
            hidden: 128,
            heads: 4,
            ffn: 0,
            encoder_layers: 1,
            decoder_layers: 4,
            dropout: 0.1,
            attention_dropout: 0.1,
            max_history: 20,
            layer_norm_eps: 1e-12,
            init_std: 0.02,
            label_smoothing: 0.0,
            history_unlikelihood: 0.0,
            streams: StreamsConfig::default(),
            gct: GctConfig::default(),
            stt: SttConfig::default(),
            pretrained_inputs: PretrainedInputsConfig::default(),
            optimizer: OptimizerConfig::default(),
            device: DeviceKind::Cpu,
        }
    }
}

fn bad<T>(field: &str, msg: impl std::fmt::Display) -> Result<T> {
    Err(EagerError::invalid(format!("config.{field}: {msg}")))
}

fn check_prob(field: &str, v: f32, allow_one: bool) -> Result<()> {
    let ok = v.is_finite() && v >= 0.0 && if allow_one { v <= 1.0 } else { v < 1.0 };
    if ok {
        Ok(())
    } else {
        bad(field, format!("must be in [0, {}), got {v}", if allow_one { "1]" } else { "1" }))
    }
}

fn check_pos(field: &str, v: f64) -> Result<()> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        bad(field, format!("must be a finite number > 0, got {v}"))
    }
}

fn check_nonneg(field: &str, v: f64) -> Result<()> {
    if v.is_finite() && v >= 0.0 {
        Ok(())
    } else {
        bad(field, format!("must be a finite number >= 0, got {v}"))
    }
}

impl EagerConfig {
    /// Parses JSON (camelCase keys; missing keys take defaults; unknown keys are errors) and
    /// validates.
    pub fn from_json(text: &str) -> Result<Self> {
        let cfg: EagerConfig = serde_json::from_str(text).map_err(|e| EagerError::invalid(format!("config: {e}")))?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Serialises to JSON (camelCase, every field).
    pub fn to_json(&self) -> Result<String> {
        Ok(serde_json::to_string(self)?)
    }

    /// FFN width actually used.
    pub fn ffn_dim(&self) -> usize {
        if self.ffn == 0 {
            4 * self.hidden
        } else {
            self.ffn
        }
    }

    /// FFN width of the STT auxiliary decoder.
    pub fn stt_ffn_dim(&self) -> usize {
        if self.stt.ffn == 0 {
            2 * self.hidden
        } else {
            self.stt.ffn
        }
    }

    /// True when the semantic decoder needs its summary token (GCT or STT guide).
    pub fn semantic_summary(&self) -> bool {
        self.streams.semantic && (self.gct.enabled || self.stt_active())
    }

    /// True when the behaviour decoder needs its summary token.
    pub fn behaviour_summary(&self) -> bool {
        self.streams.behaviour && self.gct.enabled
    }

    /// True when STT runs (enabled, both streams, at least one of its two losses).
    pub fn stt_active(&self) -> bool {
        self.stt.enabled
            && self.streams.behaviour
            && self.streams.semantic
            && (self.stt.reconstruction || self.stt.recognition)
    }

    /// Checks every field; the error names the field.
    pub fn validate(&self) -> Result<()> {
        if self.hidden == 0 || self.hidden > 4096 {
            return bad("hidden", format!("must be in 1..=4096, got {}", self.hidden));
        }
        if self.heads == 0 || !self.hidden.is_multiple_of(self.heads) {
            return bad("heads", format!("must divide hidden ({}), got {}", self.hidden, self.heads));
        }
        if self.ffn > 65_536 {
            return bad("ffn", format!("must be <= 65536 (0 = 4 × hidden), got {}", self.ffn));
        }
        if self.encoder_layers == 0 || self.encoder_layers > 64 {
            return bad("encoderLayers", format!("must be in 1..=64, got {}", self.encoder_layers));
        }
        if self.decoder_layers == 0 || self.decoder_layers > 64 {
            return bad("decoderLayers", format!("must be in 1..=64, got {}", self.decoder_layers));
        }
        check_prob("dropout", self.dropout, false)?;
        check_prob("attentionDropout", self.attention_dropout, false)?;
        check_prob("labelSmoothing", self.label_smoothing, false)?;
        check_nonneg("historyUnlikelihood", self.history_unlikelihood as f64)?;
        if self.history_unlikelihood > 1000.0 {
            return bad("historyUnlikelihood", format!("must be <= 1000, got {}", self.history_unlikelihood));
        }
        if self.max_history == 0 || self.max_history > 4096 {
            return bad("maxHistory", format!("must be in 1..=4096, got {}", self.max_history));
        }
        check_pos("layerNormEps", self.layer_norm_eps)?;
        check_pos("initStd", self.init_std as f64)?;
        if !self.streams.behaviour && !self.streams.semantic {
            return bad("streams", "at least one of behaviour / semantic must be on");
        }
        if self.pretrained_inputs.behaviour && !self.streams.behaviour {
            return bad("pretrainedInputs.behaviour", "needs the behaviour stream (streams.behaviour = true)");
        }
        if self.pretrained_inputs.semantic && !self.streams.semantic {
            return bad("pretrainedInputs.semantic", "needs the semantic stream (streams.semantic = true)");
        }
        let g = &self.gct;
        check_nonneg("gct.weight", g.weight as f64)?;
        check_pos("gct.temperature", g.temperature as f64)?;
        if g.enabled && g.form == GctForm::InfoNce && g.negatives == 0 {
            return bad("gct.negatives", "must be >= 1 for the InfoNCE form");
        }
        check_nonneg("gct.behaviourWeight", g.behaviour_weight as f64)?;
        check_nonneg("gct.semanticWeight", g.semantic_weight as f64)?;
        check_pos("gct.smoothL1Beta", g.smooth_l1_beta as f64)?;
        let s = &self.stt;
        if s.enabled && !(self.streams.behaviour && self.streams.semantic) {
            return bad("stt.enabled", "the transfer task needs both streams (set stt.enabled = false)");
        }
        check_nonneg("stt.weight", s.weight as f64)?;
        check_prob("stt.maskRatio", s.mask_ratio, true)?;
        check_prob("stt.replaceRatio", s.replace_ratio, true)?;
        if s.enabled && s.reconstruction && s.negatives == 0 {
            return bad("stt.negatives", "must be >= 1");
        }
        check_pos("stt.temperature", s.temperature as f64)?;
        if s.layers == 0 || s.layers > 16 {
            return bad("stt.layers", format!("must be in 1..=16, got {}", s.layers));
        }
        if s.ffn > 65_536 {
            return bad("stt.ffn", format!("must be <= 65536 (0 = 2 × hidden), got {}", s.ffn));
        }
        check_prob("stt.dropout", s.dropout, false)?;
        let o = &self.optimizer;
        if !(0.0..1.0).contains(&o.beta1) {
            return bad("optimizer.beta1", format!("must be in [0, 1), got {}", o.beta1));
        }
        if !(0.0..1.0).contains(&o.beta2) {
            return bad("optimizer.beta2", format!("must be in [0, 1), got {}", o.beta2));
        }
        check_pos("optimizer.eps", o.eps)?;
        check_nonneg("optimizer.weightDecay", o.weight_decay)?;
        check_nonneg("optimizer.clipNorm", o.clip_norm)?;
        Ok(())
    }

    /// The released code's configuration (hidden 96, 4 heads, FFN 1024, 1 encoder + 2 decoder
    /// layers, InfoNCE GCT 1/10, τ 0.3, 2048 negatives, dropout 0.1, STT FFN 192 without dropout).
    pub fn released() -> Self {
        EagerConfig {
            hidden: 96,
            heads: 4,
            ffn: 1024,
            encoder_layers: 1,
            decoder_layers: 2,
            max_history: 19,
            stt: SttConfig { ffn: 192, ..SttConfig::default() },
            optimizer: OptimizerConfig { weight_decay: 1e-7, clip_norm: 0.0, ..OptimizerConfig::default() },
            ..EagerConfig::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_and_errors_name_the_field() -> Result<()> {
        EagerConfig::default().validate()?;
        EagerConfig::released().validate()?;
        let cfg = EagerConfig::from_json(r#"{"hidden": 64, "gct": {"form": "smoothL1"}}"#)?;
        assert_eq!(cfg.hidden, 64);
        assert_eq!(cfg.gct.form, GctForm::SmoothL1);
        assert_eq!(cfg.decoder_layers, 4);
        let msg = |j: &str| EagerConfig::from_json(j).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(msg(r#"{"hidden": 64, "heads": 5}"#).contains("config.heads"));
        assert!(msg(r#"{"dropout": 1.5}"#).contains("config.dropout"));
        assert!(msg(r#"{"labelSmoothing": 1.0}"#).contains("config.labelSmoothing"));
        assert_eq!(EagerConfig::from_json(r#"{"labelSmoothing": 0.1}"#)?.label_smoothing, 0.1);
        assert!(msg(r#"{"stt": {"maskRatio": -1}}"#).contains("config.stt.maskRatio"));
        assert!(msg(r#"{"streams": {"behaviour": false}}"#).contains("config.stt.enabled"));
        assert!(msg(r#"{"streams": {"behaviour": false, "semantic": false}}"#).contains("config.streams"));
        assert!(msg(r#"{"hidenn": 3}"#).contains("hidenn"));
        assert!(msg(r#"{"device": "tpu"}"#).contains("tpu"));
        Ok(())
    }
}
