/**
 * Config files of `npm run bench:repro` (`benches/configs/*.json`): one file per reproduced
 * configuration, with the `eager index` config, the `eager train` config (including the model
 * section) and the SASRec baseline config. A file may `extends` another (a path relative to
 * itself); objects are merged key by key, the extending file winning, so an ablation states only
 * the switches it flips.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import { formatZodIssues } from '../ts/cli/flags.js';
import { IndexConfigSchema } from '../ts/indexing/config.js';
import { EagerConfigSchema } from '../ts/model/config.js';
import { TrainConfigSchema } from '../ts/run/config.js';
import { SasRecConfigSchema } from '../ts/sasrec/config.js';

/**
 * What the results page does with a config's result:
 * - `main`: a candidate for the dataset's EAGER row (the paper's model; the best on validation wins);
 * - `extension`: this project's additions to the method, shown in their own row, never the main one;
 * - `ablation`: one part of the model removed, tabulated against its `reference` at full length;
 * - `short`: a short-budget run, tabulated against the short config without a `reference`;
 * - `baseline`: not an EAGER run (the SASRec baseline's config);
 * - `experiment`: a side experiment (another seed, say) whose results go to
 *   `benches/results/experiments/<name>/`; the page refuses such a result in `benches/results/`.
 */
export const CONFIG_ROLES = ['main', 'extension', 'ablation', 'short', 'baseline', 'experiment'] as const;
export type ConfigRole = (typeof CONFIG_ROLES)[number];
/** Roles whose result gets a labelled row of its own (so the config must carry a `label`). */
const LABELLED_ROLES: readonly ConfigRole[] = ['extension', 'ablation', 'short'];

const NAME = z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case letters, digits and dashes');

export const BenchConfigFileSchema = z.object({
  name: NAME.optional()
    .describe('configuration name (default: the file name without .json); names the result file'),
  description: z.string().optional().describe('one line for the results page'),
  extends: z.string().min(1).optional().describe('base config file, relative to this file'),
  role: z.enum(CONFIG_ROLES).describe('what the results page does with the result (main, extension, ablation, short, baseline; experiment: a side experiment whose results go to benches/results/experiments/ and never onto the page); stated in every file, never inherited'),
  label: z.string().min(1).optional().describe('the row label on the results page (required for extension, ablation and short); not inherited'),
  reference: NAME.optional().describe('the config an ablation or short run is compared with (a short run without one is the short reference); not inherited'),
  shortOf: NAME.optional().describe('for a short run: the full-length config it is a shorter version of; not inherited'),
  index: z.record(z.string(), z.unknown()).optional().describe('`eager index --config` (IndexConfig)'),
  train: z.record(z.string(), z.unknown()).optional().describe('`eager train --config` (TrainConfig, with the model section)'),
  sasrec: z.record(z.string(), z.unknown()).optional().describe('`eager baseline sasrec --config` (SasRecConfig)'),
}).strict().superRefine((c, ctx) => {
  if (LABELLED_ROLES.includes(c.role) && !c.label) ctx.addIssue({ code: 'custom', path: ['label'], message: `a config with role "${c.role}" needs a label for its row` });
  if (c.role === 'ablation' && !c.reference) ctx.addIssue({ code: 'custom', path: ['reference'], message: 'an ablation names the config it is compared with' });
  if (c.reference && c.role !== 'ablation' && c.role !== 'short') ctx.addIssue({ code: 'custom', path: ['reference'], message: `only ablation and short configs have a reference, not role "${c.role}"` });
  if (c.shortOf && c.role !== 'short') ctx.addIssue({ code: 'custom', path: ['shortOf'], message: `only short configs have shortOf, not role "${c.role}"` });
});

/** A resolved bench config: `extends` applied, every section validated by its own schema. */
export interface BenchConfig {
  name: string;
  description: string;
  /** What the results page does with its result (the top file's, never inherited). */
  role: ConfigRole;
  /** Row label on the results page ('' when the file has none). */
  label: string;
  /** The config an ablation or short run is compared with. */
  reference?: string;
  /** For a short run: the full-length config it shortens. */
  shortOf?: string;
  /** The files read, base first. */
  files: string[];
  index: Record<string, unknown>;
  train: Record<string, unknown>;
  sasrec: Record<string, unknown>;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Canonical JSON (sorted keys), so equal configs compare equal. */
export function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
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
    role: top.cfg.role,
    label: top.cfg.label ?? '',
    ...(top.cfg.reference ? { reference: top.cfg.reference } : {}),
    ...(top.cfg.shortOf ? { shortOf: top.cfg.shortOf } : {}),
    files: chain.map((c) => c.file),
    index,
    train,
    sasrec,
  };
}

/** The config used when `--config` is not given: every default. */
export function defaultBenchConfig(): BenchConfig {
  return { name: 'eager', description: 'EAGER, project defaults', role: 'main', label: '', files: [], index: {}, train: {}, sasrec: {} };
}

/** Every config of a directory (`benches/configs`), by name: what the results page reads roles and labels from. */
export type ConfigCatalogue = ReadonlyMap<string, BenchConfig>;

/**
 * Reads every `*.json` of `dir` as a bench config (in name order). Two files with one `name`, and
 * a `reference` or `shortOf` that names no config of the directory, are errors naming the file.
 */
export function readConfigCatalogue(dir: string): ConfigCatalogue {
  const out = new Map<string, BenchConfig>();
  for (const n of readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
    const cfg = readBenchConfig(join(dir, n));
    const prev = out.get(cfg.name);
    if (prev) throw new Error(`${join(dir, n)}: name: "${cfg.name}" is also the name of ${prev.files[prev.files.length - 1]}`);
    out.set(cfg.name, cfg);
  }
  for (const cfg of out.values()) {
    for (const key of ['reference', 'shortOf'] as const) {
      const target = cfg[key];
      if (target !== undefined && !out.has(target)) throw new Error(`${cfg.files[cfg.files.length - 1]}: ${key}: no config named "${target}" in ${dir}`);
    }
  }
  return out;
}
