/**
 * `npm run bench:repro -- --dataset beauty [--config benches/configs/<name>.json] [--out <dir>]`
 *
 * Reproduces the paper's experiment on one dataset with the honest protocol, through the `eager`
 * CLI only:
 *   1. `eager index`: behaviour embeddings (SASRec on the training parts), MiniLM semantic
 *      embeddings, dual hierarchical k-means codes. Reused when an index with the same config
 *      was built before in `--out` (its original build time is reported).
 *   2. `eager train`: validation-only model selection (early stopping on validation NDCG@10, best
 *      checkpoint kept); the best checkpoint is evaluated on the test split once, at the end.
 *   3. Writes `benches/results/<dataset>-<config>.json`: test and validation metrics (both
 *      ranking modes), config, seed, commit, wall time per stage, machine, versions, curves.
 *
 * `--model sasrec` runs the SASRec baseline (`eager baseline sasrec`) instead and writes
 * `benches/results/<dataset>-sasrec.json`. `--from-run <run>` only collects a finished run
 * (e.g. after `eager train --resume`). `--dry-run` prints the plan.
 *
 * `--refit-of <result.json>` is the second stage of the protocol: the selected run's config,
 * index and chosen step (all fixed on validation) are trained again from scratch with each user's
 * validation target as one more training target (`split.trainOn: "train+valid"`, what the paper's
 * released code trains on), and that model's test is evaluated once. With `--refit-index` the
 * run's index is built again too, its SASRec trained on train + valid for the epochs its own build
 * chose on validation.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { z } from 'zod';
import { flagHelp, parseFlags, UsageError } from '../ts/cli/flags.js';
import { writeJsonAtomic } from '../ts/util/fs.js';
import { waitForUnlock } from '../ts/util/lock.js';
import { canonical, defaultBenchConfig, readBenchConfig, type BenchConfig } from './bench-config.js';
import { collectEagerRun, collectSasrecRun, readJson, readValidAll, VALID_ALL_FILE } from './collect.js';
import { simpleBaselinesResult } from './simple.js';
import { loadAverage, packageRoot } from './provenance.js';
import { planRefitIndex, refitIndexDir } from './refit-index.js';
import { runCli, runCliJson } from './run-cli.js';
import { parseBenchResult, type EagerResult, type SasrecResult } from './results-schema.js';

export const ReproFlagsSchema = z.object({
  dataset: z.string().min(1).optional().describe('dataset name under ../shared/datasets, or a dataset directory'),
  config: z.string().min(1).optional().describe('bench config file (default benches/configs/eager-cpu-wide.json, the largest EAGER that fits 120 minutes on a 2-core CPU; benches/configs/eager.json is the paper-size model; sasrec.json with --model sasrec)'),
  out: z.string().min(1).optional().describe('work directory for the index and runs (default .cache/bench/<dataset>)'),
  model: z.enum(['eager', 'sasrec', 'simple']).default('eager').describe('eager (default), the sasrec baseline, or simple (most-popular and item-transition reference recommenders)'),
  fromRun: z.string().min(1).optional().describe('collect a finished run directory instead of training'),
  refitOf: z.string().min(1).optional()
    .describe('a finished EAGER or SASRec bench result: train its config again on the training and validation targets up to its chosen update or epoch (EAGER: the same index, the run beside the original), test once, write <results>/refit/<dataset>-<config>.json'),
  refitIndex: z.boolean().default(false)
    .describe('with --refit-of an EAGER result: build its index again too, its SASRec trained on the training and validation targets for the epochs its own build chose (new behaviour embeddings and codes; same seeds); writes <results>/refit/<dataset>-<config>-with-index.json'),
  results: z.string().min(1).default('benches/results').describe('directory of the result JSON files'),
  freshIndex: z.boolean().default(false).describe('rebuild the index even if one with the same config exists'),
  dryRun: z.boolean().default(false).describe('print the commands and resolved configs, run nothing'),
  help: z.boolean().default(false).describe('show this help'),
});
type ReproFlags = z.infer<typeof ReproFlagsSchema>;

const USAGE = `usage: npm run bench:repro -- --dataset <name|dir> [--config <file>] [--out <dir>] [--model eager|sasrec|simple]

options:
${flagHelp(ReproFlagsSchema)}`;

/**
 * Evaluates the run's chosen checkpoint on every validation user (training validates on a
 * fixed sample; the page compares runs on this) into `<run>/valid-all.json`, once.
 */
