/**
 * `eager recommend <run> [<run> ...] --history 12,7,99 --k 10 [--json]`: top-k items for one
 * history from a trained run, or from several runs of one catalogue as one ensemble (the same
 * code path as the `Recommender` service API: `load` / `loadEnsemble`).
 */
import { z } from 'zod';
import { flagHelp, parseFlags, UsageError } from '../cli/flags.js';
import { Recommender } from '../recommender.js';
import type { RunDeps } from '../run/backend.js';

/** `eager recommend` flags. */
export const RecommendFlagsSchema = z.object({
  history: z.string().regex(/^\s*-?\d+\s*(,\s*-?\d+\s*)*$/, 'expected comma-separated item ids, most recent last, e.g. 12,7,99')
    .transform((s) => s.split(',').map((x) => Number(x.trim())))
    .optional().describe('comma-separated item ids, most recent last (required)'),
  k: z.number().int().min(1).default(10).describe('number of items (clamped to the catalogue size)'),
  skipUnknown: z.boolean().default(false).describe('drop unknown history items instead of failing'),
  excludeHistory: z.boolean().default(false).describe('leave the history items out of the results'),
  checkpoint: z.enum(['best', 'last']).default('best').describe('best|last checkpoint (default best)'),
  beamWidth: z.number().int().min(1).optional().describe('override the run\'s beam width'),
  index: z.string().min(1).optional().describe('index directory, if it moved since training'),
  json: z.boolean().default(false).describe('print JSON'),
  help: z.boolean().default(false).describe('show this help'),
});

const USAGE = `usage: eager recommend <run> [<run> ...] --history 12,7,99 [--k 10] [--json]

Several runs (one catalogue) recommend as one ensemble.

options:
${flagHelp(RecommendFlagsSchema)}`;

/** Entry point of `eager recommend`; returns the exit code. */
export async function runRecommend(argv: string[], deps: RunDeps = {}): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(USAGE);
    return 0;
  }
  const { flags, positionals } = parseFlags(RecommendFlagsSchema, argv);
  if (positionals.length === 0) throw new UsageError('expected at least one run directory');
  if (positionals.length > 1 && flags.index) throw new UsageError('--index: with one run only (each member reads its own index)');
  if (!flags.history) throw new UsageError('--history: required (comma-separated item ids, most recent last)');
  const opts = {
    ...deps, checkpoint: flags.checkpoint, indexDir: flags.index, ...(flags.beamWidth ? { decode: { beamWidth: flags.beamWidth } } : {}),
  };
  const model = positionals.length === 1 ? await Recommender.load(positionals[0]!, opts) : await Recommender.loadEnsemble(positionals, opts);
  try {
    const t0 = performance.now();
    const recs = await model.recommend(flags.history, {
      k: flags.k, unknownItems: flags.skipUnknown ? 'skip' : 'error', excludeHistory: flags.excludeHistory,
    });
    const ms = performance.now() - t0;
    if (flags.json) {
      console.log(JSON.stringify({ history: flags.history, k: flags.k, items: recs, ms }));
      return 0;
    }
    const width = String(model.numItems).length;
    recs.forEach((r, i) => {
      console.log(`${String(i + 1).padStart(3)}. ${String(r.item).padStart(width)}  ${r.score.toFixed(4)}${r.title ? `  ${r.title}` : ''}`);
    });
    console.error(`(${recs.length} items in ${ms.toFixed(1)} ms)`);
    return 0;
  } finally {
    model.close();
  }
}
