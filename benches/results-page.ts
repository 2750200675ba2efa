/**
 * `npm run results:page`: generates `docs/RESULTS.md` and its pictures (`docs/img/*.svg`) from
 * the JSON files in `benches/results/` alone (written by `npm run bench:repro` and
 * `npm run bench:speed`). Numbers that have no result file are shown as "not yet run"; nothing
 * is ever filled in by hand. Optional hand-written notes per dataset (what was tried, why a gap
 * remains) are read from `benches/results/notes/<dataset>.md` and included verbatim.
 *
 * usage: node dist/benches/results-page.js [--results benches/results] [--docs docs]
 */
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { flagHelp, parseFlags } from '../ts/cli/flags.js';
import { writeFileAtomic } from '../ts/util/fs.js';
import {
  readBenchResults, type EagerResult, type EnsembleResult, type FlatMetrics, type LoadedResult, type SasrecResult, type SpeedResult, type SpeedSide, type SimpleResult,
} from './results-schema.js';
import { PAGE_DATASETS, PAPER, REFERENCE_NOTES } from './paper-numbers.js';
import { barChartSpec, curvesSpec, renderSvg, type BarDatum } from './results-charts.js';
import { readConfigCatalogue, type BenchConfig, type ConfigCatalogue } from './bench-config.js';

const METRICS = ['recall@5', 'recall@10', 'recall@20', 'ndcg@5', 'ndcg@10', 'ndcg@20'] as const;
const HEADER = '| model | ranking | R@5 | R@10 | R@20 | N@5 | N@10 | N@20 |';
const RULE = '|---|---|---|---|---|---|---|---|';
/** Prefixes of the generated pictures (stale ones with these prefixes are removed). */
const IMG_PREFIXES = ['bars-', 'curves-'];


/** The generated page and pictures (file name under `docs/img/` → SVG text). */
export interface ResultsPage {
  markdown: string;
  images: Map<string, string>;
}

export interface PageOptions {
  /**
   * The bench configs by name (`readConfigCatalogue('benches/configs')`): each result's config
   * says what the page does with it (its `role`: main-row candidate, extension, ablation, short
   * run) and labels its row. A result whose config is not in it is an error naming the file.
   */
  configs: ConfigCatalogue;
  /** Hand-written notes per dataset (markdown), placed under the dataset's tables. */
  notes?: Record<string, string>;
  /** Path of the pictures relative to the page (default `img`). */
  imgDir?: string;
  /**
   * Results of `npm run bench:repro` runs timed from an empty work directory
   * (`<resultsDir>/e2e/*.json`): shown in their own timing table, kept out of the runs and
   * ablation tables (whose runs share one index per dataset), and candidates for a dataset's
   * EAGER and extension rows by the same validation rule as the shared-index runs.
   */
  endToEnd?: LoadedResult[];
  /**
   * Refits (`<resultsDir>/refit/*.json`, `npm run bench:repro -- --refit-of <result>`): a
   * selected EAGER or SASRec run trained again on the training and validation targets up to its
   * chosen step or epoch, tested once; shown in each dataset's refit table.
   */
  refits?: LoadedResult[];
  /**
   * Ensembles (`<resultsDir>/ensemble/*.json`, `npm run bench:ensemble`): several finished runs
   * decoded together, on validation and (for one chosen there) their refits on test; shown in
   * each dataset's ensemble table (an extension, never the EAGER row).
   */
  ensembles?: LoadedResult[];
}

function fmt(v: number | null | undefined): string {
  return typeof v === 'number' && Number.isFinite(v) ? v.toFixed(4) : '–';
}

function metricRow(model: string, ranking: string, m: Partial<Record<string, number | null>>): string {
  return `| ${model} | ${ranking} | ${METRICS.map((k) => fmt(m[k])).join(' | ')} |`;
}

function notRunRow(model: string): string {
  return `| ${model} | – | not yet run | | | | | |`;
}

function seconds(s: number | undefined): string {
  if (s === undefined || !Number.isFinite(s)) return '–';
  if (s < 120) return `${s.toFixed(1)} s`;
  return `${(s / 60).toFixed(1)} min`;
}

function pct(ours: number, paper: number): string {
  const d = ours - paper;
  return `${d >= 0 ? '+' : '−'}${Math.abs(d).toFixed(4)} (${d >= 0 ? '+' : '−'}${Math.abs((100 * d) / paper).toFixed(1)} %)`;
}

function shortCommit(r: { provenance: { commit: string; dirty: boolean } }): string {
  return `\`${r.provenance.commit.slice(0, 10)}\`${r.provenance.dirty ? ' (+ uncommitted changes)' : ''}`;
}

/** When the run finished training (`YYYY-MM-DD HH:MM`), or "–" for results collected before that was recorded. */
function trainedWhen(r: EagerResult): string {
  const t = r.trained?.finishedAt;
  return t ? t.slice(0, 16).replace('T', ' ') : '–';
}

function machine(r: { provenance: EagerResult['provenance'] }): string {
  const m = r.provenance.machine;
  return `${m.cpus} × ${m.cpuModel}${m.simd ? ` (${m.simd.toUpperCase()})` : ''}, ${m.memoryGiB} GiB`;
}

/** The config of a result, from the catalogue (the page's only source of roles and labels). */
type ConfigOf = (r: EagerResult) => BenchConfig;

/** Checks that every EAGER result has a config in the catalogue (the error names the result file) and returns the lookup. */
function configLookup(results: LoadedResult[], configs: ConfigCatalogue): ConfigOf {
  for (const { file, result } of results) {
    if (result.kind === 'eager' && !configs.has(result.configName)) {
      throw new Error(`${file}: configName: no bench config named "${result.configName}", so the page cannot tell what the run is `
        + `(add benches/configs/${result.configName}.json with its role)`);
    }
    if (result.kind === 'eager' && configs.get(result.configName)?.role === 'experiment') {
      throw new Error(`${file}: configName: "${result.configName}" has role "experiment": its results belong in `
        + 'benches/results/experiments/<name>/, which the page does not read (a side experiment is never a row candidate)');
    }
  }
  return (r) => {
    const c = configs.get(r.configName);
    if (!c) throw new Error(`configName: no bench config named "${r.configName}"`);
    return c;
  };
}

/**
 * The validation numbers to compare `runs` by: every validation user (`validAll`) when all of
 * them have it, else the fixed sample each run validated on during training. Never mixes the two.
 */
function validationOf(runs: readonly EagerResult[]): (r: EagerResult) => { users: number; full: FlatMetrics } {
  const all = allUsersCompare(runs);
  return (r) => (all && r.validAll ? r.validAll : r.valid);
}