async function validateOnAllUsers(root: string, runDir: string): Promise<void> {
  const path = join(runDir, VALID_ALL_FILE);
  // A run without results.json has not finished training: refuse it before evaluating anything.
  const { bestStep } = readJson<{ bestStep: number }>(join(runDir, 'results.json'));
  try {
    // The same check collecting makes: a file for the run's current best checkpoint is kept.
    if (readValidAll(runDir, bestStep)) return;
  } catch (e) {
    process.stderr.write(`${(e as Error).message}: evaluating again\n`);
  }
  const { value } = await runCliJson<unknown>(root, ['eval', runDir, '--split', 'valid', '--json']);
  writeJsonAtomic(path, value);
}

function stamp(): string {
  return new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
}

function resolveDataset(root: string, dataset: string): { name: string; dir: string } {
  const asPath = resolve(root, dataset);
  const dir = dataset.includes('/') || existsSync(join(asPath, 'sequences.txt')) ? asPath : resolve(root, '..', 'shared', 'datasets', dataset);
  if (!existsSync(dir)) throw new UsageError(`--dataset: ${dir} does not exist`);
  return { name: basename(dir), dir };
}

/** Checks what the commands need: the built CLI, and MiniLM when an index is built with it. */
function preflight(root: string, cfg: BenchConfig, needs: 'index' | 'cli'): void {
  if (!existsSync(join(root, 'dist/cli.js'))) throw new Error('dist/cli.js is missing: run `npm run build` first');
  if (needs !== 'index') return;
  const sem = (cfg.index.semantic ?? {}) as { encoder?: string; modelDir?: string };
  if ((sem.encoder ?? 'minilm') === 'minilm') {
    const dir = resolve(root, sem.modelDir ?? '.cache/models/all-MiniLM-L6-v2');
    if (!existsSync(join(dir, 'model.safetensors'))) throw new Error(`${dir}: MiniLM is missing: run \`bash scripts/fetch-minilm.sh\` once`);
  }
}

/**
 * Waits while another process (`eager index` of a parallel bench run) is writing `indexDir`, so
 * that runs started side by side on one dataset build its index once and reuse it.
 */
async function waitForIndex(indexDir: string): Promise<void> {
  await waitForUnlock(indexDir, {
    onWait: (h) => process.stderr.write(`waiting for ${h.what} (pid ${h.pid}) to finish writing ${indexDir}\n`),
  });
}

