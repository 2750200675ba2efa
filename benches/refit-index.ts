/**
 * The index of a refit with `--refit-index` (`benches/repro.ts`): the selected run's index config
 * with its SASRec trained on train + valid for exactly the epochs the selected index's build chose
 * on validation (same seeds and semantic embeddings; new behaviour embeddings, hence new behaviour
 * codes), built beside that index as `<index>-refit`.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../ts/cli/flags.js';
import { parseConfig } from '../ts/config/data.js';
import { IndexConfigSchema } from '../ts/indexing/config.js';
import { canonical } from './bench-config.js';
import { readJson } from './collect.js';

/** What `--refit-index` builds, and whether an earlier build can be reused. */
export interface RefitIndexPlan {
  dir: string;
  config: Record<string, unknown>;
  /** The epochs of the selected index's SASRec (its `behaviour.bestEpoch`). */
  epochs: number;
  /** False when `dir` already holds exactly this index (same config, same dataset). */
  build: boolean;
}

interface Manifest {
  config?: Record<string, unknown> & { behaviour?: { source?: string; sasrec?: Record<string, unknown> } };
  behaviour?: { bestEpoch?: unknown; trainOn?: unknown };
  datasetFingerprint?: unknown;
}

/** Where the refit index of the selected index at `stage1IndexDir` is built: beside it. */
export function refitIndexDir(stage1IndexDir: string): string {
  return `${stage1IndexDir}-refit`;
}

/** The plan for the selected index at `stage1IndexDir`; `fresh` rebuilds even a matching index. */
export function planRefitIndex(stage1IndexDir: string, fresh = false): RefitIndexPlan {
  const manifestPath = join(stage1IndexDir, 'manifest.json');
  const manifest = readJson<Manifest>(manifestPath);
  const config = manifest.config;
  if (config?.behaviour?.source !== 'sasrec') {
    throw new UsageError(`--refit-index: ${manifestPath}: config.behaviour.source is ${JSON.stringify(config?.behaviour?.source)}, not "sasrec": nothing to train again`);
  }
  const epochs = manifest.behaviour?.bestEpoch;
  if (typeof epochs !== 'number' || !Number.isInteger(epochs) || epochs < 1) {
    throw new UsageError(`--refit-index: ${manifestPath}: behaviour.bestEpoch is ${JSON.stringify(epochs)}, not the epoch its SASRec chose`);
  }
  const refitConfig = { ...config, behaviour: { source: 'sasrec', sasrec: { ...config.behaviour.sasrec, trainOn: 'train+valid', epochs } } };
  const planned = canonical(parseConfig(IndexConfigSchema, refitConfig, `${manifestPath} (config, with behaviour.sasrec for the refit)`));
  const dir = refitIndexDir(stage1IndexDir);
  const builtPath = join(dir, 'manifest.json');
  let build = true;
  if (!fresh && existsSync(builtPath)) {
    const built = readJson<Manifest>(builtPath);
    const parsed = IndexConfigSchema.safeParse(built.config);
    build = !(parsed.success && canonical(parsed.data) === planned && built.datasetFingerprint === manifest.datasetFingerprint
      && built.behaviour?.trainOn === 'train+valid');
  }
  return { dir, config: refitConfig, epochs, build };
}