/** Whether `runs` are compared on every validation user (all of them have `validAll`). */
function allUsersCompare(runs: readonly EagerResult[]): boolean {
  return runs.length > 0 && runs.every((r) => r.validAll);
}

/** The candidate with the best validation NDCG@10 (the first of equals); test never enters. */
function bestByValidation(candidates: readonly (EagerResult | undefined)[]): EagerResult | undefined {
  const present = candidates.filter((r): r is EagerResult => r !== undefined);
  const valid = validationOf(present);
  let best: EagerResult | undefined;
  for (const r of present) {
    if (!best || (valid(r).full['ndcg@10'] ?? -1) > (valid(best).full['ndcg@10'] ?? -1)) best = r;
  }
  return best;
}

/**
 * Runs that may be "the" EAGER of a dataset: configs with role `main` (full-length runs of the
 * paper's model). Among them the main row is the one with the best **validation** NDCG@10 (full
 * ranking; on every validation user when all candidates have `validAll`, else on the fixed sample
 * they all validated on, see {@link validationOf}), so the choice never looks at test.
 */
function mainCandidates(eager: EagerResult[], configOf: ConfigOf): EagerResult[] {
  return eager.filter((r) => configOf(r).role === 'main');
}

function mainOf(eager: EagerResult[], configOf: ConfigOf): EagerResult | undefined {
  return bestByValidation(mainCandidates(eager, configOf));
}

/** Which validation numbers compared `runs`, in words. */
function validationWords(runs: readonly EagerResult[]): string {
  const r = runs[0];
  if (!r) return 'validation';
  return allUsersCompare(runs) && r.validAll ? `validation, all ${r.validAll.users} users` : `validation, the fixed ${r.valid.users}-user sample`;
}

/**
 * The best run of this project's extensions of the method (role `extension`: not the paper's
 * model, shown in its own labelled row and bar, never as the main row), by the main row's rule.
 */
function extensionOf(eager: EagerResult[], configOf: ConfigOf): EagerResult | undefined {
  return bestByValidation(eager.filter((r) => configOf(r).role === 'extension'));
}

/** The newest result of each (dataset, config) (later files win on equal keys; they are unique by name anyway). */
function groupByDataset(results: LoadedResult[]) {
  const eager = new Map<string, EagerResult[]>();
  const sasrec = new Map<string, SasrecResult>();
  const simple = new Map<string, SimpleResult>();
  const speeds: SpeedResult[] = [];
  for (const { result: r } of results) {
    if (r.kind === 'eager') eager.set(r.dataset, [...(eager.get(r.dataset) ?? []), r]);
    else if (r.kind === 'sasrec') sasrec.set(r.dataset, r);
    else if (r.kind === 'simple') simple.set(r.dataset, r);
    else if (r.kind === 'speed') speeds.push(r);
  }
  speeds.sort((a, b) => a.provenance.createdAt.localeCompare(b.provenance.createdAt));
  return { eager, sasrec, simple, speed: speeds[speeds.length - 1] };
}

function label(r: EagerResult, configOf: ConfigOf): string {
  if (r.configName === 'eager') return 'EAGER, this project';
  const c = configOf(r);
  if (c.role === 'extension') return `EAGER + ${c.label} (extension), this project`;
  return c.role === 'ablation' ? `EAGER, this project, ${c.label}` : `EAGER, this project (${r.configName})`;
}

const PROTOCOL = `## Protocol and model selection

- **Data and split.** The Amazon 2014 5-core sets (beauty, sports, toys) from \`../shared/datasets/\`, each user's items in
  chronological order. Leave-one-out: the last item is the test target, the second to last the validation target, the rest
  trains (all prefixes are training samples). Histories are truncated to the last 20 items.
- **Metrics.** Recall@K (hit rate) and NDCG@K at K = 5, 10, 20 over all users, one target each, ranked over the whole
  catalogue. Two ranking modes are reported for every row of this project:
  *full* ranks every item (what the paper's protocol describes); *exclude-history* first removes the user's own history
  items from the list. No user has an item twice in these 5-core sets (checked over every line of the three
  \`sequences.txt\`), so no target is in its user's history and *exclude-history* only removes wrong answers; it is
  the mode a service that never re-recommends would see. The paper's rows are copied as published (its ranking mode is
  not stated).
- **Model selection uses the validation targets only.** During training, the model is decoded with the same beam search as
  serving on the validation split every \`evalEvery\` updates; the checkpoint with the best validation NDCG@10 (full
  ranking) is kept and training stops after \`patience\` validations without improvement. That validation uses a fixed
  sample of users (\`eval.validUsers\`, 2,000) to stay cheap. Runs whose config sets \`eval.finalCandidates\` = N keep the N
  checkpoints best on that sample and, after training, evaluate each on every validation user and keep the best of them (the
  runs table lists the candidates); the chosen checkpoint is evaluated once on **every** validation user (\`validAll\`), and the page picks among runs (the shared-index runs and the one-command runs of the end-to-end
  table: which configuration is the EAGER row, which extension run is shown) by that number when every candidate has it, else by the sample, never mixing the two
  ([benches/validation-sample.md](../benches/validation-sample.md): the sample is too noisy to rank runs). The behaviour embeddings
  (SASRec) are trained on the training parts only and their epoch is chosen on validation NDCG@10. Hyper-parameters were
  tuned on validation only.
- **The test targets are read once,** at the very end, by evaluating the best checkpoint; no number on this page was used
  to choose anything. The SASRec baseline follows the same rule (epoch by validation NDCG@10, test once).
- **Refit (second stage, its own table).** Once validation has chosen everything (configuration, index, number of updates),
  the chosen configuration is trained again from scratch on the training *and validation* targets (\`split.trainOn:
  "train+valid"\`) with the same index, seed and schedule, stopping at the update validation chose (\`stopAt\`), and its test
  is evaluated once (\`npm run bench:repro -- --refit-of <result.json>\`). Nothing is selected on a refit: its training data
  holds the validation targets, so \`eager eval --split valid\` refuses it. The test target never trains. SASRec is refit the
  same way for its chosen number of epochs, and the count baselines are counted again on train + valid. The paper's released
  code trains on exactly these targets (it has no validation split); the test targets are the most recent interactions, and
  the validation targets are the interactions nearest to them in time, which is why a refit helps every model. A refit
  labelled "index rebuilt on train + valid" (\`--refit-index\`) also trains the index's SASRec again on train + valid, for
  the epochs its own build chose, before training on the new codes; such an index is refused to any run that selects on
  validation.
- **Ensembles (extension, their own table).** Finished runs decode together (\`npm run bench:ensemble\`): the stage-one runs
  are compared on every validation user, together and alone; only an ensemble chosen there has its test read, once, with its
  members' refits (each the refit of that member on its own index) decoding together. A second test of the same ensemble is
  refused.`;