/** The EAGER pipeline: index (or reuse), train, collect. Returns the exit code. */
async function reproEager(root: string, flags: ReproFlags, cfg: BenchConfig): Promise<number> {
  const loadAtStart = loadAverage();
  let runDir: string;
  let indexDir: string;
  let indexReused = true;
  let indexCommandSeconds = 0;
  let trainCommandSeconds: number | undefined;
  let datasetName: string;
  if (flags.fromRun) {
    runDir = resolve(root, flags.fromRun);
    const rc = readJson<{ dataset: { path: string }; indexDir: string }>(join(runDir, 'config.json'));
    datasetName = basename(rc.dataset.path);
    indexDir = rc.indexDir;
  } else {
    if (!flags.dataset) throw new UsageError(`--dataset: required\n\n${USAGE}`);
    const ds = resolveDataset(root, flags.dataset);
    datasetName = ds.name;
    const work = resolve(root, flags.out ?? join('.cache/bench', ds.name));
    const indexKey = createHash('sha256').update(canonical({ dataset: ds.dir, index: cfg.index })).digest('hex').slice(0, 10);
    indexDir = join(work, `index-${indexKey}`);
    runDir = join(work, 'runs', `${cfg.name}-${stamp()}`);
    const indexCfgPath = `${indexDir}.config.json`;
    const trainCfgPath = `${runDir}.train.json`;
    if (!flags.dryRun) await waitForIndex(indexDir);
    const needIndex = flags.freshIndex || !existsSync(join(indexDir, 'manifest.json'));
    const indexArgs = ['index', ds.dir, '--out', indexDir, '--config', indexCfgPath];
    const trainArgs = ['train', ds.dir, '--index', indexDir, '--out', runDir, '--config', trainCfgPath];
    if (flags.dryRun) {
      console.log(JSON.stringify({ config: cfg, index: needIndex ? indexArgs : `reuse ${indexDir}`, train: trainArgs }, null, 2));
      return 0;
    }
    preflight(root, cfg, needIndex ? 'index' : 'cli');
    mkdirSync(join(work, 'runs'), { recursive: true });
    if (needIndex) {
      writeJsonAtomic(indexCfgPath, cfg.index);
      const r = await runCli(root, indexArgs);
      if (r.code !== 0) throw new Error(`eager index failed (exit ${r.code})`);
      indexReused = false;
      indexCommandSeconds = r.seconds;
    } else {
      process.stderr.write(`reusing the index ${indexDir} (same dataset and index config; --fresh-index rebuilds it)\n`);
    }
    writeJsonAtomic(trainCfgPath, cfg.train);
    const r = await runCli(root, trainArgs);
    if (r.code === 130) {
      process.stderr.write(`interrupted: continue with \`node dist/cli.js train --resume --out ${runDir}\`, then ` +
        `\`npm run bench:repro -- --from-run ${runDir}${flags.config ? ` --config ${flags.config}` : ''}\`\n`);
      return 130;
    }
    if (r.code !== 0) throw new Error(`eager train failed (exit ${r.code})`);
    trainCommandSeconds = r.seconds;
  }

  await validateOnAllUsers(root, runDir);
  const result = collectEagerRun({
    root, runDir, indexDir, datasetName, configName: cfg.name, description: cfg.description, indexConfig: cfg.index,
    indexReused, indexCommandSeconds, trainCommandSeconds, loadAtStart,
  });
  const out = join(resolve(root, flags.results), `${datasetName}-${cfg.name}.json`);
  writeJsonAtomic(out, parseBenchResult(result, out));
  printSummary(out, result.test);
  return 0;
}

/** What every refit records (an EAGER one may add `index`). */
type Refit = Omit<NonNullable<EagerResult['refit']>, 'index'>;

/** The name part that tells a refit with its index built again (run directory and result file). */
const refitSuffix = (flags: ReproFlags): string => (flags.refitIndex ? '-with-index' : '');

/**
 * The EAGER half of a refit: the run's own config and index (with `--refit-index`, that index built
 * again on train + valid), `trainOn: train+valid`, `stopAt` its chosen update.
 */
async function refitEager(root: string, flags: ReproFlags, of: EagerResult, refit: (step: number) => Refit, loadAtStart: number[]): Promise<EagerResult | undefined> {
  const stage1 = readJson<{ dataset: { path: string }; indexDir: string; train: Record<string, unknown> }>(join(of.run, 'config.json'));
  const train = stage1.train as { split?: Record<string, unknown>; eval?: Record<string, unknown> };
  const refitTrain = {
    ...train, split: { ...train.split, trainOn: 'train+valid' }, stopAt: of.selection.bestStep,
    eval: { ...train.eval, finalCandidates: 1 },
  };
  if (flags.refitIndex && !flags.dryRun) await waitForIndex(refitIndexDir(stage1.indexDir));
  const index = flags.refitIndex ? planRefitIndex(stage1.indexDir, flags.freshIndex) : undefined;
  const indexDir = index?.dir ?? stage1.indexDir;
  const needIndex = index?.build === true;
  const indexArgs = ['index', stage1.dataset.path, '--out', indexDir, '--config', `${indexDir}.config.json`];
  const runDir = join(dirname(of.run), `${of.configName}-refit${refitSuffix(flags)}-${stamp()}`);
  const cfgPath = `${runDir}.train.json`;
  const args = ['train', stage1.dataset.path, '--index', indexDir, '--out', runDir, '--config', cfgPath];
  if (flags.dryRun) {
    console.log(JSON.stringify({ of: of.run, ...(index ? { index: needIndex ? { config: index.config, command: indexArgs } : `reuse ${indexDir}` } : {}), train: refitTrain, command: args }, null, 2));
    return undefined;
  }
  preflight(root, index ? { ...defaultBenchConfig(), index: index.config } : defaultBenchConfig(), needIndex ? 'index' : 'cli');
  let indexCommandSeconds = 0;
  if (index && needIndex) {
    writeJsonAtomic(`${indexDir}.config.json`, index.config);
    const r = await runCli(root, indexArgs);
    if (r.code !== 0) throw new Error(`eager index (refit) failed (exit ${r.code})`);
    indexCommandSeconds = r.seconds;
  }
  writeJsonAtomic(cfgPath, refitTrain);
  const r = await runCli(root, args);
  if (r.code !== 0) throw new Error(`eager train (refit) failed (exit ${r.code})`);
  const result = collectEagerRun({
    root, runDir, indexDir, datasetName: of.dataset, configName: of.configName, description: of.description,
    indexConfig: index?.config ?? of.config.index, indexReused: !needIndex, indexCommandSeconds, trainCommandSeconds: r.seconds, loadAtStart,
  });
  return { ...result, refit: { ...refit(of.selection.bestStep), ...(index ? { index: { behaviourEpochs: index.epochs } } : {}) } };
}

