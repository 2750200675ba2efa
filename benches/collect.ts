/**
 * Turns finished runs into bench results: an `eager train` run directory (results.json, the
 * training log, the index manifest) and an `eager baseline sasrec` output directory
 * (metrics.json, log.jsonl). Reads only what those commands wrote; computes no metric itself.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { curvesFromSasrecLog, curvesFromTrainLog } from './curves.js';
import { provenance } from './provenance.js';
import type { EagerResult, SasrecResult } from './results-schema.js';

/** Reads a JSON file; the error names the file. */
export function readJson<T>(path: string): T {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch (e) {
    throw new Error(`${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : (e as Error).message}`);
  }
}

interface IndexManifest {
  timings?: Record<string, number>;
  behaviour?: Record<string, unknown>;
  semantic?: Record<string, unknown>;
  seed?: number;
  config?: unknown;
}

/** What {@link collectEagerRun} needs besides the run directory's own files. */
export interface CollectEagerOptions {
  root: string;
  runDir: string;
  indexDir: string;
  datasetName: string;
  configName: string;
  description: string;
  /** The index config as requested (used when the manifest has none). */
  indexConfig: unknown;
  /** The index was built before (its build time comes from its manifest). */
  indexReused: boolean;
  /** Wall seconds of the `eager index` command of this invocation (when not reused). */
  indexCommandSeconds: number;
  /** Wall seconds of the `eager train` command of this invocation (unset with --from-run). */
  trainCommandSeconds?: number;
  loadAtStart?: number[];
}

/** Where {@link collectEagerRun} finds the full-validation evaluation of a run (`eager eval --split valid --json`). */
export const VALID_ALL_FILE = 'valid-all.json';

/**
 * The run's full-validation evaluation, when it was made for the run's current best checkpoint
 * (`bestStep`); the error names the file and field.
 */
export function readValidAll(runDir: string, bestStep: number): { users: number; full: Record<string, number>; 'exclude-history': Record<string, number>; seconds: number } | undefined {
  const path = join(runDir, VALID_ALL_FILE);
  if (!existsSync(path)) return undefined;
  const e = readJson<{
    split?: string; step?: number; users?: number; byRanking?: { full?: Record<string, number>; 'exclude-history'?: Record<string, number> }; seconds?: { eval?: number };
  }>(path);
  if (e.split !== 'valid') throw new Error(`${path}: split: expected "valid", got ${JSON.stringify(e.split)}`);
  if (e.step !== bestStep) throw new Error(`${path}: step: evaluated checkpoint ${String(e.step)}, but the run's best is ${bestStep} (delete the file to evaluate again)`);
  if (!e.byRanking?.full || !e.byRanking['exclude-history']) throw new Error(`${path}: byRanking: missing the full or exclude-history metrics`);
  if (typeof e.users !== 'number') throw new Error(`${path}: users: expected a number`);
  return { users: e.users, full: e.byRanking.full, 'exclude-history': e.byRanking['exclude-history'], seconds: e.seconds?.eval ?? Number.NaN };
}

/**
 * The wall time of a run's `eager train` command(s). `results.json`'s `total` covers only the
 * session that finished the run; a resumed run's earlier sessions are in `trainAllSessions - train`.
 */
export function runSecondsAllSessions(s: Record<string, number>): number {
  const total = s.total ?? 0;
  const earlier = s.trainAllSessions !== undefined && s.train !== undefined ? s.trainAllSessions - s.train : 0;
  return total + Math.max(0, earlier);
}