const DIFFERENCES = `## Differences from the paper's setup

- **Semantic embeddings: MiniLM instead of Sentence-T5.** Item text (title, brand, categories) is encoded with
  all-MiniLM-L6-v2 (384-d, run in Rust) rather than Sentence-T5 (768-d).
- **Behaviour embeddings: SASRec instead of DIN.** \`E^b\` comes from a SASRec trained on the training parts (the paper
  used a pretrained DIN / two-tower model).
- **Chronological protocol.** Sequences are sorted by time and split leave-one-out on that order; the released code drops
  timestamps, so its "leave-one-out" is not chronological.
- **Validation-only selection.** The released code evaluates the test set during training and picks checkpoints on it;
  here early stopping and checkpoint choice use the validation split only, and the test split is evaluated once.
- **Codes.** Hierarchical k-means with the K in each run's index config (\`config.index.codes\`), paths of variable depth
  right-padded to a common length, rather than the released code's hard-wired 2-level balanced K = 128 codes.
- **Both auxiliary tasks are on** in the full model (the released code has GCT and STT off by default) and padding is masked
  in attention (the released code attends to padding).
- **Hyper-parameters** are this project's (see each result's \`config\` in \`benches/results/\`), not necessarily the
  paper's hidden size 128 / 4 decoder layers / K = 256.`;

/**
 * An ablation table: every row against the reference run `ref` (the full model trained the same
 * way), validation and test, with the relative difference.
 */
function ablationTable(ref: EagerResult | undefined, rows: EagerResult[], nameOf: (r: EagerResult) => string, intro: string): string[] {
  const n10 = (m: FlatMetrics | undefined) => m?.['ndcg@10'] ?? null;
  const delta = (v: number | null, r: number | null) => {
    if (v === null || r === null || r === 0) return '';
    const d = (100 * (v - r)) / r;
    return ` (${d >= 0 ? '+' : '−'}${Math.abs(d).toFixed(1)} %)`;
  };
  const valid = validationOf(ref ? [ref, ...rows] : rows);
  const users = rows[0] ? valid(rows[0]).users : 0;
  const out = [
    intro,
    '',
    `| variant | valid N@10 (${users} users) | test R@10 full | test N@10 full | test N@10 excl. history | best step |`,
    '|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const v = n10(valid(r).full);
    const t = n10(r.test.full);
    const isRef = r === ref;
    out.push(`| ${nameOf(r)} | ${fmt(v ?? undefined)}${isRef ? '' : delta(v, ref ? n10(valid(ref).full) : null)} | ${fmt(r.test.full['recall@10'])} | `
      + `${fmt(t ?? undefined)}${isRef ? '' : delta(t, n10(ref?.test.full))} | ${fmt(r.test['exclude-history']['ndcg@10'])} | ${r.selection.bestStep} / ${r.selection.stepsRun} |`);
  }
  return out;
}

/** The short reference run: the short run whose config has no `reference` (the one the others name). */
function shortReference(short: EagerResult[], configOf: ConfigOf): EagerResult | undefined {
  return short.find((r) => configOf(r).reference === undefined);
}

/** The short-budget table: every short run against the short reference, validation and test. */
function shortAblations(short: EagerResult[], haveFull: boolean, configOf: ConfigOf, configs: ConfigCatalogue): string[] {
  const ref = shortReference(short, configOf);
  const steps = ref?.selection.stepsRun ?? short[0]?.selection.stepsRun;
  // the reference, then the short ablations (short versions of ablation configs), then other settings
  const rank = (r: EagerResult) => {
    if (r === ref) return 0;
    const of = configOf(r).shortOf;
    return of !== undefined && configs.get(of)?.role === 'ablation' ? 1 : 2;
  };
  const rows = [...short].sort((a, b) => rank(a) - rank(b) || a.configName.localeCompare(b.configName));
  return ablationTable(ref, rows, (r) => configOf(r).label || r.configName,
    `**Ablations at a short budget** (${steps ?? '?'} updates each, same compact CPU model (unless the row says otherwise), seed and schedule shape${haveFull ? '' : '; the full-length ablations did not fit the CPU time available'}). `
      + 'Each row is compared with the full model trained for the same budget; checkpoints chosen on validation NDCG@10, test evaluated once.');
}

/**
 * The full-length ablation tables: each ablation run against the run of its config's `reference`
 * (the config it extends, trained the same way), one table per reference that has a result.
 */
function fullAblations(eager: EagerResult[], configOf: ConfigOf): string[] {
  const ablations = eager.filter((r) => configOf(r).role === 'ablation');
  const refs = [...new Set(ablations.map((r) => configOf(r).reference!))].sort();
  return refs.flatMap((refName, i) => {
    const ref = eager.find((r) => r.configName === refName);
    const rows = ablations.filter((r) => configOf(r).reference === refName);
    if (!ref) return [];
    return [...(i > 0 ? [''] : []), ...ablationTable(ref, [ref, ...rows], (r) => (r === ref ? `full model (\`${refName}\`, all parts on)` : configOf(r).label),
      `**Ablations at full length** (each ablation config extends \`${refName}\`: same model size, update budget, seed, `
        + 'schedule and validation sample, one part removed). Checkpoints chosen on validation NDCG@10, test evaluated once.')];
  });
}

/** Display names of the count-based reference recommenders (`--model simple`). */
const SIMPLE_LABELS: Record<string, string> = {
  'most-popular': 'Most popular (counts)',
  'item-transition': 'Item transition (bigram counts)',
};

/**
 * Validation against test NDCG@10 (full ranking) of every model that has both: the test targets
 * are later in each user's sequence, and the model-free bigram shows how much of the gap comes
 * from the data rather than from selection on validation.
 */
function validTestShift(main: EagerResult | undefined, sasrec: SasrecResult | undefined, simple: SimpleResult | undefined, extension?: EagerResult): string[] {
  const rows: [string, { users: number; full: FlatMetrics }, { users: number; full: FlatMetrics }][] = [];
  const bigram = simple?.models['item-transition'];
  if (bigram) rows.push(['item transition (no training, no selection)', bigram.valid, bigram.test]);
  if (sasrec) rows.push(['SASRec (epoch chosen on validation)', sasrec.valid, sasrec.test]);
  for (const r of [main, extension]) {
    if (r) rows.push([`EAGER \`${r.configName}\` (checkpoint chosen on validation${r.validAll ? '' : r.valid.users < r.test.users ? ', validation on a fixed user sample' : ''})`, r.validAll ?? r.valid, r.test]);
  }
  if (!rows.length) return [];
  const out = ['**Validation vs test** (NDCG@10, full ranking; the test target is each user\'s last item, the validation target the one before):', ''];
  for (const [name, v, t] of rows) {
    const a = v.full['ndcg@10'];
    const b = t.full['ndcg@10'];
    if (a === undefined || b === undefined) continue;
    out.push(`- ${name}: validation ${fmt(a)} (${v.users} users) → test ${fmt(b)} (${t.users} users), ${pct(b, a)}`);
  }
  return out;
}