/** The SASRec half of a refit: its config with `trainOn: train+valid` for exactly its chosen epochs. */
async function refitSasrec(root: string, flags: ReproFlags, of: SasrecResult, refit: (step: number) => Refit, loadAtStart: number[]): Promise<SasrecResult | undefined> {
  const ds = resolveDataset(root, of.dataset);
  const work = resolve(root, flags.out ?? join('.cache/bench', ds.name));
  const dir = join(work, `sasrec-refit-${stamp()}`);
  const cfgPath = `${dir}.config.json`;
  const config = { ...(of.config as Record<string, unknown>), trainOn: 'train+valid', epochs: of.selection.bestEpoch };
  const args = ['baseline', 'sasrec', ds.dir, '--out', dir, '--config', cfgPath];
  if (flags.dryRun) {
    console.log(JSON.stringify({ config, command: args }, null, 2));
    return undefined;
  }
  preflight(root, defaultBenchConfig(), 'cli');
  mkdirSync(work, { recursive: true });
  writeJsonAtomic(cfgPath, config);
  const r = await runCli(root, args);
  if (r.code !== 0) throw new Error(`eager baseline sasrec (refit) failed (exit ${r.code})`);
  return { ...collectSasrecRun({ root, dir, datasetName: ds.name, loadAtStart }), refit: refit(of.selection.bestEpoch) };
}

/**
 * The refit of a selected run: the same config (and index) trained again from scratch on the
 * training and validation targets up to the update or epoch chosen on validation; test once.
 */
async function reproRefit(root: string, flags: ReproFlags): Promise<number> {
  const loadAtStart = loadAverage();
  const ofPath = resolve(root, flags.refitOf!);
  const of = parseBenchResult(readJson<unknown>(ofPath), ofPath);
  if (of.kind !== 'eager' && of.kind !== 'sasrec') throw new UsageError(`--refit-of: ${ofPath} is a ${of.kind} result, not an EAGER or SASRec run`);
  if (of.refit) throw new UsageError(`--refit-of: ${ofPath} is itself a refit`);
  const refit = (step: number): Refit => ({
    of: relative(root, ofPath), step, ...(of.kind === 'eager' && of.validAll ? { selectedValid: of.validAll } : {}), selectedTest: of.test,
  });
  if (flags.refitIndex && of.kind !== 'eager') throw new UsageError(`--refit-index: ${ofPath} is a ${of.kind} result; only an EAGER run has an index`);
  const result = of.kind === 'eager' ? await refitEager(root, flags, of, refit, loadAtStart) : await refitSasrec(root, flags, of, refit, loadAtStart);
  if (!result) return 0; // --dry-run
  const out = join(resolve(root, flags.results), 'refit', `${of.dataset}-${of.configName}${refitSuffix(flags)}.json`);
  mkdirSync(dirname(out), { recursive: true });
  writeJsonAtomic(out, parseBenchResult(result, out));
  printSummary(out, result.test, 'test (once, refit)');
  return 0;
}

