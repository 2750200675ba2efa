/**
 * Config files of `npm run bench:repro` (`benches/configs/*.json`): one file per reproduced
 * configuration, with the `eager index` config, the `eager train` config (including the model
 * section) and the SASRec baseline config. A file may `extends` another (a path relative to
 * itself); objects are merged key by key, the extending file winning, so an ablation states only
 * the switches it flips.
 */
import { readFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { z } from 'zod';
import { formatZodIssues } from '../ts/cli/flags.js';
import { IndexConfigSchema } from '../ts/indexing/config.js';
import { EagerConfigSchema } from '../ts/model/config.js';
import { TrainConfigSchema } from '../ts/run/config.js';
import { SasRecConfigSchema } from '../ts/sasrec/config.js';

export const BenchConfigFileSchema = z.object({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case letters, digits and dashes').optional()
    .describe('configuration name (default: the file name without .json); names the result file'),
  description: z.string().optional().describe('one line for the results page'),
  extends: z.string().min(1).optional().describe('base config file, relative to this file'),
  index: z.record(z.string(), z.unknown()).optional().describe('`eager index --config` (IndexConfig)'),
  train: z.record(z.string(), z.unknown()).optional().describe('`eager train --config` (TrainConfig, with the model section)'),
  sasrec: z.record(z.string(), z.unknown()).optional().describe('`eager baseline sasrec --config` (SasRecConfig)'),
}).strict();

/** A resolved bench config: `extends` applied, every section validated by its own schema. */
export interface BenchConfig {
  name: string;
  description: string;
  /** The files read, base first. */
  files: string[];
  index: Record<string, unknown>;
  train: Record<string, unknown>;
  sasrec: Record<string, unknown>;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deep merge of plain objects (arrays and scalars of `over` replace those of `base`). */
export function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = isObject(v) && isObject(out[k]) ? deepMerge(out[k] as Record<string, unknown>, v) : v;
  return out;
}

function readOne(path: string): z.infer<typeof BenchConfigFileSchema> {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}`);
  }
  const r = BenchConfigFileSchema.safeParse(raw);
  if (!r.success) throw new Error(`invalid bench config:\n${formatZodIssues(r.error, path)}`);
  return r.data;
}

function check(schema: z.ZodType, value: unknown, source: string): void {
  const r = schema.safeParse(value);
  if (!r.success) throw new Error(`invalid bench config:\n${formatZodIssues(r.error, source)}`);
}

/** Reads a bench config file (following `extends`) and validates each section. */
export function readBenchConfig(path: string): BenchConfig {
  const chain: { file: string; cfg: z.infer<typeof BenchConfigFileSchema> }[] = [];
  let file: string | undefined = resolve(path);
  while (file) {
    if (chain.some((c) => c.file === file)) throw new Error(`${file}: "extends" forms a cycle`);
    const cfg = readOne(file);
    chain.unshift({ file, cfg });
    file = cfg.extends ? resolve(dirname(file), cfg.extends) : undefined;
  }
  let index: Record<string, unknown> = {};
  let train: Record<string, unknown> = {};
  let sasrec: Record<string, unknown> = {};
  for (const { cfg } of chain) {
    index = deepMerge(index, cfg.index ?? {});
    train = deepMerge(train, cfg.train ?? {});
    sasrec = deepMerge(sasrec, cfg.sasrec ?? {});
  }
  const top = chain[chain.length - 1]!;
  const where = `${top.file} (merged)`;
  check(IndexConfigSchema, index, `${where} index`);
  check(TrainConfigSchema, train, `${where} train`);
  check(EagerConfigSchema, train.model ?? {}, `${where} train.model`);
  check(SasRecConfigSchema, sasrec, `${where} sasrec`);
  return {
    name: top.cfg.name ?? basename(top.file).replace(/\.json$/, ''),
    description: top.cfg.description ?? '',
    files: chain.map((c) => c.file),
    index,
    train,
    sasrec,
  };
}

/** The config used when `--config` is not given: every default. */
export function defaultBenchConfig(): BenchConfig {
  return { name: 'eager', description: 'EAGER, project defaults', files: [], index: {}, train: {}, sasrec: {} };
}