/**
 * Where a chosen row comes from, when it is a one-command run (`e2e`) rather than one of the
 * dataset's shared-index runs: said in the sentence under the table.
 */
function fromEndToEnd(r: EagerResult | undefined, e2e: readonly EagerResult[], row: string): string {
  return r && e2e.includes(r)
    ? ` The ${row} comes from the one-command run in the end-to-end table below, which built its own index (its own SASRec and codes), `
      + 'so it is not in the runs and ablation tables of this section.'
    : '';
}

/**
 * A dataset's EAGER refits: those of main-role configs first, then extensions; within each, best
 * first by the validation of the run each refits (never by test), a refit on the run's own index
 * before one whose index was built again.
 */
function eagerRefitsOf(ds: string, refits: LoadedResult[], configOf: ConfigOf): EagerResult[] {
  const valid = (r: EagerResult) => r.refit?.selectedValid?.full['ndcg@10'] ?? Number.NEGATIVE_INFINITY;
  const group = (r: EagerResult) => (configOf(r).role === 'main' ? 0 : 1);
  const newIndex = (r: EagerResult) => (r.refit?.index ? 1 : 0);
  return refits.map((l) => l.result).filter((r): r is EagerResult => r.kind === 'eager' && r.dataset === ds)
    .sort((a, b) => group(a) - group(b) || valid(b) - valid(a) || newIndex(a) - newIndex(b));
}

/** The run a refit row stands beside (the EAGER row's or the extension row's) and its result file. */
interface RowRun {
  result: EagerResult;
  file: string | undefined;
}

/**
 * Metric rows of a dataset's refits: EAGER, SASRec and the count baselines' train+valid counts.
 * `rows`: the EAGER row's and the extension row's runs, so that a refit of another run says so.
 */
function refitSection(ds: string, refits: LoadedResult[], simple: SimpleResult | undefined, configOf: ConfigOf,
  rowRuns: { main?: RowRun; extension?: RowRun } = {}): string[] {
  const eager = eagerRefitsOf(ds, refits, configOf);
  const sasrec = refits.map((l) => l.result).filter((r): r is SasrecResult => r.kind === 'sasrec' && r.dataset === ds);
  if (!eager.length && !sasrec.length) return [];
  const paper = PAPER[ds];
  const out = ['**Refit on the training and validation targets** (the second stage of the protocol: everything was chosen on '
    + 'validation first, then the chosen configuration is trained again from scratch with each user\'s validation target as one '
    + 'more training target, for the number of updates or epochs validation chose, and its test is evaluated once; the paper\'s '
    + 'released code trains on exactly these targets, having no validation split):', '', HEADER, RULE];
  if (paper) out.push(metricRow('EAGER, paper (Table 2)', 'as published', paper.EAGER));
  const rows = (name: string, m: { full: FlatMetrics; 'exclude-history': FlatMetrics }) => {
    out.push(metricRow(name, 'full', m.full));
    if (Object.keys(m['exclude-history']).length) out.push(metricRow(name, 'exclude-history', m['exclude-history']));
  };
  const isExtension = (r: EagerResult) => configOf(r).role === 'extension';
  // the first refit of each group is the group's row (bold); the others name their config
  const eagerName = (r: EagerResult, i: number) => {
    const name = `EAGER${isExtension(r) ? ` + ${configOf(r).label} (extension)` : ''}, this project, refit${r.refit!.index ? ', index rebuilt on train + valid' : ''}`;
    return i === eager.findIndex((x) => isExtension(x) === isExtension(r)) ? `**${name}**` : `${name} (\`${r.configName}\`)`;
  };
  eager.forEach((r, i) => rows(eagerName(r, i), r.test));
  for (const r of sasrec) rows('SASRec, this project, refit', r.test);
  for (const [name, m] of Object.entries(simple?.refit ?? {})) rows(`${SIMPLE_LABELS[name] ?? name}, this project, counted on train + valid`, m.test);
  const n10 = (m: FlatMetrics) => m['ndcg@10'] ?? 0;
  const r10 = (m: FlatMetrics) => m['recall@10'] ?? 0;
  const isRefitOf = (row: RowRun | undefined, r: EagerResult) => row?.file !== undefined && (row.file === r.refit!.of || row.file.endsWith(`/${r.refit!.of}`));
  const whose = (r: EagerResult) => {
    const [row, words] = isExtension(r) ? [rowRuns.extension, 'the extension row\'s'] : [rowRuns.main, 'the EAGER row\'s'];
    if (isRefitOf(row, r)) return `${words} run`;
    const v = r.refit!.selectedValid?.full['ndcg@10'];
    const rv = row?.result.validAll?.full['ndcg@10'];
    return `**not ${words} run**${v !== undefined && rv !== undefined ? `: validation N@10 ${fmt(v)} on all users against the row's ${fmt(rv)}` : ''}`
      + (eager.some((x) => isRefitOf(row, x)) ? '' : '; the row\'s run has no refit');
  };
  const indexWords = (r: EagerResult) => (r.refit!.index
    ? `index built again, its SASRec trained on train + valid for the ${r.refit!.index.behaviourEpochs} epochs its own build chose, so new behaviour embeddings and codes; same seeds and schedule`
    : 'same index, seed and schedule');
  const lines = [
    ...eager.map((r) => `\`${r.configName}\` refit at its chosen update ${r.refit!.step} (${indexWords(r)}; \`${r.refit!.of}\`, ${whose(r)}): `
      + `test N@10 (full) ${fmt(n10(r.refit!.selectedTest.full))} → ${fmt(n10(r.test.full))}: ${pct(n10(r.test.full), n10(r.refit!.selectedTest.full))} over the run trained on the training targets only`
      + (paper ? `; against the paper's EAGER: R@10 ${fmt(r10(r.test.full))} vs ${fmt(paper.EAGER['recall@10'])}: ${pct(r10(r.test.full), paper.EAGER['recall@10'] ?? 1)}, `
        + `N@10 ${fmt(n10(r.test.full))} vs ${fmt(paper.EAGER['ndcg@10'])}: ${pct(n10(r.test.full), paper.EAGER['ndcg@10'] ?? 1)}` : '')),
    ...sasrec.map((r) => `SASRec refit for its chosen ${r.refit!.step} epochs: test N@10 (full) ${fmt(n10(r.refit!.selectedTest.full))} → ${fmt(n10(r.test.full))}: `
      + `${pct(n10(r.test.full), n10(r.refit!.selectedTest.full))}`),
  ];
  const bigram = simple?.refit?.['item-transition'];
  const bigramBefore = simple?.models['item-transition'];
  if (bigram && bigramBefore) {
    lines.push(`item transition counted on train + valid: test N@10 (full) ${fmt(n10(bigramBefore.test.full))} → ${fmt(n10(bigram.test.full))}: ${pct(n10(bigram.test.full), n10(bigramBefore.test.full))}`);
  }
  out.push('', ...lines.map((l) => `- ${l}`));
  return out;
}