/** The SASRec baseline through `eager baseline sasrec`. */
async function reproSasrec(root: string, flags: ReproFlags, cfg: BenchConfig): Promise<number> {
  if (!flags.dataset) throw new UsageError(`--dataset: required\n\n${USAGE}`);
  const loadAtStart = loadAverage();
  const ds = resolveDataset(root, flags.dataset);
  const work = resolve(root, flags.out ?? join('.cache/bench', ds.name));
  const dir = join(work, 'sasrec');
  const cfgPath = join(work, 'sasrec.config.json');
  const args = ['baseline', 'sasrec', ds.dir, '--out', dir, '--config', cfgPath];
  if (flags.dryRun) {
    console.log(JSON.stringify({ config: cfg.sasrec, baseline: args }, null, 2));
    return 0;
  }
  if (!flags.fromRun) {
    preflight(root, cfg, 'cli');
    mkdirSync(work, { recursive: true });
    writeJsonAtomic(cfgPath, cfg.sasrec);
    const r = await runCli(root, args);
    if (r.code !== 0) throw new Error(`eager baseline sasrec failed (exit ${r.code})`);
  }
  const from = flags.fromRun ? resolve(root, flags.fromRun) : dir;
  const result = collectSasrecRun({ root, dir: from, datasetName: ds.name, loadAtStart });
  const out = join(resolve(root, flags.results), `${ds.name}-sasrec.json`);
  writeJsonAtomic(out, parseBenchResult(result, out));
  printSummary(out, result.test);
  return 0;
}

/** The count-based reference recommenders (seconds; no training, nothing to select). */
async function reproSimple(root: string, flags: ReproFlags): Promise<number> {
  if (!flags.dataset) throw new UsageError(`--dataset: required\n\n${USAGE}`);
  const loadAtStart = loadAverage();
  const ds = resolveDataset(root, flags.dataset);
  const result = await simpleBaselinesResult({ root, dir: ds.dir, datasetName: ds.name, loadAtStart });
  const out = join(resolve(root, flags.results), `${ds.name}-simple.json`);
  writeJsonAtomic(out, parseBenchResult(result, out));
  for (const [name, m] of Object.entries(result.models)) printSummary(out, m.test, `${name} test`);
  return 0;
}

function printSummary(out: string, test: { full: Record<string, number>; 'exclude-history': Record<string, number> }, what = 'test (once, best checkpoint)'): void {
  const f = (m: Record<string, number>) => `R@10 ${(m['recall@10'] ?? Number.NaN).toFixed(4)} N@10 ${(m['ndcg@10'] ?? Number.NaN).toFixed(4)}`;
  console.log(`\n${what}: full ${f(test.full)}; exclude-history ${f(test['exclude-history'])}`);
  console.log(`written ${out}; regenerate the page with \`npm run results:page\``);
}

export async function main(argv: string[]): Promise<number> {
  const { flags } = parseFlags(ReproFlagsSchema, argv);
  if (flags.help) {
    console.log(USAGE);
    return 0;
  }
  const root = packageRoot();
  // Without --config: the CPU configuration that fits one run in 120 minutes on 2 cores (the
  // paper-size eager.json trains at ~100 samples/s there), or sasrec.json; else every default.
  const fallback = join(root, 'benches/configs', flags.model === 'sasrec' ? 'sasrec.json' : 'eager-cpu-wide.json');
  const cfg = flags.config ? readBenchConfig(resolve(root, flags.config))
    : existsSync(fallback) ? readBenchConfig(fallback) : defaultBenchConfig();
  // The child gets Ctrl-C itself (same process group) and saves a checkpoint; wait for it.
  process.on('SIGINT', () => process.stderr.write('(waiting for the running command to stop)\n'));
  if (flags.refitOf) return reproRefit(root, flags);
  if (flags.refitIndex) throw new UsageError('--refit-index: only with --refit-of <result.json>');
  if (flags.model === 'simple') return reproSimple(root, flags);
  return flags.model === 'sasrec' ? reproSasrec(root, flags, cfg) : reproEager(root, flags, cfg);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exit(code);
  },
  (e: unknown) => {
    const err = e as Error;
    console.error(`bench:repro: ${err.message}`);
    process.exit(e instanceof UsageError ? 2 : 1);
  },
);
