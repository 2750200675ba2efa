/**
 * `npm run bench:ensemble -- --name <name> --members <result.json>,<result.json>[,...] [--stage valid|test]`
 *
 * Evaluates several finished EAGER runs of one dataset as one ensemble (`eager eval <run> <run> ...`:
 * each member's top list, their union ranked by the sum of the members' rescore scores), in the
 * protocol's two stages:
 *   - `--stage valid` (default): the members' own runs together on every validation user, beside
 *     each member alone (its `validAll`); writes `<results>/ensemble/<dataset>-<name>.json`
 *     without test. Compare ensembles (and single runs) on this only.
 *   - `--stage test`: for an ensemble chosen on validation, the members' refits (each the refit
 *     result whose `refit.of` is the member, on the member's own index) together on test, once:
 *     refused when the file already has a test, or when its members differ from `--members`.
 */
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { flagHelp, parseFlags, UsageError } from '../ts/cli/flags.js';
import { writeJsonAtomic } from '../ts/util/fs.js';
import { readJson } from './collect.js';
import { loadAverage, packageRoot, provenance } from './provenance.js';
import { runCliJson } from './run-cli.js';
import { parseBenchResult, type EagerResult, type EnsembleResult, type SplitMetrics } from './results-schema.js';

export const EnsembleFlagsSchema = z.object({
  name: z.string().min(1).regex(/^[a-z0-9][a-z0-9._-]*$/, 'lower-case letters, digits, ".", "_" and "-"').optional()
    .describe('the ensemble\'s name (its result is <results>/ensemble/<dataset>-<name>.json)'),
  members: z.string().min(1).optional().describe('comma-separated bench results of finished EAGER runs (not refits) on one dataset, at least two'),
  stage: z.enum(['valid', 'test']).default('valid').describe('valid: the runs together on every validation user; test: their refits together on test, once'),
  description: z.string().default('').describe('one sentence for the results page'),
  results: z.string().min(1).default('benches/results').describe('directory of the result JSON files (refits are searched under it)'),
  help: z.boolean().default(false).describe('show this help'),
});
type EnsembleFlags = z.infer<typeof EnsembleFlagsSchema>;

const USAGE = `usage: npm run bench:ensemble -- --name <name> --members <a.json>,<b.json>[,...] [--stage valid|test]

options:
${flagHelp(EnsembleFlagsSchema)}`;

/** Every `*.json` under `dir`, recursively (sorted). */
function jsonFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).sort().flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? jsonFiles(p) : n.endsWith('.json') ? [p] : [];
  });
}

/** A member's bench result: a finished EAGER run (not a refit) with its all-users validation. */
function readMember(root: string, file: string): { file: string; result: EagerResult; validAll: SplitMetrics } {
  const path = resolve(root, file);
  const r = parseBenchResult(readJson<unknown>(path), path);
  if (r.kind !== 'eager') throw new UsageError(`--members: ${path} is a ${r.kind} result, not an EAGER run`);
  if (r.refit) throw new UsageError(`--members: ${path} is a refit; name the run it refits (its refit is found for the test stage)`);
  if (!r.validAll) throw new UsageError(`--members: ${path} has no validAll (its run was never evaluated on every validation user)`);
  return { file: relative(root, path), result: r, validAll: r.validAll };
}

/** The refit of `member` on its own index, searched among every result under `resultsDir`. */
export function findRefit(root: string, resultsDir: string, member: string): { file: string; result: EagerResult } {
  const found = jsonFiles(resultsDir).flatMap((file) => {
    const raw = readJson<{ kind?: string; refit?: { of?: string; index?: unknown } }>(file);
    if (raw.kind !== 'eager' || raw.refit?.of !== member || raw.refit.index !== undefined) return [];
    const r = parseBenchResult(raw, file);
    return r.kind === 'eager' ? [{ file: relative(root, file), result: r }] : [];
  });
  if (found.length === 0) throw new UsageError(`no refit of ${member} under ${resultsDir}: run \`npm run bench:repro -- --refit-of ${member}\` first`);
  if (found.length > 1) throw new UsageError(`${found.length} refits of ${member} under ${resultsDir} (${found.map((f) => f.file).join(', ')}): keep one`);
  return found[0]!;
}

/** `eager eval <runs...> --split <split> --json`, parsed. */
async function evalRuns(root: string, runs: string[], split: 'valid' | 'test'): Promise<{ metrics: SplitMetrics; seconds: number }> {
  type EvalJson = { users: number; byRanking: { full: Record<string, number>; 'exclude-history': Record<string, number> } };
  const { value: j, seconds } = await runCliJson<EvalJson>(root, ['eval', ...runs, '--split', split, '--json']);
  return { metrics: { users: j.users, full: j.byRanking.full, 'exclude-history': j.byRanking['exclude-history'] }, seconds };
}