/** A dataset's ensembles, best all-users validation N@10 first (ties by name). */
function ensemblesOf(ds: string, ensembles: LoadedResult[]): EnsembleResult[] {
  const n10 = (m: { full: FlatMetrics }) => m.full['ndcg@10'] ?? 0;
  return ensembles.map((l) => l.result).filter((r): r is EnsembleResult => r.kind === 'ensemble' && r.dataset === ds)
    .sort((a, b) => n10(b.valid) - n10(a.valid) || a.name.localeCompare(b.name));
}

/** A dataset's ensembles whose test stage ran, best validation first. */
function testedEnsembles(ds: string, ensembles: LoadedResult[]): EnsembleResult[] {
  return ensemblesOf(ds, ensembles).filter((e) => e.test);
}

/**
 * A dataset's ensembles (an extension): each on every validation user against its members alone,
 * best validation first; the refits together on test where that stage was run (once).
 */
function ensembleSection(ds: string, ensembles: LoadedResult[]): string[] {
  const mine = ensemblesOf(ds, ensembles);
  if (!mine.length) return [];
  const n10 = (m: { full: FlatMetrics }) => m.full['ndcg@10'] ?? 0;
  const r10 = (m: { full: FlatMetrics }) => m.full['recall@10'] ?? 0;
  const paper = PAPER[ds];
  const out = ['**Ensembles (extension; `npm run bench:ensemble`):** several finished runs decode together (`eager eval <run> <run> ...`): each '
    + 'member\'s top list, their union ranked by the sum of the members\' rescore scores (the product of their likelihoods). Validation, every user: '
    + 'the stage-one runs together against each alone. Test: the same members\' refits together, evaluated once, only for an ensemble chosen on '
    + 'validation. Not the paper\'s model, and each member is one more training.', ''];
  const tested = testedEnsembles(ds, ensembles);
  if (tested.length) {
    out.push(HEADER, RULE);
    if (paper) out.push(metricRow('EAGER, paper (Table 2)', 'as published', paper.EAGER));
    for (const e of tested) {
      const name = `EAGER ensemble \`${e.name}\` (${e.members.length} refits)`;
      out.push(metricRow(name, 'full', e.test!.full));
      if (Object.keys(e.test!['exclude-history']).length) out.push(metricRow(name, 'exclude-history', e.test!['exclude-history']));
    }
    out.push('');
  }
  for (const e of mine) {
    const best = Math.max(...e.members.map((m) => n10(m.validAll)));
    const members = e.members.map((m) => `\`${m.configName}\` seed ${m.seed} at ${m.step} (${fmt(n10(m.validAll))})`).join(', ');
    let line = `\`${e.name}\`${e.description ? `, ${e.description.replace(/\.$/, '')}` : ''}: validation N@10 ${fmt(n10(e.valid))} on ${e.valid.users.toLocaleString('en-US')} users `
      + `against its members alone, ${members}: ${pct(n10(e.valid), best)} over the best member`;
    if (e.test) {
      const refits = e.members.map((m) => m.refit!.test);
      const bestRefit = Math.max(...refits.map(n10));
      line += `; test (refits together, once) R@10 ${fmt(r10(e.test))} / N@10 ${fmt(n10(e.test))}, the refits alone N@10 ${refits.map((t) => fmt(n10(t))).join(', ')} `
        + `(${pct(n10(e.test), bestRefit)} over the best of them)`
        + (paper ? `; against the paper's EAGER: R@10 ${pct(r10(e.test), paper.EAGER['recall@10'] ?? 1)}, N@10 ${pct(n10(e.test), paper.EAGER['ndcg@10'] ?? 1)}` : '');
    } else {
      line += '; test not read (not chosen on validation, or its test stage not run)';
    }
    out.push(`- ${line}`);
  }
  return out;
}

