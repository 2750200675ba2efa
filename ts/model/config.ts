/**
 * The EAGER model configuration: one zod schema, mirrored field for field by the Rust
 * `EagerConfig` (which checks everything again). Defaults follow the paper (hidden 128,
 * 1 encoder layer, 4 decoder layers); {@link EAGER_PRESETS} holds the released code's
 * configuration and the ablations as partial configs.
 */
import { z } from 'zod';

const prob = (what: string) => z.number().min(0).lt(1).describe(what);
const ratio = (what: string) => z.number().min(0).max(1).describe(what);

/** Which code streams the model has. */
export const StreamsSchema = z
  .object({
    behaviour: z.boolean().default(true).describe('decoder generating the behaviour code (from E^b)'),
    semantic: z.boolean().default(true).describe('decoder generating the semantic code (from E^s)'),
  })
  .strict();

/** Global contrastive task. */
export const GctSchema = z
  .object({
    enabled: z.boolean().default(true).describe('global contrastive task on/off (ablation "no GCT")'),
    weight: z.number().min(0).default(1).describe('λ1 of the total loss'),
    form: z
      .enum(['infoNce', 'smoothL1', 'cosine'])
      .default('infoNce')
      .describe('infoNce (released code: cosine, temperature, shared negatives) or a positive-only distance (paper)'),
    temperature: z.number().positive().default(0.3).describe('InfoNCE temperature τ'),
    negatives: z.number().int().min(1).max(1 << 20).default(2048).describe('InfoNCE shared negatives per step'),
    behaviourWeight: z.number().min(0).default(1).describe('weight of the behaviour decoder term'),
    semanticWeight: z.number().min(0).default(10).describe('weight of the semantic decoder term'),
    smoothL1Beta: z.number().positive().default(1).describe('smooth-L1 β'),
  })
  .strict();

/** Semantic-guided transfer task (paper version). */
export const SttSchema = z
  .object({
    enabled: z.boolean().default(true).describe('semantic-guided transfer task on/off (needs both streams)'),
    weight: z.number().min(0).default(1).describe('λ2 of the total loss'),
    reconstruction: z.boolean().default(true).describe('masked-token reconstruction on/off'),
    recognition: z.boolean().default(true).describe('corrupted-code recognition on/off'),
    maskRatio: ratio('fraction m of behaviour code tokens masked (at least one)').default(0.5),
    replaceRatio: ratio('fraction of tokens replaced to make recognition negatives (at least one)').default(0.5),
    negatives: z.number().int().min(1).max(1 << 20).default(127).describe('J sampled token embeddings per masked token (capped at K-1)'),
    temperature: z.number().positive().default(1).describe('temperature of the reconstruction loss'),
    layers: z.number().int().min(1).max(16).default(1).describe('layers of the auxiliary decoder'),
    ffn: z.number().int().min(0).max(65536).default(0).describe('FFN width of the auxiliary decoder (0 = 2 × hidden)'),
    dropout: prob('dropout inside the auxiliary decoder').default(0),
  })
  .strict();

/**
 * Pretrained item embeddings added to the encoder input (an extension of this project, off by
 * default as in the paper): each one that is on adds a learned projection of the item's
 * L2-normalised pretrained row to its id embedding, so rarely seen items start from what the
 * behaviour model / text encoder know about them.
 */
export const PretrainedInputsSchema = z
  .object({
    behaviour: z.boolean().default(false).describe('add the projected behaviour embedding E^b to the encoder input (needs the behaviour stream)'),
    semantic: z.boolean().default(false).describe('add the projected semantic embedding E^s to the encoder input (needs the semantic stream)'),
  })
  .strict();

/** Adam settings of the training step (the learning rate is set per step by the schedule). */
export const OptimizerSchema = z
  .object({
    beta1: z.number().min(0).lt(1).default(0.9).describe('Adam β1'),
    beta2: z.number().min(0).lt(1).default(0.999).describe('Adam β2'),
    eps: z.number().positive().default(1e-8).describe('Adam ε'),
    weightDecay: z.number().min(0).default(0).describe('decoupled weight decay (0 = plain Adam)'),
    clipNorm: z.number().min(0).default(1).describe('global gradient-norm clipping (0 = off)'),
  })
  .strict();