export async function main(argv: string[]): Promise<number> {
  const { flags } = parseFlags(EnsembleFlagsSchema, argv);
  if (flags.help) {
    console.log(USAGE);
    return 0;
  }
  return runEnsembleBench(packageRoot(), flags);
}

/** Both stages; returns the exit code. */
export async function runEnsembleBench(root: string, flags: EnsembleFlags): Promise<number> {
  if (!flags.name) throw new UsageError(`--name: required\n\n${USAGE}`);
  if (!flags.members) throw new UsageError(`--members: required\n\n${USAGE}`);
  const loadAtStart = loadAverage();
  const members = flags.members.split(',').map((f) => readMember(root, f.trim()));
  if (members.length < 2) throw new UsageError('--members: an ensemble needs at least two');
  if (new Set(members.map((m) => m.file)).size !== members.length) throw new UsageError('--members: a result is named twice');
  const dataset = members[0]!.result.dataset;
  const other = members.find((m) => m.result.dataset !== dataset);
  if (other) throw new UsageError(`--members: ${other.file} is on ${other.result.dataset}, ${members[0]!.file} on ${dataset}`);
  const resultsDir = resolve(root, flags.results);
  const out = join(resultsDir, 'ensemble', `${dataset}-${flags.name}.json`);

  if (flags.stage === 'valid') {
    if (existsSync(out)) {
      const prev = parseBenchResult(readJson<unknown>(out), out);
      if (prev.kind === 'ensemble' && prev.test) throw new UsageError(`${out} has its test already: validating it again would allow a second test; use another --name`);
    }
    const v = await evalRuns(root, members.map((m) => m.result.run), 'valid');
    const result: EnsembleResult = {
      format: 'eager-bench-result', version: 1, kind: 'ensemble', dataset, name: flags.name, description: flags.description,
      members: members.map((m) => ({ result: m.file, configName: m.result.configName, seed: m.result.seed, step: m.result.selection.bestStep, validAll: m.validAll })),
      valid: v.metrics, wallSeconds: { valid: v.seconds }, provenance: provenance(root, {}, loadAtStart),
    };
    mkdirSync(dirname(out), { recursive: true });
    writeJsonAtomic(out, parseBenchResult(result, out));
    const n10 = (m: SplitMetrics) => (m.full['ndcg@10'] ?? Number.NaN).toFixed(4);
    console.log(`\nvalidation N@10 (every user): ensemble ${n10(v.metrics)}; members ${members.map((m) => n10(m.validAll)).join(', ')}`);
    console.log(`written ${out}`);
    return 0;
  }

  if (!existsSync(out)) throw new UsageError(`--stage test: ${out} is missing: run --stage valid first (the test stage is for an ensemble chosen on validation)`);
  const prev = parseBenchResult(readJson<unknown>(out), out);
  if (prev.kind !== 'ensemble') throw new UsageError(`${out} is a ${prev.kind} result`);
  if (prev.test) throw new UsageError(`${out} already has its test: it is evaluated once`);
  const same = prev.members.length === members.length && prev.members.every((m, i) => m.result === members[i]!.file);
  if (!same) throw new UsageError(`--members: not the members ${out} was validated with (${prev.members.map((m) => m.result).join(',')})`);
  const refits = members.map((m) => findRefit(root, resultsDir, m.file));
  const t = await evalRuns(root, refits.map((r) => r.result.run), 'test');
  const result: EnsembleResult = {
    ...prev,
    members: prev.members.map((m, i) => ({ ...m, refit: { result: refits[i]!.file, test: refits[i]!.result.test } })),
    test: t.metrics,
    wallSeconds: { ...prev.wallSeconds, test: t.seconds },
    provenance: provenance(root, {}, loadAtStart),
  };
  writeJsonAtomic(out, parseBenchResult(result, out));
  const f = (m: Record<string, number>) => `R@10 ${(m['recall@10'] ?? Number.NaN).toFixed(4)} N@10 ${(m['ndcg@10'] ?? Number.NaN).toFixed(4)}`;
  console.log(`\ntest (once, refits together): full ${f(t.metrics.full)}; exclude-history ${f(t.metrics['exclude-history'])}`);
  console.log(`written ${out}; regenerate the page with \`npm run results:page\``);
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exit(code);
    },
    (e: unknown) => {
      console.error(`bench:ensemble: ${(e as Error).message}`);
      process.exit(e instanceof UsageError ? 2 : 1);
    },
  );
}