function datasetSection(
  ds: string, configOf: ConfigOf, configs: ConfigCatalogue, eager: EagerResult[], e2e: EagerResult[], sasrec: SasrecResult | undefined, simple: SimpleResult | undefined,
  notes: string | undefined, imgDir: string, images: Map<string, string>, pending: Promise<void>[], refits: LoadedResult[] = [],
  fileOf: (r: EagerResult) => string | undefined = () => undefined, ensembles: LoadedResult[] = [],
): string {
  const paper = PAPER[ds];
  const out: string[] = [`## ${ds[0]!.toUpperCase()}${ds.slice(1)}`, ''];
  // The shared-index runs and the one-command runs compete for the two rows by validation.
  const pool = [...eager, ...e2e];
  const main = mainOf(pool, configOf);
  const extension = extensionOf(pool, configOf);
  const isShort = (r: EagerResult) => configOf(r).role === 'short';
  out.push(HEADER, RULE);
  if (paper) {
    out.push(metricRow('EAGER, paper (Table 2)', 'as published', paper.EAGER));
    out.push(metricRow('TIGER, paper (Table 2)', 'as published', paper.TIGER));
    out.push(metricRow('SASRec, paper (Table 2)', 'as published', paper.SASRec));
  }
  const ours = (name: string, m: { full: FlatMetrics; 'exclude-history': FlatMetrics }) => {
    out.push(metricRow(name, 'full', m.full));
    if (Object.keys(m['exclude-history']).length) out.push(metricRow(name, 'exclude-history', m['exclude-history']));
  };
  if (main) ours('**EAGER, this project**', main.test);
  else out.push(notRunRow('**EAGER, this project**'));
  if (extension) ours(`**${label(extension, configOf)}**`, extension.test);
  if (sasrec) ours('SASRec, this project', sasrec.test);
  else out.push(notRunRow('SASRec, this project'));
  const others = eager.filter((r) => r !== main && r !== extension && !isShort(r));
  const short = eager.filter(isShort);
  // an ablation counts as run when it, or a short version of it (`shortOf`), has a result
  const shown = new Set(eager.map((r) => (isShort(r) ? configOf(r).shortOf : r.configName)));
  for (const r of others) ours(label(r, configOf), r.test);
  for (const [name, m] of Object.entries(simple?.models ?? {})) ours(`${SIMPLE_LABELS[name] ?? name}, this project`, m.test);
  // The ablations are required on beauty at least: show the missing ones there.
  if (ds === 'beauty') {
    for (const c of configs.values()) if (c.role === 'ablation' && !shown.has(c.name)) out.push(notRunRow(`EAGER, this project, ${c.label}`));
  }
  out.push('', 'Test split, best checkpoint by validation NDCG@10, evaluated once. "–": not reported.'
    + (main && main.configName !== 'eager' ? ` The EAGER row is the \`${main.configName}\` configuration (best NDCG@10 on ${validationWords(mainCandidates(pool, configOf))} among the full-length configurations run): ${(main.description ?? '').replace(/\.?$/, '.')}` : '')
    + fromEndToEnd(main, e2e, 'EAGER row')
    + (extension ? ` The extension row is not the paper's model: ${(extension.description ?? '').replace(/\.?$/, '.')}` : '')
    + fromEndToEnd(extension, e2e, 'extension row'));
  const refit = refitSection(ds, refits, simple, configOf, {
    ...(main ? { main: { result: main, file: fileOf(main) } } : {}),
    ...(extension ? { extension: { result: extension, file: fileOf(extension) } } : {}),
  });
  if (refit.length) out.push('', ...refit);
  const ens = ensembleSection(ds, ensembles);
  if (ens.length) out.push('', ...ens);
  const full = fullAblations(eager, configOf);
  if (full.length) out.push('', ...full);
  if (short.length) out.push('', ...shortAblations(short, full.length > 0, configOf, configs));

  if (main && paper) {
    out.push('', '**Against the paper\'s EAGER** (this project − paper):', '');
    for (const [who, r] of [['EAGER', main], ['with the extension', extension]] as const) {
      if (!r) continue;
      for (const mode of ['full', 'exclude-history'] as const) {
        const m = r.test[mode];
        if (!Object.keys(m).length) continue;
        const parts = (['recall@10', 'ndcg@10'] as const).map((k) => `${k === 'recall@10' ? 'R@10' : 'N@10'} ${fmt(m[k])} vs ${fmt(paper.EAGER[k])}: ${pct(m[k] ?? 0, paper.EAGER[k] ?? 1)}`);
        out.push(`- ${who}, ${mode}: ${parts.join('; ')}`);
      }
    }
  }
  const shift = validTestShift(main, sasrec, simple, extension);
  if (shift.length) out.push('', ...shift);
  const refs = REFERENCE_NOTES[ds] ?? [];
  if (refs.length) out.push('', '**Other reference points:**', '', ...refs.map((n) => `- ${n}`));

  if (eager.length) {
    out.push('', '**Runs**', '', '| config | seed | best step / steps | early stop | index | train | test | total | trained (UTC) | collected at commit | machine |', '|---|---|---|---|---|---|---|---|---|---|---|');
    for (const r of eager) {
      const w = r.wallSeconds;
      const fs = r.finalSelection;
      const chosen = fs ? ` (on all users, among ${fs.candidates.map((c) => c.step).join(', ')}; the sample's: ${fs.sampleBestStep})` : '';
      out.push(`| ${r.configName} | ${r.seed} | ${r.selection.bestStep}${chosen} / ${r.selection.stepsRun} | ${r.selection.stoppedEarly ? 'yes' : 'no'} | `
        + `${seconds(w.index)}${r.indexReused ? ' (reused)' : ''} | ${seconds(w.train)} | ${seconds(w.test)} | ${seconds(w.total)} | ${trainedWhen(r)} | ${shortCommit(r)} | ${machine(r)} |`);
    }
    if (sasrec) {
      out.push('', `SASRec: epoch ${sasrec.selection.bestEpoch} of ${sasrec.selection.epochsRun} (${sasrec.selection.metric}), `
        + `${seconds(sasrec.wallSeconds.total)}, commit ${shortCommit(sasrec)}.`);
    }
  }

  // Pictures.
  if (main || sasrec || extension) {
    const bars: BarDatum[] = [];
    const order: string[] = [];
    const add = (model: string, m: Partial<Record<string, number | null>>) => {
      order.push(model);
      for (const k of METRICS) {
        const v = m[k];
        if (typeof v === 'number') bars.push({ model, metric: k, value: v });
      }
    };
    if (paper) add('EAGER (paper)', paper.EAGER);
    if (paper) add('TIGER (paper)', paper.TIGER);
    if (main) add('EAGER (ours, full)', main.test.full);
    if (main && Object.keys(main.test['exclude-history']).length) add('EAGER (ours, excl. history)', main.test['exclude-history']);
    if (extension) add('EAGER + extension (ours, full)', extension.test.full);
    const eagerRefit = eagerRefitsOf(ds, refits, configOf).find((r) => configOf(r).role === 'main' && !r.refit?.index);
    if (eagerRefit) add('EAGER refit on train + valid (ours, full)', eagerRefit.test.full);
    const ensemble = testedEnsembles(ds, ensembles)[0];
    if (ensemble) add(`EAGER ensemble of ${ensemble.members.length} refits (ours, full)`, ensemble.test!.full);
    if (sasrec) add('SASRec (ours, full)', sasrec.test.full);
    const name = `bars-${ds}.svg`;
    pending.push(renderSvg(barChartSpec(`${ds}: test metrics, this project vs the paper`, bars, order)).then((svg) => void images.set(name, svg)));
    out.push('', `![${ds}: this project against the paper](${imgDir}/${name})`);
  }
  const shortRef = shortReference(eager.filter(isShort), configOf);
  // the shared-index runs, then a chosen one-command run (its own picture name: its config may have a shared-index run too)
  for (const r of [...eager, ...e2e.filter((x) => x === main || x === extension)]) {
    if (isShort(r) && r !== shortRef) continue;
    if (!r.curves || (r.curves.loss.length === 0 && r.curves.valid.length === 0)) continue;
    const own = e2e.includes(r);
    const name = `curves-${ds}-${r.configName}${own ? '-e2e' : ''}.svg`;
    const which = `${r.configName}${own ? ' (one command, own index)' : ''}`;
    pending.push(renderSvg(curvesSpec(`${ds}, ${which}: training curves`, r.curves, ['ndcg@10'])).then((svg) => void images.set(name, svg)));
    out.push('', `![${ds} ${which}: loss parts and validation NDCG@10 over updates](${imgDir}/${name})`);
  }
  if (notes) out.push('', notes.trim());
  return out.join('\n');
}