/** The whole model configuration (JSON keys as in the Rust `EagerConfig`). */
export const EagerConfigSchema = z
  .object({
    hidden: z.number().int().min(1).max(4096).default(128).describe('model width d (paper 128, released code 96)'),
    heads: z.number().int().min(1).max(4096).default(4).describe('attention heads (must divide hidden)'),
    ffn: z.number().int().min(0).max(65536).default(0).describe('FFN width (0 = 4 × hidden)'),
    encoderLayers: z.number().int().min(1).max(64).default(1).describe('shared encoder layers'),
    decoderLayers: z.number().int().min(1).max(64).default(4).describe('layers of each code decoder'),
    dropout: prob('dropout on embeddings and sub-layer outputs').default(0.1),
    attentionDropout: prob('dropout on attention probabilities').default(0.1),
    maxHistory: z.number().int().min(1).max(4096).default(20).describe('longest history the encoder reads'),
    layerNormEps: z.number().positive().default(1e-12).describe('LayerNorm ε'),
    initStd: z.number().positive().default(0.02).describe('std of the normal weight init'),
    labelSmoothing: prob('label smoothing ε of the code-generation cross-entropy (0 = the paper\'s loss)').default(0),
    historyUnlikelihood: z
      .number()
      .min(0)
      .max(1000)
      .default(0)
      .describe('λ3 of the history unlikelihood term (extension, 0 = the paper\'s loss): per sample one item of its own history, the unlikelihood of that item\'s last code token given its own prefix'),
    streams: StreamsSchema.prefault({}),
    gct: GctSchema.prefault({}),
    stt: SttSchema.prefault({}),
    pretrainedInputs: PretrainedInputsSchema.prefault({}),
    optimizer: OptimizerSchema.prefault({}),
    device: z.enum(['cpu', 'cuda']).default('cpu').describe('compute device (cuda needs a CUDA build of the addon)'),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.hidden % c.heads !== 0) {
      ctx.addIssue({ code: 'custom', path: ['heads'], message: `must divide hidden (${c.hidden}), got ${c.heads}` });
    }
    if (!c.streams.behaviour && !c.streams.semantic) {
      ctx.addIssue({ code: 'custom', path: ['streams'], message: 'at least one of behaviour / semantic must be on' });
    }
    for (const s of ['behaviour', 'semantic'] as const) {
      if (c.pretrainedInputs[s] && !c.streams[s]) {
        ctx.addIssue({ code: 'custom', path: ['pretrainedInputs', s], message: `needs the ${s} stream (streams.${s} = true)` });
      }
    }
    if (c.stt.enabled && !(c.streams.behaviour && c.streams.semantic)) {
      ctx.addIssue({ code: 'custom', path: ['stt', 'enabled'], message: 'the transfer task needs both streams (set stt.enabled = false)' });
    }
  });

export type EagerConfig = z.infer<typeof EagerConfigSchema>;
/** What callers may pass (every field optional). */
export type EagerConfigInput = z.input<typeof EagerConfigSchema>;

/**
 * Named partial configs: the released code's settings and the paper's ablations. Merge one
 * over a base config with {@link withPreset}.
 */
export const EAGER_PRESETS = {
  /** Paper defaults (the schema's defaults). */
  paper: {},
  /** The released code: hidden 96, FFN 1024, 2 decoder layers, history 19, STT FFN 192, wd 1e-7. */
  released: {
    hidden: 96,
    ffn: 1024,
    decoderLayers: 2,
    maxHistory: 19,
    stt: { ffn: 192 },
    optimizer: { weightDecay: 1e-7, clipNorm: 0 },
  },
  /** Behaviour stream only. */
  behaviourOnly: { streams: { semantic: false }, stt: { enabled: false } },
  /** Semantic stream only (TIGER-like). */
  semanticOnly: { streams: { behaviour: false }, stt: { enabled: false } },
  /** Without the global contrastive task. */
  noGct: { gct: { enabled: false } },
  /** Without the semantic-guided transfer task. */
  noStt: { stt: { enabled: false } },
} as const satisfies Record<string, EagerConfigInput>;

export type EagerPreset = keyof typeof EAGER_PRESETS;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deep-merges `over` onto `base` (objects merge, everything else replaces). */
export function mergeConfig(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isPlainObject(b) && isPlainObject(v) ? mergeConfig(b, v) : v;
  }
  return out;
}

/** `config` with a preset merged under it (the config's own fields win). */
export function withPreset(preset: EagerPreset, config: EagerConfigInput = {}): EagerConfigInput {
  return mergeConfig(EAGER_PRESETS[preset] as Record<string, unknown>, config as Record<string, unknown>) as EagerConfigInput;
}
