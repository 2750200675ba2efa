// Serving benchmark of a trained run (issue 5): resident memory of a process that loaded the
// model, and single-request latency of `Recommender.recommend(history, { k: 10 })` at two beam
// widths, over the validation histories of the dataset (sequential requests, as one service
// worker would see them). Several comma-separated run directories are served as one ensemble
// (`Recommender.loadEnsemble`). Usage (after `npm run build`):
//   node benches/serve.mjs <runDir>[,<runDir>...] <datasetDir> [requests=300]
import { Recommender, loadDataset, leaveOneOutSplit } from '../dist/index.js';

const [run, dataDir, nArg] = process.argv.slice(2);
if (!run || !dataDir) {
  console.error('usage: node benches/serve.mjs <runDir>[,<runDir>...] <datasetDir> [requests]');
  process.exit(2);
}
const n = Number(nArg ?? 300);
const ds = await loadDataset(dataDir);
const split = leaveOneOutSplit(ds);
const histories = Array.from({ length: Math.min(n, split.valid.size) }, (_, i) => Array.from(split.valid.get(i).history));
global.gc?.();
const rssBefore = process.memoryUsage().rss;

const pct = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
const runs = run.split(',');
const load = (opts) => (runs.length === 1 ? Recommender.load(run, opts) : Recommender.loadEnsemble(runs, opts));
const result = { run: runs.length === 1 ? run : runs, dataset: ds.name, requests: histories.length, k: 10, beams: {} };
for (const beamWidth of [20, 100]) {
  const t0 = performance.now();
  const model = await load({ decode: { beamWidth } });
  const loadMs = performance.now() - t0;
  for (let i = 0; i < 5; i++) await model.recommend(histories[i], { k: 10 }); // warm-up
  const times = [];
  for (const h of histories) {
    const s = performance.now();
    await model.recommend(h, { k: 10 });
    times.push(performance.now() - s);
  }
  times.sort((a, b) => a - b);
  result.beams[beamWidth] = {
    loadMs: +loadMs.toFixed(0),
    p50Ms: +pct(times, 0.5).toFixed(2),
    p99Ms: +pct(times, 0.99).toFixed(2),
    meanMs: +(times.reduce((a, b) => a + b, 0) / times.length).toFixed(2),
    rssAfterLoadMB: +(process.memoryUsage().rss / 2 ** 20).toFixed(1),
  };
  model.close?.();
}
result.rssBeforeLoadMB = +(rssBefore / 2 ** 20).toFixed(1);
result.note = 'rssBeforeLoadMB includes the dataset (loaded only to draw histories); the model adds rssAfterLoadMB - rssBeforeLoadMB';
console.log(JSON.stringify(result, null, 2));