/** "N× faster" / "N× less" etc.: how much better (or worse) this project is than the reference. */
function speedRatio(ours: number | null, torch: number | null, higherIsBetter: boolean, words: [string, string]): string {
  if (ours === null || torch === null || ours <= 0 || torch <= 0) return '–';
  const r = higherIsBetter ? ours / torch : torch / ours; // > 1: this project is better
  const shown = r >= 1 ? r : 1 / r;
  return `${shown.toFixed(shown >= 10 ? 0 : 1)}× ${r >= 1 ? words[0] : words[1]}`;
}

function speedSection(s: SpeedResult | undefined): string {
  const out = ['## Speed: this project vs the PyTorch reference', ''];
  if (!s) {
    out.push('Not yet run: `npm run bench:speed` measures both implementations side by side on this machine and writes '
      + '`benches/results/speed-<date>.json`.');
    return out.join('\n');
  }
  const v = (x: number | null, d: number) => (x === null ? 'not measured' : x.toFixed(d));
  const fast: [string, string] = ['faster', 'slower'];
  const rows: [string, keyof SpeedSide, boolean, number, [string, string]][] = [
    ['training samples/s (higher is better)', 'trainSamplesPerSec', true, 0, fast],
    ['inference users/s (higher is better)', 'inferenceUsersPerSec', true, 1, fast],
    ['k-means seconds, both code trees (lower is better)', 'kmeansSeconds', false, 2, fast],
    ['peak memory, RSS MB (lower is better)', 'peakRssMb', false, 0, ['less', 'more']],
  ];
  out.push(`Workload: ${s.workload}. ${s.threads} threads each; measured in one run, order: ${s.order.join(' → ')}.`, '');
  out.push('| measure | this project (Rust, candle) | torch reference | ratio |', '|---|---|---|---|');
  for (const [name, key, higher, d, words] of rows) {
    const o = s.ours[key] as number | null;
    const t = s.torch[key] as number | null;
    out.push(`| ${name} | ${v(o, d)} | ${v(t, d)} | ${speedRatio(o, t, higher, words)} |`);
  }
  const m = s.provenance.machine;
  out.push('', `Machine: ${machine(s)}, ${m.os}; load average at start `
    + `${m.loadAverageAtStart?.join(' / ') ?? 'unknown'}; commit ${shortCommit(s)}; ${s.provenance.createdAt}. `
    + `Versions: ${Object.entries(s.provenance.versions).map(([k, x]) => `${k} ${x}`).join(', ')}.`);
  const notes = [...s.ours.notes.map((n) => `this project: ${n}`), ...s.torch.notes.map((n) => `torch reference: ${n}`)];
  if (notes.length) out.push('', ...notes.map((n) => `- ${n}`));
  return out.join('\n');
}

/** Which config file reproduces each dataset's main EAGER row, how long its stages took in all, and what runs without `--config`. */
function mainConfigsSentence(mains: [string, EagerResult | undefined][]): string {
  const known = mains.filter((m): m is [string, EagerResult] => m[1] !== undefined);
  if (!known.length) return '';
  const totals = known.filter(([, r]) => r.wallSeconds.total !== undefined);
  return ` The main EAGER rows come from ${known.map(([ds, r]) => `${ds}: \`--config benches/configs/${r.configName}.json\``).join(', ')}; `
    + (totals.length
      ? `their stages took ${totals.map(([ds, r]) => `${seconds(r.wallSeconds.total)} (${ds})`).join(', ')} in all (the runs tables' total column: `
        + 'index, training, every validation, test; summed over the commands that made them, not one timed command; a reused index counts '
        + 'its own build, which may have used cached embeddings: the end-to-end table below has a build from nothing). '
      : '')
    + 'Without `--config` the run uses `benches/configs/eager-cpu-wide.json` (hidden 128, 2 decoder layers, 5000 updates), the '
    + 'configuration timed end to end as one command below; `eager-cpu-wide-dec4.json` (4 decoder layers) needs about 60 % more time per update '
    + '(beauty, same thread setup); `benches/configs/eager.json` is the paper-size '
    + 'model (hidden 128, 4 decoder layers, 20000 updates), which needs a GPU.';
}

/** Builds the page and renders its pictures. */
export async function buildResultsPage(results: LoadedResult[], opts: PageOptions): Promise<ResultsPage> {
  const imgDir = opts.imgDir ?? 'img';
  const configOf = configLookup([...results, ...(opts.endToEnd ?? []), ...(opts.refits ?? [])], opts.configs);
  const files = new Map<unknown, string>([...results, ...(opts.endToEnd ?? [])].map((l) => [l.result, l.file]));
  // checked once for every refit file, whatever its dataset: only EAGER and SASRec refits that say what they refit
  for (const { file, result: r } of opts.refits ?? []) {
    if ((r.kind !== 'eager' && r.kind !== 'sasrec') || !r.refit) throw new Error(`${file}: refit: a result in the refit directory must be an EAGER or SASRec refit that says what it refits`);
  }
  const names = (role: BenchConfig['role']) => [...opts.configs.values()].filter((c) => c.role === role).map((c) => c.name).join('|');
  const { eager, sasrec, simple, speed } = groupByDataset(results);
  const e2e = groupByDataset((opts.endToEnd ?? []).filter(({ result: r }) => r.kind === 'eager' && !r.indexReused)).eager;
  // page order: the default config, then main-row candidates, extensions, ablations, short runs; by name within each
  const rank = (r: EagerResult) => (r.configName === 'eager' ? -1 : ['main', 'extension', 'ablation', 'short'].indexOf(configOf(r).role));
  for (const list of eager.values()) list.sort((a, b) => rank(a) - rank(b) || a.configName.localeCompare(b.configName));
  const images = new Map<string, string>();
  const pending: Promise<void>[] = [];
  const datasets = [...PAGE_DATASETS, ...[...new Set([...eager.keys(), ...sasrec.keys()])].filter((d) => !(PAGE_DATASETS as readonly string[]).includes(d)).sort()];
  const newest = results.map((r) => r.result.provenance.createdAt).sort().pop();
  const sections = [
    '# Results',
    '',
    '<!-- Generated by `npm run results:page` from benches/results/*.json. Do not edit by hand. -->',
    '',
    `This page is generated from the JSON files in [\`benches/results/\`](../benches/results/) only`
      + `${newest ? ` (newest result: ${newest})` : ''}. Rows without a result file say "not yet run"; no number is typed in `
      + 'by hand except the paper\'s published ones.',
    '',
    '**Regenerate:** `npm run bench:repro -- --dataset beauty` (and `sports`, `toys`; ablations: `--config '
      + `benches/configs/<${names('ablation')}>.json\`, or \`<${names('short')}>.json\` `
      + 'for the short-budget CPU runs; each config\'s `role` says where its result goes on this page; baselines: `--model sasrec`, `--model simple` (count-based references); a finished run: `--from-run <run> --config <file>`), '
      + '`npm run bench:speed`, ensembles: `npm run bench:ensemble -- --name <name> --members <result.json>,... [--stage test]`, then `npm run results:page`.'
      + mainConfigsSentence(datasets.map((ds) => [ds, mainOf([...eager.get(ds) ?? [], ...e2e.get(ds) ?? []], configOf)])),
    '',
    PROTOCOL,
    '',
    ...datasets.flatMap((ds) => [datasetSection(ds, configOf, opts.configs, eager.get(ds) ?? [], e2e.get(ds) ?? [], sasrec.get(ds), simple.get(ds), opts.notes?.[ds], imgDir, images, pending, opts.refits ?? [], (r) => files.get(r), opts.ensembles ?? []), '']),
    ...endToEndSection(opts.endToEnd ?? []),
    speedSection(speed),
    '',
    DIFFERENCES,
    '',
  ];
  await Promise.all(pending);
  return { markdown: sections.join('\n'), images };
}