/** The bench result of a finished `eager train` run. */
export function collectEagerRun(o: CollectEagerOptions): EagerResult {
  const results = readJson<{
    bestStep: number; stepsRun: number; stoppedEarly: boolean; metric: string; seed: number;
    valid: { users: number; full: Record<string, number> };
    test: { users: number; full: Record<string, number>; 'exclude-history': Record<string, number> };
    config: { train: unknown; indexDir: string };
    wallSeconds: Record<string, number>;
    finishedAt?: string;
    finalSelection?: EagerResult['finalSelection'];
  }>(join(o.runDir, 'results.json'));
  const runConfig = existsSync(join(o.runDir, 'config.json')) ? readJson<{ createdAt?: string }>(join(o.runDir, 'config.json')) : {};
  const manifest = existsSync(join(o.indexDir, 'manifest.json')) ? readJson<IndexManifest>(join(o.indexDir, 'manifest.json')) : {};
  const t = manifest.timings ?? {};
  const indexSeconds = o.indexReused ? (t.totalSeconds ?? Number.NaN) : o.indexCommandSeconds;
  const wallSeconds: Record<string, number> = {
    index: indexSeconds,
    ...(t.behaviourSeconds !== undefined ? { indexBehaviour: t.behaviourSeconds } : {}),
    ...(t.semanticSeconds !== undefined ? { indexSemantic: t.semanticSeconds } : {}),
    ...(t.codesBehaviourSeconds !== undefined ? { indexCodesBehaviour: t.codesBehaviourSeconds } : {}),
    ...(t.codesSemanticSeconds !== undefined ? { indexCodesSemantic: t.codesSemanticSeconds } : {}),
    train: results.wallSeconds.trainAllSessions ?? results.wallSeconds.train ?? Number.NaN,
    test: results.wallSeconds.test ?? Number.NaN,
    ...(o.trainCommandSeconds !== undefined ? { trainCommand: o.trainCommandSeconds } : {}),
  };
  const validAll = readValidAll(o.runDir, results.bestStep);
  if (validAll) wallSeconds.validAll = validAll.seconds;
  // A final selection evaluated the candidates inside `eager train` (valid-all.json is its choice's evaluation).
  const selection = results.finalSelection;
  if (selection) wallSeconds.finalSelection = results.wallSeconds.finalSelection ?? selection.seconds;
  wallSeconds.total = (Number.isFinite(indexSeconds) ? indexSeconds : 0) + (o.trainCommandSeconds ?? runSecondsAllSessions(results.wallSeconds))
    + (validAll && !selection && Number.isFinite(validAll.seconds) ? validAll.seconds : 0);
  for (const [k, v] of Object.entries(wallSeconds)) if (!Number.isFinite(v)) delete wallSeconds[k];
  const nativeVersion = (manifest as { versions?: { native?: string } }).versions?.native;
  return {
    format: 'eager-bench-result', version: 1, kind: 'eager',
    dataset: o.datasetName,
    configName: o.configName,
    description: o.description,
    seed: results.seed,
    selection: {
      metric: `${results.metric} (validation split, full ranking)`,
      bestStep: results.bestStep, stepsRun: results.stepsRun, stoppedEarly: results.stoppedEarly, validUsers: results.valid.users,
    },
    valid: results.valid,
    ...(selection ? { finalSelection: selection } : {}),
    ...(validAll ? { validAll: { users: validAll.users, full: validAll.full, 'exclude-history': validAll['exclude-history'] } } : {}),
    test: { users: results.test.users, full: results.test.full, 'exclude-history': results.test['exclude-history'] ?? {} },
    wallSeconds,
    indexReused: o.indexReused,
    config: { index: manifest.config ?? o.indexConfig, train: results.config.train },
    indexInfo: { behaviour: manifest.behaviour, semantic: manifest.semantic, seed: manifest.seed, dir: o.indexDir },
    curves: curvesFromTrainLog(join(o.runDir, 'train-log.jsonl')),
    run: o.runDir,
    trained: { startedAt: runConfig.createdAt, finishedAt: results.finishedAt },
    provenance: provenance(o.root, nativeVersion ? { native: nativeVersion } : {}, o.loadAtStart),
  };
}

/** The bench result of an `eager baseline sasrec` output directory. */
export function collectSasrecRun(o: { root: string; dir: string; datasetName: string; loadAtStart?: number[] }): SasrecResult {
  const m = readJson<{
    config: { seed: number }; bestEpoch: number; epochsRun: number; trainSeconds: number; wallSeconds: number; selection: string;
    valid: SasrecResult['valid']; test: SasrecResult['test'];
  }>(join(o.dir, 'metrics.json'));
  return {
    format: 'eager-bench-result', version: 1, kind: 'sasrec',
    dataset: o.datasetName, configName: 'sasrec', seed: m.config.seed,
    selection: { metric: m.selection, bestEpoch: m.bestEpoch, epochsRun: m.epochsRun },
    valid: m.valid, test: m.test,
    wallSeconds: { train: m.trainSeconds, total: m.wallSeconds },
    config: m.config,
    curves: curvesFromSasrecLog(join(o.dir, 'log.jsonl')),
    provenance: provenance(o.root, {}, o.loadAtStart),
  };
}
