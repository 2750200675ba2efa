import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, cpSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildResultsPage, writeResultsPage } from '../benches/results-page.js';
import { parseBenchResult, readBenchResults, type LoadedResult } from '../benches/results-schema.js';
import { curvesFromTrainLog } from '../benches/curves.js';
import { deepMerge, readBenchConfig, readConfigCatalogue } from '../benches/bench-config.js';

const FIXTURES = join(__dirname, 'fixtures/bench-results');
const CONFIG_DIR = join(__dirname, '../benches/configs');
/** The repository's bench configs: the page reads each result's role and label from them. */
const configs = readConfigCatalogue(CONFIG_DIR);
const tmp = mkdtempSync(join(tmpdir(), 'results-page-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Minimal well-formedness: one root <svg>, balanced tags. */
function assertSvg(svg: string): void {
  expect(svg.trimStart().startsWith('<svg')).toBe(true);
  expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
  const stack: string[] = [];
  for (const m of svg.matchAll(/<(\/?)([a-zA-Z][\w:-]*)[^>]*?(\/?)>/g)) {
    if (m[3] === '/') continue;
    if (m[1] === '/') expect(stack.pop()).toBe(m[2]);
    else stack.push(m[2]!);
  }
  expect(stack).toEqual([]);
}

/** The fixture results other than EAGER runs, plus one EAGER result to copy variants from. */
function fixtureBase() {
  const base = readBenchResults(FIXTURES).filter((r) => r.result.kind !== 'eager' || r.result.configName === 'no-gct');
  return { others: base.filter((r) => r.result.kind !== 'eager'), template: base.find((r) => r.result.kind === 'eager')! };
}

/** A copy of `template` as another config, with the given validation (sample / all users) and test NDCG@10. */
function eagerVariant(template: LoadedResult, configName: string, validN10: number, testN10: number, validAllN10?: number): LoadedResult {
  const r = structuredClone(template);
  if (r.result.kind !== 'eager') throw new Error('fixture');
  r.result.configName = configName;
  r.result.description = `${configName} run`;
  r.result.valid.full['ndcg@10'] = validN10;
  if (validAllN10 !== undefined) r.result.validAll = { users: 22363, full: { ...r.result.valid.full, 'ndcg@10': validAllN10 }, 'exclude-history': {} };
  r.result.test.full['ndcg@10'] = testN10;
  return r;
}

/** The Beauty section of the page built from `results`. */
async function beautyOf(results: LoadedResult[]): Promise<string> {
  const md = (await buildResultsPage(results, { configs })).markdown;
  return md.slice(md.indexOf('## Beauty'), md.indexOf('## Sports'));
}

describe('results page', () => {
  it('puts the project next to the paper in both ranking modes, and marks what has not run', async () => {
    const page = await buildResultsPage(readBenchResults(FIXTURES), { configs });
    const md = page.markdown;
    expect(md).toContain('| EAGER, paper (Table 2) | as published | 0.0618 | 0.0836 | 0.1124 | 0.0451 | 0.0525 | 0.0599 |');
    expect(md).toContain('| TIGER, paper (Table 2) | as published | 0.0454 | 0.0648 | – | 0.0321 | 0.0384 | – |');
    expect(md).toContain('| **EAGER, this project** | full | 0.0512 | 0.0734 | 0.1011 | 0.0345 | 0.0416 | 0.0487 |');
    expect(md).toContain('| **EAGER, this project** | exclude-history | 0.0601 | 0.0855 | 0.1182 | 0.0402 | 0.0484 | 0.0567 |');
    expect(md).toContain('| SASRec, this project | full | 0.0571 | 0.0843 | 0.1201 | 0.0322 | 0.0410 | 0.0501 |');
    expect(md).toContain('| EAGER, this project, without GCT | full | 0.0401 | 0.0602 | 0.0903 | 0.0251 | 0.0312 | 0.0399 |');
    // Ablations required on beauty but without a result, and datasets without any run.
    expect(md).toContain('| EAGER, this project, without STT | – | not yet run | | | | | |');
    expect(md).toContain('| EAGER, this project, behaviour stream only | – | not yet run | | | | | |');
    const sports = md.slice(md.indexOf('## Sports'), md.indexOf('## Toys'));
    expect(sports).toContain('| **EAGER, this project** | – | not yet run | | | | | |');
    expect(sports).toContain('| EAGER, paper (Table 2) | as published | 0.0281 | 0.0441 | 0.0659 | 0.0184 | 0.0236 | 0.0291 |');
    // The count-based references, and the validation -> test shift they measure without any selection.
    expect(md).toContain('| Item transition (bigram counts), this project | full | 0.0504 | 0.0659 | 0.0819 | 0.0377 | 0.0427 | 0.0468 |');
    expect(md).toContain('| Most popular (counts), this project | full | 0.0072 | 0.0114 | 0.0195 | 0.0040 | 0.0053 | 0.0073 |');
    expect(md).toContain('- item transition (no training, no selection): validation 0.0540 (22363 users) → test 0.0427 (22363 users), −0.0113 (−21.0 %)');
    expect(md).toMatch(/- SASRec \(epoch chosen on validation\): validation [0-9.]+ \(\d+ users\) → test 0\.0410/);
    // The gap to the paper is stated.
    expect(md).toContain('- EAGER, full: R@10 0.0734 vs 0.0836: −0.0102 (−12.2 %); N@10 0.0416 vs 0.0525: −0.0109 (−20.8 %)');
    // Protocol, differences and model selection.
    expect(md).toContain('## Protocol and model selection');
    expect(md).toContain('MiniLM instead of Sentence-T5');
    expect(md).toContain('SASRec instead of DIN');
    // Speed table from the speed JSON, with ratios.
    expect(md).toContain('| training samples/s (higher is better) | 1200 | 239 | 5.0× faster |');
    expect(md).toContain('| k-means seconds, both code trees (lower is better) | 4.42 | 36.55 | 8.3× faster |');
    expect(md).toContain('| peak memory, RSS MB (lower is better) | 400 | 1171 | 2.9× less |');
    expect(md).toContain('Machine: 2 × Fixture CPU, 8 GiB, Linux 6.1; load average at start 0.5 / 0.4 / 0.3;');
    // Pictures are referenced and rendered.
    expect(md).toContain('![beauty: this project against the paper](img/bars-beauty.svg)');
    expect(md).toContain('(img/curves-beauty-eager.svg)');
    expect([...page.images.keys()].sort()).toEqual(['bars-beauty.svg', 'curves-beauty-eager.svg']);
  });

  it('renders valid SVG that contains the series', async () => {
    const page = await buildResultsPage(readBenchResults(FIXTURES), { configs });
    const bars = page.images.get('bars-beauty.svg')!;
    const curves = page.images.get('curves-beauty-eager.svg')!;
    assertSvg(bars);
    assertSvg(curves);
    for (const series of ['EAGER (paper)', 'TIGER (paper)', 'EAGER (ours, full)', 'EAGER (ours, excl. history)', 'SASRec (ours, full)']) {
      expect(bars).toContain(series);
    }
    for (const series of ['genBehaviour', 'genSemantic', 'recog', 'total', 'ndcg@10']) expect(curves).toContain(series);
  });

  it('writes the page and pictures, and regenerates them identically', async () => {
    const results = join(tmp, 'results');
    const docs = join(tmp, 'docs');
    cpSync(FIXTURES, results, { recursive: true });
    mkdirSync(join(results, 'notes'), { recursive: true });
    writeFileSync(join(results, 'notes/beauty.md'), 'Tried: a wider beam.\n');
    mkdirSync(join(docs, 'img'), { recursive: true });
    writeFileSync(join(docs, 'img/curves-stale.svg'), '<svg/>');
    await writeResultsPage(results, docs, CONFIG_DIR);
    const first = readFileSync(join(docs, 'RESULTS.md'), 'utf8');
    const svg1 = readFileSync(join(docs, 'img/bars-beauty.svg'), 'utf8');
    expect(first).toContain('Tried: a wider beam.');
    expect(readdirSync(join(docs, 'img')).sort()).toEqual(['bars-beauty.svg', 'curves-beauty-eager.svg']);
    await writeResultsPage(results, docs, CONFIG_DIR);
    expect(readFileSync(join(docs, 'RESULTS.md'), 'utf8')).toBe(first);
    expect(readFileSync(join(docs, 'img/bars-beauty.svg'), 'utf8')).toBe(svg1);
  });

  it('says "not yet run" everywhere when there are no results', async () => {
    const { markdown, images } = await buildResultsPage([], { configs });
    expect(images.size).toBe(0);
    expect(markdown.match(/\*\*EAGER, this project\*\* \| – \| not yet run/g)).toHaveLength(3);
    expect(markdown).toContain('Not yet run: `npm run bench:speed`');
    expect(markdown).not.toMatch(/\| full \|/);
  });

  it('rejects a malformed result naming the file and field', () => {
    const raw = JSON.parse(readFileSync(join(FIXTURES, 'beauty-eager.json'), 'utf8')) as Record<string, unknown>;
    delete (raw.selection as Record<string, unknown>).bestStep;
    expect(() => parseBenchResult(raw, 'x/beauty-eager.json')).toThrow(/x\/beauty-eager\.json: selection\.bestStep/);
  });
});

describe('bench helpers', () => {
  it('averages loss parts into buckets and keeps every validation line', () => {
    const log = join(tmp, 'train-log.jsonl');
    const lines = [1, 2, 3, 4].map((s) => JSON.stringify({ kind: 'step', step: s, epoch: 0, lr: 1e-3, total: s, genBehaviour: 2 * s, samplesPerSec: 100, t: s }));
    lines.push(JSON.stringify({ kind: 'valid', step: 4, 'ndcg@10': 0.1, improved: true, best: 0.1, bestStep: 4 }), '{"kind":"st');
    writeFileSync(log, `${lines.join('\n')}\n`);
    const c = curvesFromTrainLog(log, 2);
    expect(c.loss).toEqual([{ step: 2, total: 1.5, genBehaviour: 3 }, { step: 4, total: 3.5, genBehaviour: 7 }]);
    expect(c.valid).toEqual([{ step: 4, 'ndcg@10': 0.1 }]);
  });

  it('merges ablation configs over their base and validates the sections', () => {
    const cfg = readBenchConfig(join(__dirname, '../benches/configs/semantic-only.json'));
    expect(cfg.name).toBe('semantic-only');
    // merged over eager-cpu-wide.json (itself over eager-cpu.json): the ablation changes only its part
    const wide = readBenchConfig(join(__dirname, '../benches/configs/eager-cpu-wide.json'));
    expect(cfg.train).toEqual(deepMerge(wide.train, { model: { streams: { behaviour: false, semantic: true }, stt: { enabled: false } } }));
    expect(cfg.train).toMatchObject({ maxSteps: 5000, model: { hidden: 128, streams: { behaviour: false, semantic: true }, stt: { enabled: false } } });
    expect(cfg.index).toEqual(wide.index);
    expect(deepMerge({ a: { b: 1, c: [1] } }, { a: { c: [2] } })).toEqual({ a: { b: 1, c: [2] } });
    const bad = join(tmp, 'bad.json');
    writeFileSync(bad, JSON.stringify({ role: 'main', train: { maxStep: 3 } }));
    expect(() => readBenchConfig(bad)).toThrow(/bad\.json \(merged\) train: .*maxStep/);
    writeFileSync(bad, JSON.stringify({ role: 'main', train: { model: { streams: { behaviour: false } } } }));
    expect(() => readBenchConfig(bad)).toThrow(/train\.model: stt\.enabled/);
    for (const c of ['eager', 'behaviour-only', 'semantic-only', 'no-gct', 'no-stt', 'sasrec']) {
      expect(readBenchConfig(join(__dirname, `../benches/configs/${c}.json`)).name).toBe(c);
    }
  });

  it('reads each config\'s role from its own file, never from the one it extends, and checks the role\'s fields', () => {
    expect(configs.get('eager-cpu-wide')).toMatchObject({ role: 'main', label: '' });
    expect(configs.get('no-stt')).toMatchObject({ role: 'ablation', label: 'without STT', reference: 'eager-cpu-wide' });
    expect(configs.get('short-no-stt')).toMatchObject({ role: 'short', reference: 'short-full', shortOf: 'no-stt' });
    expect(configs.get('short-full')!.reference).toBeUndefined();
    expect(configs.get('eager-cpu-wide-inputs')!.role).toBe('extension');
    expect(configs.get('sasrec')!.role).toBe('baseline');
    const dir = join(tmp, 'roles');
    mkdirSync(dir, { recursive: true });
    const put = (name: string, body: unknown) => writeFileSync(join(dir, `${name}.json`), JSON.stringify(body));
    put('base', { role: 'main', train: { maxSteps: 10 } });
    put('no-x', { extends: 'base.json', train: { model: { gct: { enabled: false } } } });
    expect(() => readBenchConfig(join(dir, 'no-x.json'))).toThrow(/no-x\.json: role: /);
    put('no-x', { extends: 'base.json', role: 'ablation', train: { model: { gct: { enabled: false } } } });
    expect(() => readBenchConfig(join(dir, 'no-x.json'))).toThrow(/no-x\.json: label: a config with role "ablation" needs a label/);
    put('no-x', { extends: 'base.json', role: 'ablation', label: 'without GCT', train: { model: { gct: { enabled: false } } } });
    expect(() => readBenchConfig(join(dir, 'no-x.json'))).toThrow(/no-x\.json: reference: an ablation names the config/);
    put('no-x', { extends: 'base.json', role: 'ablation', label: 'without GCT', reference: 'bass', train: { model: { gct: { enabled: false } } } });
    expect(readBenchConfig(join(dir, 'no-x.json'))).toMatchObject({ role: 'ablation', train: { maxSteps: 10 } });
    expect(readBenchConfig(join(dir, 'base.json')).role).toBe('main');
    expect(() => readConfigCatalogue(dir)).toThrow(/no-x\.json: reference: no config named "bass"/);
    put('no-x', { extends: 'base.json', name: 'base', role: 'main' });
    expect(() => readConfigCatalogue(dir)).toThrow(/no-x\.json: name: "base" is also the name of .*base\.json/);
  });
});

describe('results page: compact main config and short-budget ablations', () => {
  it('uses eager-cpu as the main row and tabulates short ablations against short-full', async () => {
    const { others, template } = fixtureBase();
    const withCurves = readBenchResults(FIXTURES).find((r) => r.result.kind === 'eager' && r.result.configName === 'eager')!;
    if (template.result.kind === 'eager' && withCurves.result.kind === 'eager') template.result.curves = withCurves.result.curves;
    const variant = (configName: string, validN10: number, testN10: number) => eagerVariant(template, configName, validN10, testN10);
    const results = [
      ...others,
      variant('eager-cpu', 0.05, 0.0333),
      // Better on test but worse on validation: must not become the main row.
      variant('eager-cpu-wide', 0.045, 0.06),
      variant('short-full', 0.04, 0.03),
      variant('short-no-stt', 0.03, 0.033),
      // An extension beats everything on validation, yet is never the main EAGER row.
      variant('eager-cpu-wide-inputs', 0.07, 0.0444),
      // A second extension run, better on test but worse on validation: not the extension row.
      variant('eager-cpu-wide-inputs-long', 0.065, 0.05),
    ];
    const main = results.find((r) => r.result.kind === 'eager' && r.result.configName === 'eager-cpu')!;
    if (main.result.kind !== 'eager') throw new Error('fixture');
    main.result.wallSeconds.total = 5400;
    const md = (await buildResultsPage(results, { configs })).markdown;
    // the regenerate line names the main row's config and how long all its stages took
    expect(md).toContain('The main EAGER rows come from beauty: `--config benches/configs/eager-cpu.json`');
    expect(md).toMatch(/their stages took 90\.0 min \(beauty\)[^.]* in all/);
    const beauty = md.slice(md.indexOf('## Beauty'), md.indexOf('## Sports'));
    expect(beauty).toContain('| **EAGER, this project** | full | 0.0401 | 0.0602 | 0.0903 | 0.0251 | 0.0333 | 0.0399 |');
    expect(beauty).toMatch(/The EAGER row is the `eager-cpu` configuration \(best NDCG@10 on validation, the fixed \d+-user sample among the full-length configurations run\): eager-cpu run\./);
    expect(beauty).toContain('| **EAGER + pretrained encoder inputs (extension), this project** | full | 0.0401 | 0.0602 | 0.0903 | 0.0251 | 0.0444 | 0.0399 |');
    expect(beauty).toContain('The extension row is not the paper\'s model: eager-cpu-wide-inputs run.');
    expect(beauty).toContain('- with the extension, full: R@10 0.0602 vs 0.0836');
    expect(beauty).toContain('- EAGER `eager-cpu-wide-inputs` (checkpoint chosen on validation');
    expect(beauty).toContain('**Ablations at a short budget** (300 updates each');
    expect(beauty).toContain('| full model (all parts on) | 0.0400 | 0.0602 | 0.0300 |');
    expect(beauty).toContain('| without STT | 0.0300 (−25.0 %) | 0.0602 | 0.0330 (+10.0 %) |');
    // A short ablation counts as run; the others are still listed as missing.
    expect(beauty).not.toContain('| EAGER, this project, without STT | – | not yet run');
    expect(beauty).toContain('| EAGER, this project, behaviour stream only | – | not yet run | | | | | |');
    // Short ablations are not rows of the main table, and only short-full gets a curves picture.
    expect(beauty).not.toContain('| EAGER, this project (short-no-stt) |');
    expect(beauty).toContain('(img/curves-beauty-short-full.svg)');
    expect(beauty).not.toContain('curves-beauty-short-no-stt.svg');
    // With no full-length ablation run, the short table says so and there is no full table.
    expect(beauty).toContain('the full-length ablations did not fit the CPU time available');
    expect(beauty).not.toContain('**Ablations at full length**');
  });

  it('compares runs on every validation user when all of them were evaluated so, never mixing', async () => {
    const { others, template } = fixtureBase();
    const variant = (configName: string, sampleN10: number, allN10: number | undefined, testN10: number) => eagerVariant(template, configName, sampleN10, testN10, allN10);
    const page = (...runs: LoadedResult[]) => beautyOf([...others, ...runs]);
    // the sample prefers eager-cpu, all users prefer eager-cpu-wide: all users decide
    const both = await page(variant('eager-cpu', 0.06, 0.05, 0.031), variant('eager-cpu-wide', 0.055, 0.052, 0.032));
    expect(both).toContain('The EAGER row is the `eager-cpu-wide` configuration (best NDCG@10 on validation, all 22363 users among');
    expect(both).toContain('- EAGER `eager-cpu-wide` (checkpoint chosen on validation): validation 0.0520 (22363 users) → test 0.0320');
    // one run lacks the full evaluation: the sample decides for all of them
    const mixed = await page(variant('eager-cpu', 0.06, undefined, 0.031), variant('eager-cpu-wide', 0.055, 0.052, 0.032));
    expect(mixed).toMatch(/The EAGER row is the `eager-cpu` configuration \(best NDCG@10 on validation, the fixed \d+-user sample among/);
  });

  it('tabulates full-length ablations against the config they extend', async () => {
    const { others, template } = fixtureBase();
    const beauty = await beautyOf([
      ...others,
      eagerVariant(template, 'eager-cpu-wide', 0.05, 0.04),
      eagerVariant(template, 'no-stt', 0.045, 0.042),
      eagerVariant(template, 'behaviour-only', 0.04, 0.03),
      eagerVariant(template, 'short-full', 0.04, 0.03),
    ]);
    const table = beauty.slice(beauty.indexOf('**Ablations at full length**'), beauty.indexOf('**Ablations at a short budget**'));
    expect(table).toContain('each ablation config extends `eager-cpu-wide`');
    const rows = table.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| variant'));
    expect(rows.map((l) => l.split(' | ')[0])).toEqual(['| full model (`eager-cpu-wide`, all parts on)', '| behaviour stream only', '| without STT']);
    expect(rows[1]).toContain('| 0.0400 (−20.0 %) | 0.0602 | 0.0300 (−25.0 %) |');
    expect(rows[2]).toContain('| 0.0450 (−10.0 %) | 0.0602 | 0.0420 (+5.0 %) |');
    // the short table no longer claims the full-length runs are missing
    expect(beauty).not.toContain('did not fit the CPU time available');
    // run ablations are not listed as missing; the others still are
    expect(beauty).not.toContain('| EAGER, this project, without STT | – | not yet run');
    expect(beauty).toContain('| EAGER, this project, without GCT | – | not yet run | | | | | |');
  });
  it('places a run by its config\'s role, so a new config needs no page change, and refuses an unknown config', async () => {
    const { others, template } = fixtureBase();
    const dir = join(tmp, 'catalogue');
    cpSync(CONFIG_DIR, dir, { recursive: true });
    writeFileSync(join(dir, 'eager-cpu-deep.json'), JSON.stringify({ extends: 'eager-cpu-wide.json', role: 'main', description: 'deeper decoders', train: { model: { decoderLayers: 6 } } }));
    writeFileSync(join(dir, 'eager-cpu-wide-extra.json'), JSON.stringify({ extends: 'eager-cpu-wide.json', role: 'extension', label: 'an extra input', train: { model: { dropout: 0.05 } } }));
    const own = readConfigCatalogue(dir);
    const runs = [
      ...others,
      eagerVariant(template, 'eager-cpu-wide', 0.05, 0.04, 0.05),
      eagerVariant(template, 'eager-cpu-deep', 0.05, 0.039, 0.052),
      eagerVariant(template, 'eager-cpu-wide-extra', 0.05, 0.045, 0.06),
    ];
    const md = (await buildResultsPage(runs, { configs: own })).markdown;
    const beauty = md.slice(md.indexOf('## Beauty'), md.indexOf('## Sports'));
    expect(beauty).toContain('The EAGER row is the `eager-cpu-deep` configuration');
    expect(beauty).toContain('| **EAGER + an extra input (extension), this project** | full |');
    expect(beauty).toContain('| EAGER, this project (eager-cpu-wide) | full |');
    // the repository's catalogue does not know the new names: the error names the result file
    await expect(buildResultsPage(runs, { configs })).rejects.toThrow(/no-gct\.json: configName: no bench config named "eager-cpu-deep"/);
    // a side experiment (role experiment, e.g. another seed) is refused, never made a row candidate
    writeFileSync(join(dir, 'eager-cpu-wide-seed9.json'), JSON.stringify({ extends: 'eager-cpu-wide.json', role: 'experiment', description: 'another seed', train: { seed: 9 } }));
    const withExperiment = [...runs, eagerVariant(template, 'eager-cpu-wide-seed9', 0.05, 0.05, 0.07)];
    await expect(buildResultsPage(withExperiment, { configs: readConfigCatalogue(dir) }))
      .rejects.toThrow(/configName: "eager-cpu-wide-seed9" has role "experiment": its results belong in benches\/results\/experiments\//);
  });

  it('times one-command runs end to end in their own table, and refuses one that reused its index', async () => {
    const { others, template } = fixtureBase();
    const e2e = eagerVariant(template, 'eager-cpu-wide', 0.05, 0.0391, 0.0548);
    if (e2e.result.kind !== 'eager') throw new Error('fixture');
    e2e.result.wallSeconds = { index: 900, train: 3600, validAll: 240, test: 120, total: 4870 };
    e2e.result.selection.bestStep = 4500;
    e2e.result.selection.stepsRun = 5000;
    e2e.result.provenance.machine.simd = 'avx512';
    const cached = structuredClone(e2e);
    if (cached.result.kind !== 'eager') throw new Error('fixture');
    cached.result.dataset = 'toys';
    cached.result.indexInfo = { semantic: { encoder: 'minilm', fromCache: true } };
    // a shared-index run of the same config that is better on validation keeps the EAGER row
    const shared = eagerVariant(template, 'eager-cpu-wide', 0.05, 0.0383, 0.0560);
    const md = (await buildResultsPage([...others, template, shared], { configs, endToEnd: [e2e, cached] })).markdown;
    const section = md.slice(md.indexOf('## One command, timed end to end'), md.indexOf('## Speed'));
    expect(section).toContain('`npm run bench:repro -- --dataset <name>`');
    expect(section).toContain('| beauty | eager-cpu-wide | 15.0 min | 60.0 min | 4.0 min | 2.0 min | **81.2 min** | 4500 / 5000 | 0.0548 | 0.0602 / 0.0391 |');
    // the CPU's vector level, where the result recorded it (the model name does not tell hosts apart)
    expect(section).toContain('2 × Fixture CPU (AVX512), 8 GiB, load 0.5 at start |');
    // the speed table's machine line says it the same way
    const speed = others.find((r) => r.result.kind === 'speed')!;
    speed.result.provenance.machine.simd = 'avx512';
    expect((await buildResultsPage([...others, template], { configs })).markdown).toContain('Machine: 2 × Fixture CPU (AVX512), 8 GiB, Linux 6.1; load average');
    // an index whose text embeddings came from the cache says so
    expect(section).toContain('| toys | eager-cpu-wide | 15.0 min (text embeddings from the cache) | 60.0 min |');
    expect(section).not.toContain('| beauty | eager-cpu-wide | 15.0 min (text');
    // worse on validation than the shared-index run: the beauty EAGER rows do not show its test NDCG@10
    expect(md.slice(md.indexOf('## Beauty'), md.indexOf('## Sports'))).not.toContain('0.0391');
    expect(md.slice(md.indexOf('## Beauty'), md.indexOf('## Sports'))).not.toContain('comes from the one-command run');
    // toys has no shared-index run: its one-command run is its EAGER row, and the page says so
    expect(md.slice(md.indexOf('## Toys'), md.indexOf('## One command'))).toContain('The EAGER row comes from the one-command run in the end-to-end table below');
    // without end-to-end results there is no such section
    expect((await buildResultsPage([...others, template], { configs })).markdown).not.toContain('## One command, timed end to end');
    const reused = structuredClone(e2e);
    if (reused.result.kind !== 'eager') throw new Error('fixture');
    reused.result.indexReused = true;
    reused.file = 'benches/results/e2e/beauty-eager-cpu-wide.json';
    await expect(buildResultsPage([...others], { configs, endToEnd: [reused] })).rejects.toThrow('benches/results/e2e/beauty-eager-cpu-wide.json: indexReused');
  });

  it('makes a one-command run the extension row when it is best on all validation users, and says where it comes from', async () => {
    const { others, template } = fixtureBase();
    const withCurves = readBenchResults(FIXTURES).find((r) => r.result.kind === 'eager' && r.result.configName === 'eager')!;
    if (withCurves.result.kind !== 'eager') throw new Error('fixture');
    const main = eagerVariant(template, 'eager-cpu-wide', 0.05, 0.0383, 0.0537);
    const sharedExt = eagerVariant(template, 'eager-cpu-wide-inputs', 0.05, 0.0417, 0.0561);
    const e2eExt = eagerVariant(template, 'eager-cpu-wide-dec4-inputs-sel3', 0.05, 0.0452, 0.0601);
    const e2eMain = eagerVariant(template, 'eager-cpu-wide', 0.06, 0.0391, 0.0530);
    for (const r of [e2eExt, e2eMain]) {
      if (r.result.kind !== 'eager') throw new Error('fixture');
      r.result.wallSeconds = { index: 900, train: 3600, validAll: 240, test: 120, total: 4870 };
      r.result.curves = withCurves.result.curves;
    }
    if (e2eExt.result.kind !== 'eager') throw new Error('fixture');
    e2eExt.result.finalSelection = { metric: 'ndcg@10', users: 22363, sampleBestStep: 4500, seconds: 330, candidates: [
      { step: 4000, sample: 0.05, all: 0.0590 }, { step: 4500, sample: 0.05, all: 0.0601 }, { step: 5000, sample: 0.049, all: 0.0598 }] };
    e2eExt.result.wallSeconds = { ...e2eExt.result.wallSeconds, finalSelection: 330 };
    const page = await buildResultsPage([...others, template, main, sharedExt], { configs, endToEnd: [e2eExt, e2eMain] });
    // the end-to-end table times the whole final selection (all candidates on all users), not the chosen one's share
    expect(page.markdown).toContain('| beauty | eager-cpu-wide-dec4-inputs-sel3 | 15.0 min | 60.0 min | 5.5 min (3 checkpoints) | 2.0 min |');
    expect(page.markdown).toContain('| beauty | eager-cpu-wide | 15.0 min | 60.0 min | 4.0 min | 2.0 min |');
    const beauty = page.markdown.slice(page.markdown.indexOf('## Beauty'), page.markdown.indexOf('## Sports'));
    const row = (name: string) => beauty.split('\n').find((l) => l.startsWith(`| ${name} | full |`)) ?? '';
    // the extension row: the one-command run (0.0601 > 0.0561 on all validation users), marked as such
    expect(row('**EAGER + pretrained encoder inputs, 4 decoder layers (extension), this project**')).toContain('0.0452');
    expect(beauty).toContain('The extension row comes from the one-command run in the end-to-end table below, which built its own index');
    // the shared-index extension is an ordinary row now
    expect(row('EAGER + pretrained encoder inputs (extension), this project')).toContain('0.0417');
    // the EAGER row stays the shared-index run: the one-command eager-cpu-wide is lower on all users (0.0530 < 0.0537),
    // even though its sample validation is higher (0.06): all users decide when every candidate has them
    expect(row('**EAGER, this project**')).toContain('0.0383');
    expect(beauty).not.toContain('0.0391');
    expect(beauty).not.toContain('The EAGER row comes from');
    // the chosen one-command run gets its own curves picture; it is not in the shared-index runs table
    expect([...page.images.keys()]).toContain('curves-beauty-eager-cpu-wide-dec4-inputs-sel3-e2e.svg');
    expect([...page.images.keys()]).not.toContain('curves-beauty-eager-cpu-wide-e2e.svg');
    expect(beauty).not.toContain('| eager-cpu-wide-dec4-inputs-sel3 |');
    // the regenerate line names the chosen main config for beauty
    expect(page.markdown).toContain('The main EAGER rows come from beauty: `--config benches/configs/eager-cpu-wide.json`');
  });
});

describe('results page: refits', () => {
  it('tabulates the refits of EAGER, SASRec and the count baselines against the runs they refit, and refuses an unlabelled one', async () => {
    const { others, template } = fixtureBase();
    const main = eagerVariant(template, 'eager-cpu-wide', 0.05, 0.0400, 0.0550);
    const refit = eagerVariant(template, 'eager-cpu-wide', 0, 0.0470);
    if (refit.result.kind !== 'eager' || main.result.kind !== 'eager') throw new Error('fixture');
    refit.result.valid = { users: 0, full: {} };
    delete refit.result.validAll;
    refit.result.refit = { of: 'benches/results/beauty-eager-cpu-wide.json', step: 4500, selectedTest: main.result.test };
    refit.file = 'benches/results/refit/beauty-eager-cpu-wide.json';
    main.file = '/repo/benches/results/beauty-eager-cpu-wide.json';
    const sasrec = structuredClone(others.find((r) => r.result.kind === 'sasrec')!);
    if (sasrec.result.kind !== 'sasrec') throw new Error('fixture');
    const before = sasrec.result.test.full['ndcg@10']!;
    sasrec.result.refit = { of: 'benches/results/beauty-sasrec.json', step: 12, selectedTest: structuredClone(sasrec.result.test) };
    sasrec.result.test.full['ndcg@10'] = 0.0444;
    // only an EAGER refit can say its index was rebuilt
    const sasrecRefit = sasrec.result.refit;
    expect(() => parseBenchResult({ ...sasrec.result, refit: { ...sasrecRefit, index: { behaviourEpochs: 3 } } }, 'sasrec-refit.json'))
      .toThrow(/sasrec-refit\.json.*a SASRec refit has no index to rebuild/s);
    const simple = structuredClone(others.find((r) => r.result.kind === 'simple')!);
    if (simple.result.kind !== 'simple') throw new Error('fixture');
    const transition = simple.result.models['item-transition']!;
    simple.result.refit = { 'item-transition': { test: { ...transition.test, full: { ...transition.test.full, 'ndcg@10': 0.0490 } } } };
    const withSimple = [...others.filter((r) => r.result.kind !== 'simple'), simple];
    const page = await buildResultsPage([...withSimple, main], { configs, refits: [refit, sasrec] });
    const beauty = page.markdown.slice(page.markdown.indexOf('## Beauty'), page.markdown.indexOf('## Sports'));
    const table = beauty.slice(beauty.indexOf('**Refit on the training and validation targets**'));
    expect(table).toContain('| **EAGER, this project, refit** | full |');
    expect(table).toMatch(/\| \*\*EAGER, this project, refit\*\* \| full \| [^\n]* \| 0\.0470 \|/);
    expect(table).toMatch(/\| SASRec, this project, refit \| full \| [^\n]* \| 0\.0444 \|/);
    expect(table).toContain('| Item transition (bigram counts), this project, counted on train + valid | full |');
    expect(table).toContain("`eager-cpu-wide` refit at its chosen update 4500 (same index, seed and schedule; `benches/results/beauty-eager-cpu-wide.json`, the EAGER row's run)");
    expect(table).toContain('test N@10 (full) 0.0400 → 0.0470: +0.0070 (+17.5 %) over the run trained on the training targets only');
    expect(table).toContain("against the paper's EAGER:");
    expect(table).toContain(`SASRec refit for its chosen 12 epochs: test N@10 (full) ${before.toFixed(4)} → 0.0444`);
    expect(table).toContain(`item transition counted on train + valid: test N@10 (full) ${transition.test.full['ndcg@10']!.toFixed(4)} → 0.0490`);
    // the bar chart has the refit of the EAGER row's configuration
    const bars = page.images.get('bars-beauty.svg')!;
    expect(bars).toContain('EAGER refit on train + valid (ours, full)');
    expect(page.markdown).toContain('**Refit (second stage, its own table).**');
    // a refit of another run than the EAGER row's says so, with both validations; the refits are ordered by validation
    const other = structuredClone(refit);
    if (other.result.kind !== 'eager') throw new Error('fixture');
    other.result.configName = 'eager-cpu-wide-dec4';
    other.result.refit!.of = 'benches/results/e2e/beauty-eager-cpu-wide-dec4.json';
    other.result.refit!.selectedValid = { users: 22363, full: { 'ndcg@10': 0.0500 }, 'exclude-history': {} };
    other.result.test.full['ndcg@10'] = 0.0999;
    const two = (await buildResultsPage([...withSimple, main], { configs, refits: [refit, other] })).markdown;
    const twoTable = two.slice(two.indexOf('**Refit on the training'), two.indexOf('## Sports'));
    expect(twoTable).toContain("`benches/results/e2e/beauty-eager-cpu-wide-dec4.json`, **not the EAGER row's run**: validation N@10 0.0500 on all users against the row's 0.0550");
    // the row's own run is refit too, so the page does not say it has none
    expect(twoTable).not.toContain('has no refit');
    expect((await buildResultsPage([...withSimple, main], { configs, refits: [other] })).markdown).toContain("against the row's 0.0550; the row's run has no refit");
    // the refit with validation (the other) comes first and is the bold row; the one without a recorded validation is listed after it
    expect(twoTable).toMatch(/\| \*\*EAGER, this project, refit\*\* \| full \| [^\n]* \| 0\.0999 \|/);
    expect(twoTable).toContain('| EAGER, this project, refit (`eager-cpu-wide`) | full |');
    // a refit whose index was built again too: after the refit of the same run on its own index, labelled, with the SASRec epochs
    const withIndex = structuredClone(refit);
    if (withIndex.result.kind !== 'eager') throw new Error('fixture');
    withIndex.result.refit!.index = { behaviourEpochs: 21 };
    withIndex.result.test.full['ndcg@10'] = 0.0512;
    withIndex.file = 'benches/results/refit/beauty-eager-cpu-wide-with-index.json';
    const idxPage = (await buildResultsPage([...withSimple, main], { configs, refits: [withIndex, refit] })).markdown;
    const idxTable = idxPage.slice(idxPage.indexOf('**Refit on the training'), idxPage.indexOf('## Sports'));
    expect(idxTable).toMatch(/\| \*\*EAGER, this project, refit\*\* \| full \| [^\n]* \| 0\.0470 \|/);
    expect(idxTable).toMatch(/\| EAGER, this project, refit, index rebuilt on train \+ valid \(`eager-cpu-wide`\) \| full \| [^\n]* \| 0\.0512 \|/);
    expect(idxTable.indexOf('0.0470 |')).toBeLessThan(idxTable.indexOf('0.0512 |'));
    expect(idxTable).toContain('`eager-cpu-wide` refit at its chosen update 4500 (index built again, its SASRec trained on train + valid for the 21 epochs its own build chose');
    // no refits: no table
    expect((await buildResultsPage([...withSimple, main], { configs })).markdown).not.toContain('**Refit on the training and validation targets**');
    // a result in the refit directory that does not say what it refits
    const bare = structuredClone(refit);
    if (bare.result.kind !== 'eager') throw new Error('fixture');
    delete bare.result.refit;
    await expect(buildResultsPage([...withSimple, main], { configs, refits: [bare] })).rejects.toThrow('benches/results/refit/beauty-eager-cpu-wide.json: refit');
  });
});

describe('results page: ensembles', () => {
  it('lists ensembles by validation against their members, tabulates only the tested ones, and compares with the paper', async () => {
    const { others, template } = fixtureBase();
    const main = eagerVariant(template, 'eager-cpu-wide', 0.05, 0.0400, 0.0550);
    const split = (n10: number, r10 = 0.08) => ({ users: 22363, full: { 'recall@10': r10, 'ndcg@10': n10 }, 'exclude-history': {} });
    const member = (seed: number, n10: number, refitN10?: number) => ({
      result: `benches/results/beauty-m${seed}.json`, configName: 'eager-cpu-wide', seed, step: 5000, validAll: split(n10),
      ...(refitN10 !== undefined ? { refit: { result: `benches/results/refit/beauty-m${seed}.json`, test: split(refitN10) } } : {}),
    });
    const ensemble = (name: string, valid: number, members: ReturnType<typeof member>[], test?: number): LoadedResult => ({
      file: `benches/results/ensemble/beauty-${name}.json`,
      result: parseBenchResult({
        format: 'eager-bench-result', version: 1, kind: 'ensemble', dataset: 'beauty', name, description: `${name} runs.`,
        members, valid: split(valid), ...(test !== undefined ? { test: split(test, 0.09) } : {}), wallSeconds: { valid: 300 },
        provenance: template.result.provenance,
      }, 'ensemble.json'),
    });
    const tested = ensemble('three-seeds', 0.0600, [member(1, 0.0570, 0.0480), member(2, 0.0550, 0.0470), member(3, 0.0560, 0.0460)], 0.0530);
    const untested = ensemble('two-seeds', 0.0590, [member(1, 0.0570), member(2, 0.0550)]);
    const page = (await buildResultsPage([...others, main], { configs, ensembles: [untested, tested] })).markdown;
    const beauty = page.slice(page.indexOf('## Beauty'), page.indexOf('## Sports'));
    const section = beauty.slice(beauty.indexOf('**Ensembles (extension; `npm run bench:ensemble`)'));
    expect(section).toMatch(/\| EAGER ensemble `three-seeds` \(3 refits\) \| full \| [^\n]* \| 0\.0900 \| [^\n]* \| 0\.0530 \|/);
    expect(section).not.toContain('| EAGER ensemble `two-seeds`');
    // best validation first; each against its best member; the tested one against its refits and the paper
    expect(section.indexOf('- `three-seeds`')).toBeLessThan(section.indexOf('- `two-seeds`'));
    expect(section).toContain('- `three-seeds`, three-seeds runs: validation N@10 0.0600 on 22,363 users against its members alone, '
      + '`eager-cpu-wide` seed 1 at 5000 (0.0570), `eager-cpu-wide` seed 2 at 5000 (0.0550), `eager-cpu-wide` seed 3 at 5000 (0.0560): +0.0030 (+5.3 %) over the best member');
    expect(section).toContain('test (refits together, once) R@10 0.0900 / N@10 0.0530, the refits alone N@10 0.0480, 0.0470, 0.0460 (+0.0050 (+10.4 %) over the best of them)');
    expect(section).toContain("against the paper's EAGER: R@10 +0.0064 (+7.7 %), N@10 +0.0005 (+1.0 %)");
    expect(section).toContain('- `two-seeds`, two-seeds runs: validation N@10 0.0590');
    expect(section).toContain('test not read');
    // the bar chart has the tested ensemble best on validation
    const bars = (await buildResultsPage([...others, main], { configs, ensembles: [untested, tested] })).images.get('bars-beauty.svg')!;
    expect(bars).toContain('EAGER ensemble of 3 refits (ours, full)');
    // no ensembles: no section; an ensemble needs two members
    expect((await buildResultsPage([...others, main], { configs })).markdown).not.toContain('**Ensembles (extension; `npm run bench:ensemble`)');
    expect(() => ensemble('one', 0.05, [member(1, 0.05)])).toThrow(/ensemble\.json.*members/s);
  });
});
