/**
 * `eager eval <run> [<run> ...] --split valid|test [--json]`: Recall and NDCG at 5/10/20 of a
 * run's best checkpoint on its dataset's validation or test split, in both ranking modes, decoded
 * with the beam search serving uses. Also reports the decoding throughput (users per second).
 * Several runs (same dataset and catalogue) are evaluated as one ensemble (`ts/run/ensemble.ts`).
 */
import { z } from 'zod';
import { flagHelp, parseFlags, UsageError } from '../cli/flags.js';
import type { RunDeps } from '../run/backend.js';
import { DecodeConfigSchema } from '../run/config.js';
import { ensembleModel } from '../run/ensemble.js';
import { evaluateModel } from '../run/evaluate.js';
import { openRunModel, loadRunData, type OpenedRun } from '../run/open.js';
import { RunDirError } from '../run/layout.js';
import { formatSplitMetrics } from '../run/report.js';
import { measureLatency, type LatencyStats } from '../run/latency.js';

/** `eager eval` flags. */
export const EvalFlagsSchema = z.object({
  split: z.enum(['valid', 'test']).default('test').describe('valid|test (default test)'),
  checkpoint: z.enum(['best', 'last']).default('best').describe('best|last checkpoint (default best)'),
  // decoding overrides: the decode schema's own fields (its bounds and choices), without its defaults
  beamWidth: DecodeConfigSchema.shape.beamWidth.unwrap().optional().describe('override the run\'s beam width'),
  merge: DecodeConfigSchema.shape.merge.unwrap().optional().describe('override the run\'s stream merge: confidence|rescore'),
  semanticWeight: DecodeConfigSchema.shape.semanticWeight.unwrap().optional().describe('override the run\'s rescore weight of the semantic stream (behaviour: 1)'),
  batchSize: z.number().int().min(1).optional().describe('users per decoding call (default: the run\'s)'),
  dataset: z.string().min(1).optional().describe('dataset directory, if it moved since training'),
  index: z.string().min(1).optional().describe('index directory, if it moved since training'),
  latency: z.number().int().min(0).default(0).describe('also time N single-user recommend calls (k = 10): p50/p99 ms'),
  json: z.boolean().default(false).describe('print JSON: recall@5 ... ndcg@20 (full ranking) + byRanking'),
  help: z.boolean().default(false).describe('show this help'),
});

const USAGE = `usage: eager eval <run> [<run> ...] --split valid|test [--json]

Evaluates a trained run on its dataset's validation or test split: Recall@5/10/20 and
NDCG@5/10/20, full ranking and exclude-history ranking. With several runs (same dataset and
catalogue; each with its own decoding), they are evaluated as one ensemble: the union of their
top lists ranked by the sum of their rescore scores.

options:
${flagHelp(EvalFlagsSchema)}`;

/** Entry point of `eager eval`; returns the exit code. */
export async function runEval(argv: string[], deps: RunDeps = {}): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(USAGE);
    return 0;
  }
  const { flags, positionals } = parseFlags(EvalFlagsSchema, argv);
  if (positionals.length === 0) throw new UsageError('expected at least one run directory');
  if (positionals.length > 1 && flags.index) throw new UsageError('--index: with one run only (each member reads its own index)');
  const t0 = performance.now();
  const opened: OpenedRun[] = [];
  try {
    for (const dir of positionals) opened.push(await openRunModel(dir, { ...deps, checkpoint: flags.checkpoint, indexDir: flags.index }));
    return await evalOpened(opened, flags, t0);
  } finally {
    for (const o of opened) o.model.dispose?.();
  }
}

