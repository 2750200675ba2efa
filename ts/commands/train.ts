/**
 * `eager train <dataset> --index <dir> --out <run> [--config <file>] [--resume]`: trains an EAGER
 * model (validation split only for model selection), keeps the best checkpoint, and writes the
 * test metrics of the best checkpoint, computed once at the end, to `<run>/results.json`.
 */
import { z } from 'zod';
import { flagHelp, parseFlags, UsageError } from '../cli/flags.js';
import { parseTrainConfig, readTrainConfigFile, type TrainConfig } from '../run/config.js';
import { formatSplitMetrics } from '../run/report.js';
import { trainRun } from '../run/train.js';
import type { RunDeps } from '../run/backend.js';
import { ProgressReporter } from '../train/progress.js';

/** `eager train` flags. */
export const TrainFlagsSchema = z.object({
  index: z.string().min(1).optional().describe('index directory written by `eager index` (new runs)'),
  out: z.string().min(1).optional().describe('run directory to create (or to continue with --resume)'),
  config: z.string().min(1).optional().describe('JSON config file (model, schedule, batchSize, maxSteps, evalEvery, patience, seed, eval)'),
  resume: z.boolean().default(false).describe('continue the run in --out from its last checkpoint'),
  seed: z.number().int().min(0).optional().describe('override the config seed (new runs)'),
  maxSteps: z.number().int().min(1).optional().describe('override the config maxSteps (new runs)'),
  quiet: z.boolean().default(false).describe('no progress output'),
  json: z.boolean().default(false).describe('print results.json to stdout at the end'),
  help: z.boolean().default(false).describe('show this help'),
});
export type TrainFlags = z.infer<typeof TrainFlagsSchema>;

const USAGE = `usage: eager train <dataset> --index <dir> --out <run> [--config <file>]
       eager train --resume --out <run>

Trains EAGER on a dataset with an index (codes + embeddings) from \`eager index\`. Validation
(default NDCG@10, beam search as in serving) runs every evalEvery updates on the validation split
only; the best checkpoint is kept; at the end the best checkpoint is evaluated once on the test
split. Ctrl-C saves a checkpoint; --resume continues it.

options:
${flagHelp(TrainFlagsSchema)}`;

/** Entry point of `eager train`; returns the exit code (130 when interrupted). */
export async function runTrain(argv: string[], deps: RunDeps = {}): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(USAGE);
    return 0;
  }
  const { flags, positionals } = parseFlags(TrainFlagsSchema, argv);
  if (!flags.out) throw new UsageError('--out: required (the run directory)');
  let config: TrainConfig | undefined;
  if (flags.resume) {
    if (positionals.length > 0 || flags.index || flags.config || flags.seed !== undefined || flags.maxSteps !== undefined) {
      throw new UsageError('--resume: takes only --out (the dataset, index and config are the run\'s own)');
    }
  } else {
    if (positionals.length !== 1) throw new UsageError(`expected one dataset directory, got ${positionals.length} positional argument(s)`);
    if (!flags.index) throw new UsageError('--index: required (the directory written by `eager index`)');
    const base = flags.config ? readTrainConfigFile(flags.config) : parseTrainConfig({}, 'default config');
    config = parseTrainConfig({
      ...base, ...(flags.seed !== undefined ? { seed: flags.seed } : {}), ...(flags.maxSteps !== undefined ? { maxSteps: flags.maxSteps } : {}),
    }, flags.config ?? 'config');
  }
  const say = flags.json || flags.quiet ? () => {} : (line: string) => console.error(line);
  const outcome = await trainRun(
    { out: flags.out, dataset: positionals[0], index: flags.index, config, resume: flags.resume },
    { ...deps, log: say, progress: new ProgressReporter(process.stderr, 10_000, !flags.quiet && !flags.json) },
  );
  if (outcome.interrupted) {
    say(`interrupted at step ${outcome.step}; continue with: eager train --resume --out ${flags.out}`);
    return 130;
  }
  const r = outcome.results;
  if (flags.json) {
    console.log(JSON.stringify(r));
    return 0;
  }
  if (!flags.quiet) {
    console.log(`best step ${r.bestStep} of ${r.stepsRun}${r.stoppedEarly ? ' (early stop)' : ''}: valid ${r.metric} = ${(r.valid.full[r.metric] ?? 0).toFixed(4)}`);
    const fs = r.finalSelection;
    if (fs) {
      console.log(`final selection on all ${fs.users} validation users (the sample chose step ${fs.sampleBestStep}): `
        + fs.candidates.map((c) => `step ${c.step} ${c.all.toFixed(4)}`).join(', '));
    }
    console.log('');
    console.log(formatSplitMetrics([{ model: 'eager (best)', metrics: r.test }]));
    console.log('');
    console.log(`wall time: ${Object.entries(r.wallSeconds).map(([k, v]) => `${k} ${v.toFixed(1)} s`).join(', ')}`);
    console.log(`results: ${flags.out}/results.json`);
  }
  return 0;
}
