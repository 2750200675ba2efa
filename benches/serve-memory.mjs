// Resident memory of a Node process that has loaded a trained run for serving and answered one
// request (issue 5: "memory of a loaded beauty model under 200 MB").
// Usage: node benches/serve-memory.mjs <runDir>   (after `npm run build`)
import { Recommender } from '../dist/index.js';

const run = process.argv[2];
if (!run) {
  console.error('usage: node benches/serve-memory.mjs <runDir>');
  process.exit(2);
}
const before = process.memoryUsage().rss;
const t0 = performance.now();
const model = await Recommender.load(run);
const loadMs = performance.now() - t0;
const recs = await model.recommend([1, 2, 3], { k: 10 });
const after = process.memoryUsage().rss;
console.log(JSON.stringify({
  run,
  rssBeforeLoadMB: +(before / 2 ** 20).toFixed(1),
  rssAfterLoadAndOneRequestMB: +(after / 2 ** 20).toFixed(1),
  modelAddedMB: +((after - before) / 2 ** 20).toFixed(1),
  loadMs: +loadMs.toFixed(0),
  firstItems: recs.slice(0, 3).map((r) => r.item),
}));
await model.close?.();