/**
 * The one-command runs timed end to end. Each must have built its own index (a reused index
 * would not time the whole pipeline): a result that reused one is an error naming its file.
 */
function endToEndSection(runs: LoadedResult[]): string[] {
  if (!runs.length) return [];
  const rows = runs.map(({ file, result: r }) => {
    if (r.kind !== 'eager') throw new Error(`${file}: kind: an end-to-end timing must be an EAGER bench result, not "${r.kind}"`);
    if (r.indexReused) throw new Error(`${file}: indexReused: an end-to-end timing must build its index, but this run reused one`);
    const w = r.wallSeconds;
    const load = r.provenance.machine.loadAverageAtStart;
    const textCached = (r.indexInfo['semantic'] as { fromCache?: unknown } | undefined)?.fromCache === true;
    // with a final selection, every candidate was evaluated on all validation users: that stage's time, not the chosen one's share
    const validCell = r.finalSelection && w.finalSelection !== undefined
      ? `${seconds(w.finalSelection)} (${r.finalSelection.candidates.length} checkpoints)` : seconds(w.validAll);
    return `| ${r.dataset} | ${r.configName} | ${seconds(w.index)}${textCached ? ' (text embeddings from the cache)' : ''} | ${seconds(w.train)} | ${validCell} | ${seconds(w.test)} | **${seconds(w.total)}** | `
      + `${r.selection.bestStep} / ${r.selection.stepsRun} | ${fmt(r.validAll?.full['ndcg@10'])} | ${fmt(r.test.full['recall@10'])} / ${fmt(r.test.full['ndcg@10'])} | `
      + `${trainedWhen(r)} | ${shortCommit(r)} | ${machine(r)}${load ? `, load ${load[0]!.toFixed(1)} at start` : ''} |`;
  });
  return [
    '## One command, timed end to end',
    '',
    'Each row is one `npm run bench:repro -- --dataset <name>` (with the row\'s config; `eager-cpu-wide` is the default) started from an empty work directory '
      + '(`--out` pointing at a new folder, `--results benches/results/e2e`): the index (SASRec behaviour embeddings, MiniLM text '
      + 'embeddings, both code trees), training with early stopping on validation, the best checkpoint (with a final selection, each candidate) on every validation user, '
      + 'and the one test evaluation. These runs are kept out of the runs and ablation tables above, whose runs share one index per dataset '
      + 'so that ablations compare on the same codes; a fresh index trains its own SASRec, so its numbers differ from those rows. '
      + 'They do compete for each dataset\'s EAGER and extension rows, by the same rule (the best NDCG@10 on every validation user): '
      + 'the index is part of the pipeline that validation chooses, and the row\'s sentence says when it comes from here. '
      + '"Text embeddings from the cache" means the MiniLM item embeddings came from the on-disk embedding cache (`.cache/embeddings`, '
      + 'keyed by dataset, texts and model), so the index time leaves out encoding the item texts.',
    '',
    '| dataset | config | index | train | valid, all users | test | total | best step / steps | valid N@10 (all users) | test R@10 / N@10 | trained (UTC) | commit | machine |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
  ];
}

/** Hand-written notes: `<resultsDir>/notes/<dataset>.md`. */
export function readNotes(resultsDir: string): Record<string, string> {
  const dir = join(resultsDir, 'notes');
  if (!existsSync(dir)) return {};
  return Object.fromEntries(readdirSync(dir).filter((n) => n.endsWith('.md')).map((n) => [n.slice(0, -3), readFileSync(join(dir, n), 'utf8')]));
}

/** Writes the page and pictures; removes generated pictures that are no longer referenced. */
export async function writeResultsPage(resultsDir: string, docsDir: string, configsDir: string): Promise<ResultsPage> {
  const page = await buildResultsPage(readBenchResults(resultsDir), {
    configs: readConfigCatalogue(configsDir), notes: readNotes(resultsDir), endToEnd: readBenchResults(join(resultsDir, 'e2e')),
    refits: readBenchResults(join(resultsDir, 'refit')), ensembles: readBenchResults(join(resultsDir, 'ensemble')),
  });
  const imgDir = join(docsDir, 'img');
  for (const [name, svg] of page.images) writeFileAtomic(join(imgDir, name), svg);
  if (existsSync(imgDir)) {
    for (const n of readdirSync(imgDir)) {
      if (IMG_PREFIXES.some((p) => n.startsWith(p)) && n.endsWith('.svg') && !page.images.has(n)) rmSync(join(imgDir, n), { force: true });
    }
  }
  writeFileAtomic(join(docsDir, 'RESULTS.md'), page.markdown);
  return page;
}

const FlagsSchema = z.object({
  results: z.string().min(1).default('benches/results').describe('directory of the result JSON files'),
  docs: z.string().min(1).default('docs').describe('output directory (RESULTS.md, img/)'),
  configs: z.string().min(1).default('benches/configs').describe('directory of the bench configs (their roles place each result on the page)'),
  help: z.boolean().default(false).describe('show this help'),
});

async function main(argv: string[]): Promise<number> {
  const { flags } = parseFlags(FlagsSchema, argv);
  if (flags.help) {
    console.log(`usage: npm run results:page [-- --results <dir> --docs <dir>]\n\n${flagHelp(FlagsSchema)}`);
    return 0;
  }
  const page = await writeResultsPage(resolve(flags.results), resolve(flags.docs), resolve(flags.configs));
  console.log(`wrote ${join(flags.docs, 'RESULTS.md')} and ${page.images.size} picture(s) in ${join(flags.docs, 'img')}`);
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      console.error(`results:page: ${(e as Error).message}`);
      process.exitCode = 1;
    },
  );
}
