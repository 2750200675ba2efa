/**
 * The EAGER step of `eager demo`: builds an index of the synthetic data in memory (no
 * downloads), trains a small EAGER model for about a minute with validation on the validation
 * split, and hands the best checkpoint to the demo, which scores it like the baselines.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DemoContext, DemoModelStep } from '../commands/demo.js';
import type { RankingRecommender } from '../eval/recommender.js';
import { ProgressReporter } from '../train/progress.js';
import { defaultDemoIndexBuilder, resolveDeps, type InMemoryIndexBuilder, type RunDeps } from './backend.js';
import { parseTrainConfig } from './config.js';
import { readCheckpoint, RunPaths } from './layout.js';
import { rankingRecommender } from './evaluate.js';
import { trainRun } from './train.js';

/**
 * The demo's training config: a small model and a short schedule (about a minute of training on
 * 2 busy cores: ~1500 samples/s, 1000 updates of 128 ≈ 7 epochs of the synthetic data).
 */
export const DEMO_TRAIN_CONFIG = {
  model: {
    hidden: 32, heads: 2, ffn: 64, encoderLayers: 1, decoderLayers: 1, dropout: 0.1, attentionDropout: 0.1,
    gct: { negatives: 128 }, stt: { negatives: 8 },
  },
  schedule: { peakLr: 3e-3, warmupSteps: 30, decay: 'cosine', minLr: 1e-4 },
  batchSize: 128,
  maxSteps: 1000,
  evalEvery: 100,
  patience: 0,
  eval: { decode: { beamWidth: 20 }, batchSize: 512, validUsers: 500 },
};

/** The demo scores ranked lists up to this length (max K + some room for exclude-history). */
const DEMO_MAX_LIST = 40;

/** Options of {@link eagerDemoStep}. */
export interface EagerDemoOptions extends RunDeps {
  buildIndex?: InMemoryIndexBuilder;
  /** Overrides of {@link DEMO_TRAIN_CONFIG}. */
  config?: Record<string, unknown>;
  /** Keep the run directory here instead of a deleted temp directory. */
  runDir?: string;
  quiet?: boolean;
}

/** The demo step that trains EAGER. */
export function eagerDemoStep(opts: EagerDemoOptions = {}): DemoModelStep {
  return {
    name: 'eager',
    async build(ctx: DemoContext): Promise<RankingRecommender> {
      const deps = await resolveDeps(opts);
      const buildIndex = opts.buildIndex ?? (await defaultDemoIndexBuilder());
      // About 7 epochs, at most maxSteps (the default data: 1000 updates), 4 validations.
      const maxSteps = Math.max(20, Math.min(DEMO_TRAIN_CONFIG.maxSteps, Math.ceil((7 * ctx.split.train.size) / DEMO_TRAIN_CONFIG.batchSize)));
      const config = parseTrainConfig({
        ...DEMO_TRAIN_CONFIG, maxSteps, evalEvery: Math.ceil(maxSteps / 4), ...opts.config, seed: ctx.flags.seed, split: { maxHistory: ctx.flags.maxHistory },
      }, 'demo config');
      const t0 = performance.now();
      const index = await buildIndex(ctx.dataset, ctx.split, ctx.flags.seed);
      ctx.log(`eager: index built in ${((performance.now() - t0) / 1000).toFixed(1)} s `
        + `(behaviour codes K=${index.behaviour.codes.K} L=${index.behaviour.codes.L}, semantic codes K=${index.semantic.codes.K} L=${index.semantic.codes.L})`);
      const dir = opts.runDir ?? mkdtempSync(join(tmpdir(), 'eager-demo-run-'));
      try {
        const t1 = performance.now();
        await trainRun({ out: dir, inMemory: { dataset: ctx.dataset, index }, config, evaluateTest: false }, {
          ...deps, log: (l) => ctx.log(`eager: ${l}`), progress: new ProgressReporter(process.stderr, 10_000, !opts.quiet),
        });
        const best = readCheckpoint(new RunPaths(dir), 'best')!;
        ctx.log(`eager: trained ${config.maxSteps} steps in ${((performance.now() - t1) / 1000).toFixed(1)} s; best validation `
          + `${config.eval.metric} ${(best.metrics?.[config.eval.metric] ?? 0).toFixed(4)} at step ${best.step}`);
        const model = await deps.backend.load({
          dir: best.dir, config: deps.backend.parseConfig(config.model), index, seed: config.seed,
          maxHistory: ctx.split.maxHistory, withTrainingState: false,
        });
        return rankingRecommender(model, config.eval.decode, 'eager', DEMO_MAX_LIST);
      } finally {
        if (!opts.runDir) rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/**
 * The EAGER demo step when this build has everything it needs (native model + in-memory index
 * build), otherwise the reason it is skipped.
 */
export async function availableEagerDemoStep(opts: EagerDemoOptions = {}): Promise<{ step: DemoModelStep } | { step: null; reason: string }> {
  try {
    const deps = await resolveDeps(opts);
    const buildIndex = opts.buildIndex ?? (await defaultDemoIndexBuilder());
    return { step: eagerDemoStep({ ...opts, ...deps, buildIndex }) };
  } catch (e) {
    if ((e as { code?: string }).code === 'EAGER_NOT_AVAILABLE') return { step: null, reason: (e as Error).message };
    throw e;
  }
}
