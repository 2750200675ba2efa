/**
 * `eager baseline sasrec <dataset> --out <dir> [--config <file>] [--<setting> <value>...]`:
 * trains SASRec (full-softmax cross-entropy) on the training parts, picks the epoch by validation
 * NDCG@10 and reports test Recall/NDCG@5/10/20 in both ranking modes with the shared metrics.
 * Writes `<out>/metrics.json`, `<out>/model.safetensors` (best epoch), `<out>/embeddings.npy`
 * ([numItems, hidden], row r = item id r+1) and `<out>/log.jsonl` (one line per epoch).
 */
import { appendFileSync, mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { flagHelp, parseFlags, readConfigFile, UsageError } from '../cli/flags.js';
import { loadDataset } from '../data/load.js';
import { leaveOneOutSplit } from '../data/split.js';
import { formatMetricTable } from '../eval/report.js';
import { writeJsonAtomic } from '../util/fs.js';
import { writeNpy } from '../util/npy.js';
import { SasRecBaselineFlagsSchema, SasRecConfigSchema, type SasRecConfig } from '../sasrec/config.js';
import { parseConfig } from '../config/data.js';
import { evaluateSasRec, trainSasRec, type SasRecSplitMetrics } from '../sasrec/train.js';

const USAGE = `usage: eager baseline sasrec <dataset-dir> --out <dir> [--config <file>] [options]

Trains SASRec on the training parts, selects the epoch by validation NDCG@10, and evaluates the
test split once (Recall/NDCG@5/10/20, full and exclude-history ranking). With --train-on
train+valid (a refit after selection) it trains exactly --epochs epochs on the training and
validation targets, validates nothing and tests the last epoch once.

options:
${flagHelp(SasRecBaselineFlagsSchema)}`;

function readSasRecConfigFile(path: string | undefined): Record<string, unknown> {
  return readConfigFile(path, SasRecConfigSchema);
}

function flatMetrics(m: SasRecSplitMetrics) {
  const flat = (r: SasRecSplitMetrics['full']) =>
    Object.fromEntries(r.ks.flatMap((k) => [[`recall@${k}`, r.recall[k]], [`ndcg@${k}`, r.ndcg[k]]]));
  return { users: m.full.users, full: flat(m.full), 'exclude-history': flat(m.excludeHistory) };
}

/**
 * The parsed arguments of `eager baseline sasrec`: the config file's values, overridden by the
 * flags that were given, defaults for the rest.
 */
export function resolveBaselineArgs(argv: string[]): { cfg: SasRecConfig; out: string; datasetDir: string; json: boolean } {
  const { flags, positionals } = parseFlags(SasRecBaselineFlagsSchema.partial({ out: true }), argv);
  if (positionals.length !== 1 || !flags.out) throw new UsageError(`expected one dataset directory and --out\n\n${USAGE}`);
  const { out, config, json, help: _h, ...overrides } = flags;
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  const cfg = parseConfig(SasRecConfigSchema, { ...readSasRecConfigFile(config), ...defined }, 'sasrec config');
  return { cfg, out, datasetDir: positionals[0]!, json };
}

/** Entry point of `eager baseline`; returns the exit code. */
export async function runBaseline(argv: string[]): Promise<number> {
  if (argv.length === 0 || argv.includes('--help') || argv.includes('-h')) {
    console.log(USAGE);
    return argv.length === 0 ? 2 : 0;
  }
  const [model, ...rest] = argv;
  if (model !== 'sasrec') throw new UsageError(`unknown baseline "${model}" (available: sasrec)\n\n${USAGE}`);
  const { cfg, out, datasetDir, json } = resolveBaselineArgs(rest);
  const ds = await loadDataset(datasetDir);
  const split = leaveOneOutSplit(ds);
  mkdirSync(out, { recursive: true });
  const logPath = join(out, 'log.jsonl');
  rmSync(logPath, { force: true });
  const say = (s: string) => process.stderr.write(`${s}\n`);
  say(`sasrec on ${ds.name}: ${ds.sequences.length} users, ${ds.numItems} items; up to ${cfg.epochs} epochs`);
  const t0 = performance.now();
  const ac = new AbortController();
  const onSigint = () => {
    say('interrupted: finishing the current epoch, then evaluating the best one');
    ac.abort();
  };
  process.once('SIGINT', onSigint);
  let r;
  try {
    r = await trainSasRec(ds, split, cfg, {
      signal: ac.signal,
      onEpoch: (e) => {
        appendFileSync(logPath, `${JSON.stringify({
          epoch: e.epoch, loss: e.loss, seconds: e.seconds, best: e.best,
          ...(e.valid ? { valid: flatMetrics(e.valid) } : {}),
        })}\n`);
        say(`epoch ${e.epoch}: loss ${e.loss.toFixed(4)}` +
          (e.score !== undefined ? `  valid NDCG@10 ${e.score.toFixed(4)}${e.best ? ' *' : ''}` : '') +
          `  (${e.seconds.toFixed(1)} s)`);
      },
    });
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
  // The test targets are read here, once, after training has chosen its epoch on validation.
  const test = await evaluateSasRec(r.model, split.test);
  const wallSeconds = (performance.now() - t0) / 1000;
  r.model.save(join(out, 'model.safetensors'));
  writeNpy(join(out, 'embeddings.npy'), { dtype: 'f4', shape: [ds.numItems, r.dim], data: r.embeddings });
  const metrics = {
    model: 'sasrec',
    dataset: resolve(datasetDir),
    users: ds.sequences.length,
    numItems: ds.numItems,
    config: r.config,
    bestEpoch: r.bestEpoch,
    epochsRun: r.epochs.length,
    trainSeconds: r.trainSeconds,
    wallSeconds,
    selection: r.valid ? `validation NDCG@10 (${r.config.selectMode} ranking)` : `none: a refit on the training and validation targets, ${r.config.epochs} epochs`,
    valid: r.valid ? flatMetrics(r.valid) : { users: 0, full: {}, 'exclude-history': {} },
    test: flatMetrics(test),
  };
  writeJsonAtomic(join(out, 'metrics.json'), metrics);
  if (json) {
    console.log(JSON.stringify(metrics, null, 2));
  } else {
    const rows = [
      ...(r.valid ? [{ model: 'sasrec', result: r.valid.full }, { model: 'sasrec', result: r.valid.excludeHistory }] : []),
      { model: 'sasrec', result: test.full }, { model: 'sasrec', result: test.excludeHistory },
    ];
    console.log(formatMetricTable(rows));
    console.log(`best epoch ${r.bestEpoch} of ${r.epochs.length}; ${wallSeconds.toFixed(0)} s; written to ${out}`);
  }
  return 0;
}
