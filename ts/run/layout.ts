/**
 * The run directory written by `eager train` and read by `eager eval`, `eager recommend` and
 * `Recommender.load`:
 *
 * ```
 * <run>/
 *   config.json          what was trained: dataset, index, resolved train + model config, backend
 *   items.json           item titles / source ids by dense id (so serving needs no dataset)
 *   train-log.jsonl      one line per update ({kind:"step"}) and per validation ({kind:"valid"})
 *   checkpoints/
 *     step-000400/       one checkpoint: the model's files + checkpoint.json (step, metrics, loop state)
 *     best -> step-000400   symlink: best validation so far (after a final selection: its choice)
 *     last -> step-000600   symlink: what --resume continues from
 *     candidates.json    with eval.finalCandidates > 1: the steps kept for the final selection
 *   valid-all.json       with a final selection: the chosen checkpoint on every validation user
 *   results.json         at the end: best step, validation and test metrics, timings
 * ```
 *
 * Every file is written atomically; a checkpoint directory is written under a temporary name and
 * renamed into place, and `best` / `last` are switched by renaming a new symlink over the old one,
 * so a crash at any point leaves the previous consistent state.
 */
import {
  existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, realpathSync, renameSync, rmSync, symlinkSync, statSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { formatZodIssues } from '../cli/flags.js';
import type { LoopState } from '../train/loop.js';
import { writeFileAtomic, writeJsonAtomic } from '../util/fs.js';
import { TrainConfigSchema, RunConfigError } from './config.js';
import type { RunModel } from './types.js';

/** Version of the run-directory layout. */
export const RUN_LAYOUT_VERSION = 1;

/** `config.json` of a run. */
export const RunConfigFileSchema = z.object({
  format: z.literal('eager-run'),
  version: z.literal(RUN_LAYOUT_VERSION),
  backend: z.string().min(1),
  dataset: z.object({
    path: z.string().min(1),
    name: z.string(),
    numItems: z.number().int().min(1),
    numUsers: z.number().int().min(1),
    fingerprint: z.string(),
  }),
  indexDir: z.string().min(1),
  numItems: z.number().int().min(1),
  maxHistory: z.number().int().min(1),
  train: TrainConfigSchema,
  createdAt: z.string(),
});
export type RunConfigFile = z.infer<typeof RunConfigFileSchema>;

/** `items.json`: per dense id (index 0 unused, null), the title and source id if known. */
export interface RunItems {
  numItems: number;
  titles: (string | null)[];
  sourceIds: (string | null)[];
}

/** `checkpoint.json` inside a checkpoint directory. */
export interface CheckpointInfo {
  step: number;
  /** Validation metrics at this step (when validated). */
  metrics?: Record<string, number>;
  /** Loop state to resume from (set when the checkpoint is a `last`). */
  loopState?: LoopState;
  /** Training seconds spent up to this checkpoint, over all sessions. */
  trainSeconds?: number;
  /** Whether the model files include optimiser / RNG state. */
  withTrainingState: boolean;
  savedAt: string;
}

/** A checkpoint found on disk. */
export interface Checkpoint extends CheckpointInfo {
  /** The resolved checkpoint directory (what the model's loader reads). */
  dir: string;
}

/** Paths of a run directory. */
export class RunPaths {
  readonly dir: string;
  constructor(dir: string) {
    this.dir = resolve(dir);
  }
  get config(): string { return join(this.dir, 'config.json'); }
  get items(): string { return join(this.dir, 'items.json'); }
  get log(): string { return join(this.dir, 'train-log.jsonl'); }
  get results(): string { return join(this.dir, 'results.json'); }
  get checkpoints(): string { return join(this.dir, 'checkpoints'); }
  /** The checkpoints kept for the final selection (`eval.finalCandidates`). */
  get candidates(): string { return join(this.checkpoints, 'candidates.json'); }
  /** The chosen checkpoint on every validation user, in the shape of `eager eval --split valid --json`. */
  get validAll(): string { return join(this.dir, 'valid-all.json'); }
  pointer(which: 'best' | 'last'): string { return join(this.checkpoints, which); }
}

/** Error for a missing or broken run directory (code EAGER_BAD_RUN). */
export class RunDirError extends Error {
  readonly code = 'EAGER_BAD_RUN';
  constructor(readonly path: string, message: string) {
    super(`${path}: ${message}`);
    this.name = 'RunDirError';
  }
}

function readJson(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new RunDirError(path, `cannot read: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : (e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new RunDirError(path, `not valid JSON: ${(e as Error).message}`);
  }
}

/** Writes `config.json`. */
export function writeRunConfig(paths: RunPaths, cfg: RunConfigFile): void {
  writeJsonAtomic(paths.config, RunConfigFileSchema.parse(cfg));
}

/** Reads and validates `config.json`. */
export function readRunConfig(paths: RunPaths): RunConfigFile {
  const raw = readJson(paths.config);
  const r = RunConfigFileSchema.safeParse(raw);
  if (!r.success) throw new RunConfigError(`invalid run config:\n${formatZodIssues(r.error, paths.config)}`);
  return r.data;
}

/** Writes `items.json`. */
export function writeRunItems(paths: RunPaths, items: RunItems): void {
  writeJsonAtomic(paths.items, items);
}

/** Reads `items.json` (null when the run has none). */
export function readRunItems(paths: RunPaths): RunItems | null {
  if (!existsSync(paths.items)) return null;
  const raw = readJson(paths.items) as Partial<RunItems>;
  if (!Number.isInteger(raw.numItems) || !Array.isArray(raw.titles) || raw.titles.length !== raw.numItems! + 1) {
    throw new RunDirError(paths.items, 'expected {numItems, titles: [numItems + 1], sourceIds}');
  }
  return { numItems: raw.numItems!, titles: raw.titles, sourceIds: Array.isArray(raw.sourceIds) ? raw.sourceIds : [] };
}

function stepDirName(step: number): string {
  return `step-${String(step).padStart(7, '0')}`;
}

/** Reads the checkpoint a pointer (`best` / `last`) designates; null when there is none yet. */
export function readCheckpoint(paths: RunPaths, which: 'best' | 'last'): Checkpoint | null {
  const link = paths.pointer(which);
  let target: string;
  try {
    target = readlinkSync(link);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    // A plain directory (e.g. copied without symlinks) works too.
    if ((e as NodeJS.ErrnoException).code === 'EINVAL' && statSync(link).isDirectory()) target = link;
    else throw new RunDirError(link, (e as Error).message);
  }
  const dir = resolve(paths.checkpoints, target);
  if (!existsSync(dir)) throw new RunDirError(link, `points to ${target}, which is missing`);
  const info = readJson(join(dir, 'checkpoint.json')) as CheckpointInfo;
  if (!Number.isInteger(info.step)) throw new RunDirError(join(dir, 'checkpoint.json'), 'field step: expected an integer');
  return { ...info, dir: realpathSync(dir) };
}

/** Points `best` / `last` at a step directory (atomic symlink swap). */
function setPointer(paths: RunPaths, which: 'best' | 'last', dirName: string): void {
  const tmp = join(paths.checkpoints, `.${which}.${process.pid}.tmp`);
  rmSync(tmp, { force: true });
  symlinkSync(dirName, tmp);
  renameSync(tmp, paths.pointer(which));
}

/** Removes step directories no pointer or candidate references, and leftovers of interrupted saves. */
function collectGarbage(paths: RunPaths): void {
  const keep = new Set<string>(readCandidates(paths).map((c) => stepDirName(c.step)));
  for (const which of ['best', 'last'] as const) {
    try {
      keep.add(readlinkSync(paths.pointer(which)));
    } catch {
      // no pointer yet
    }
  }
  for (const name of readdirSync(paths.checkpoints)) {
    if ((name.startsWith('step-') && !keep.has(name)) || name.startsWith('.tmp-')) {
      rmSync(join(paths.checkpoints, name), { recursive: true, force: true });
    }
  }
}

/**
 * Saves `model` at `info.step` and points `which` at it. A step already on disk (best and last
 * at the same step) is written once; only its checkpoint.json is updated.
 */
export async function saveCheckpoint(
  paths: RunPaths, model: RunModel, which: 'best' | 'last', info: Omit<CheckpointInfo, 'savedAt' | 'withTrainingState'>,
): Promise<Checkpoint> {
  mkdirSync(paths.checkpoints, { recursive: true });
  const { name, dir, merged } = await writeStepDir(paths, model, info);
  setPointer(paths, which, name);
  collectGarbage(paths);
  return { ...merged, dir: realpathSync(dir) };
}

/** Writes the step directory of `info.step` (model files once; checkpoint.json merged on later saves). */
async function writeStepDir(
  paths: RunPaths, model: RunModel, info: Omit<CheckpointInfo, 'savedAt' | 'withTrainingState'>,
): Promise<{ name: string; dir: string; merged: CheckpointInfo }> {
  const name = stepDirName(info.step);
  const dir = join(paths.checkpoints, name);
  const infoPath = join(dir, 'checkpoint.json');
  let merged: CheckpointInfo;
  if (existsSync(infoPath)) {
    const old = readJson(infoPath) as CheckpointInfo;
    merged = { ...old, ...stripUndefined(info), savedAt: new Date().toISOString() };
    writeJsonAtomic(infoPath, merged);
  } else {
    // Always with training state: a best checkpoint may become the one --resume needs.
    const tmp = join(paths.checkpoints, `.tmp-${name}-${process.pid}`);
    rmSync(tmp, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true }); // an incomplete dir from a crash (no checkpoint.json)
    mkdirSync(tmp, { recursive: true });
    await model.save(tmp, true);
    merged = { ...stripUndefined(info), withTrainingState: true, savedAt: new Date().toISOString() } as CheckpointInfo;
    writeJsonAtomic(join(tmp, 'checkpoint.json'), merged);
    renameSync(tmp, dir);
  }
  return { name, dir, merged };
}

/** A checkpoint kept for the final selection, with its training-time validation value. */
export interface Candidate {
  step: number;
  /** The validation metric on the training-time sample. */
  value: number;
}

/** The candidates on disk (`checkpoints/candidates.json`), best first; none when the file is absent. */
export function readCandidates(paths: RunPaths): Candidate[] {
  if (!existsSync(paths.candidates)) return [];
  const raw = readJson(paths.candidates) as { candidates?: unknown };
  if (!Array.isArray(raw.candidates)) throw new RunDirError(paths.candidates, 'field candidates: expected an array');
  return raw.candidates.map((c: unknown, i: number) => {
    const { step, value } = (c ?? {}) as { step?: unknown; value?: unknown };
    if (!Number.isInteger(step) || typeof value !== 'number') throw new RunDirError(paths.candidates, `candidates[${i}]: expected {step: integer, value: number}`);
    return { step: step as number, value };
  });
}

function writeCandidates(paths: RunPaths, list: Candidate[]): void {
  writeJsonAtomic(paths.candidates, { candidates: list });
}

/** Best first; of equal values the earlier step (the one that reached it first). */
function byValue(a: Candidate, b: Candidate): number {
  return b.value - a.value || a.step - b.step;
}

/**
 * Keeps the `keep` checkpoints with the best training-time validation value for the final
 * selection: saves `model` at `info.step` when it ranks among them (a step already on disk is
 * written once) and drops the one it displaces. Returns whether it was kept.
 */
export async function saveCandidate(
  paths: RunPaths, model: RunModel, keep: number, value: number, info: Omit<CheckpointInfo, 'savedAt' | 'withTrainingState'>,
): Promise<boolean> {
  const others = readCandidates(paths).filter((c) => c.step !== info.step);
  const next = [...others, { step: info.step, value }].sort(byValue).slice(0, keep);
  if (!next.some((c) => c.step === info.step)) return false;
  mkdirSync(paths.checkpoints, { recursive: true });
  await writeStepDir(paths, model, info);
  writeCandidates(paths, next);
  collectGarbage(paths);
  return true;
}

/** A resumed run repeats the steps after its last checkpoint: candidates from those steps are dropped first. */
export function truncateCandidates(paths: RunPaths, step: number): void {
  const list = readCandidates(paths);
  if (list.some((c) => c.step > step)) writeCandidates(paths, list.filter((c) => c.step <= step));
}

/** The step directory of a candidate (what the model's loader reads). */
export function candidateDir(paths: RunPaths, step: number): string {
  const dir = join(paths.checkpoints, stepDirName(step));
  if (!existsSync(join(dir, 'checkpoint.json'))) throw new RunDirError(dir, `candidate checkpoint of step ${step} is missing (listed in ${paths.candidates})`);
  return dir;
}

/** Points `best` at a candidate's step directory (the final selection's choice). */
export function pointBestAt(paths: RunPaths, step: number): Checkpoint {
  candidateDir(paths, step); // throws, naming the directory, when it is missing
  setPointer(paths, 'best', stepDirName(step));
  collectGarbage(paths);
  const best = readCheckpoint(paths, 'best');
  if (!best) throw new RunDirError(paths.pointer('best'), 'missing after pointing it at a candidate');
  return best;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * Keeps only the log lines up to `step` (a resumed run repeats the steps after its last
 * checkpoint; their first attempt is dropped so the log reads as one uninterrupted run).
 */
export function truncateLog(paths: RunPaths, step: number): void {
  if (!existsSync(paths.log)) return;
  const lines = readFileSync(paths.log, 'utf8').split('\n').filter((l) => l.trim() !== '');
  const kept = lines.filter((l) => {
    try {
      const rec = JSON.parse(l) as { step?: number };
      return typeof rec.step !== 'number' || rec.step <= step;
    } catch {
      return false; // a torn last line from a crash
    }
  });
  writeFileAtomic(paths.log, kept.length ? `${kept.join('\n')}\n` : '');
}

/** One (split, ranking) block of results: flat metric keys plus the user count. */
export type FlatMetrics = Record<string, number>;

/** Metrics of one split in both ranking modes. */
export interface SplitMetrics {
  split: 'valid' | 'test';
  users: number;
  full: FlatMetrics;
  'exclude-history': FlatMetrics;
}

/** The final selection among the kept checkpoints, by the metric on every validation user. */
export interface FinalSelection {
  metric: string;
  /** Validation users each candidate was evaluated on (all of them). */
  users: number;
  /** The step the training-time sample chose. */
  sampleBestStep: number;
  /** Each candidate, in step order: its value on the sample and on all validation users. */
  candidates: { step: number; sample: number; all: number }[];
  seconds: number;
}

/** `results.json` of a finished run. */
export interface RunResults {
  bestStep: number;
  stepsRun: number;
  stoppedEarly: boolean;
  metric: string;
  /** Validation metrics of the best checkpoint (from training; `validUsers` says how many users). */
  valid: { users: number; full: FlatMetrics };
  /** Test metrics of the best checkpoint, computed once at the end. */
  test: SplitMetrics;
  /**
   * With `eval.finalCandidates` > 1 and a validation sample: the checkpoints kept, their sample
   * and all-users validation values, and the choice (`bestStep`, the best on all users).
   */
  finalSelection?: FinalSelection;
  seed: number;
  config: RunConfigFile;
  /** Wall seconds per stage of the last session (train: over all sessions). */
  wallSeconds: Record<string, number>;
  finishedAt: string;
}

/** Writes `results.json`. */
export function writeRunResults(paths: RunPaths, results: RunResults): void {
  writeJsonAtomic(paths.results, results);
}

/** A run directory as found on disk. */
export interface LoadedRun {
  paths: RunPaths;
  config: RunConfigFile;
  best: Checkpoint | null;
  last: Checkpoint | null;
  results: RunResults | null;
  items: RunItems | null;
}

/** Reads a run directory (config, checkpoints, results, items). Throws EAGER_BAD_RUN when it is none. */
export function loadRun(dir: string): LoadedRun {
  const paths = new RunPaths(dir);
  if (!existsSync(paths.dir)) throw new RunDirError(paths.dir, 'no such run directory');
  if (!existsSync(paths.config)) throw new RunDirError(paths.dir, 'not a run directory (no config.json; create one with `eager train`)');
  const config = readRunConfig(paths);
  return {
    paths,
    config,
    best: readCheckpoint(paths, 'best'),
    last: readCheckpoint(paths, 'last'),
    results: existsSync(paths.results) ? (readJson(paths.results) as RunResults) : null,
    items: readRunItems(paths),
  };
}