/** Evaluates the opened run, or the ensemble of the opened runs. */
async function evalOpened(opened: OpenedRun[], flags: z.infer<typeof EvalFlagsSchema>, t0: number): Promise<number> {
  const { run, model, checkpoint } = opened[0]!;
  for (const o of opened) {
    if (flags.split === 'valid' && o.run.config.train.split?.trainOn === 'train+valid') {
      throw new UsageError(`--split valid: ${o.run.paths.dir} is a refit (split.trainOn "train+valid"): its model trained on the validation targets`);
    }
    if (o.run.config.dataset.fingerprint !== run.config.dataset.fingerprint || o.run.config.numItems !== run.config.numItems) {
      throw new RunDirError(o.run.paths.config, `was trained on another dataset or catalogue than ${run.paths.dir}: an ensemble needs one`);
    }
  }
  // The split of the member with the longest history window, so that no member sees fewer items than it was trained with.
  const dataRun = opened.reduce((a, b) => (b.run.config.maxHistory > a.run.config.maxHistory ? b : a)).run;
  const { dataset, split } = await loadRunData(dataRun, flags.dataset);
  const evalCfg = run.config.train.eval;
  const overrides = Object.fromEntries(Object.entries({
    beamWidth: flags.beamWidth, merge: flags.merge, semanticWeight: flags.semanticWeight,
  }).filter(([, v]) => v !== undefined));
  const decodes = opened.map((o) => DecodeConfigSchema.parse({ ...o.run.config.train.eval.decode, ...overrides }));
  const decode = decodes[0]!;
  const samples = flags.split === 'valid' ? split.valid : split.test;
  const tLoad = (performance.now() - t0) / 1000;
  const t1 = performance.now();
  const evalOpts = { batchSize: flags.batchSize ?? evalCfg.batchSize, extraForExclusion: evalCfg.extraForExclusion };
  const decoder = opened.length === 1 ? model : ensembleModel(opened.map((o, i) => ({ model: o.model, decode: decodes[i]! })));
  const m = await evaluateModel(decoder, samples, dataset.numItems, { decode, ...evalOpts });
  const evalSeconds = (performance.now() - t1) / 1000;
  const usersPerSec = m.users / Math.max(evalSeconds, 1e-9);
  const latency: LatencyStats | undefined = flags.latency > 0
    ? await measureLatency(decoder, samples, decode, { n: flags.latency, k: 10 })
    : undefined;
  if (flags.json) {
    const ensemble = opened.length > 1
      ? { ensemble: opened.map((o, i) => ({ run: o.run.paths.dir, step: o.checkpoint.step, decode: decodes[i] })) } : {};
    console.log(JSON.stringify({
      run: run.paths.dir, checkpoint: flags.checkpoint, step: checkpoint.step, ...ensemble, split: flags.split, users: m.users,
      ranking: 'full', ...m.full, byRanking: { full: m.full, 'exclude-history': m['exclude-history'] },
      decode, seconds: { load: tLoad, eval: evalSeconds }, usersPerSec, ...(latency ? { latencyMs: latency } : {}),
    }));
  } else {
    opened.forEach((o, i) => {
      const d = decodes[i]!;
      console.log(`${opened.length > 1 ? `member ${i + 1}: ` : ''}run ${o.run.paths.dir}, ${flags.checkpoint} checkpoint (step ${o.checkpoint.step}); beam ${d.beamWidth}, merge ${d.merge}`
        + `${d.merge === 'rescore' && d.semanticWeight !== 1 ? ` (semantic weight ${d.semanticWeight})` : ''}`);
    });
    console.log('');
    console.log(formatSplitMetrics([{ model: opened.length > 1 ? `eager x${opened.length}` : 'eager', metrics: m }]));
    console.log('');
    console.log(`${m.users} users in ${evalSeconds.toFixed(2)} s (${usersPerSec.toFixed(1)} users/s); loading took ${tLoad.toFixed(2)} s`);
    if (latency) {
      console.log(`single-user recommend (k = ${latency.k}), ${latency.requests} requests: p50 ${latency.p50.toFixed(2)} ms, `
        + `p90 ${latency.p90.toFixed(2)} ms, p99 ${latency.p99.toFixed(2)} ms, max ${latency.max.toFixed(2)} ms`);
    }
  }
  return 0;
}
