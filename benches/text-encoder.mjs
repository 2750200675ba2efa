// Times the item-text encoders on a shared dataset (default beauty) with the built addon.
// Usage: node benches/text-encoder.mjs [datasetDir] [modelDir] [maxLen] [batchSize]
// Text per item = the default template of ts/data/itemText.ts: `title; brand; cat1, cat2, ...`.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import os from 'node:os';

const require = createRequire(import.meta.url);
const native = require('../native/index.cjs');
const [dataDir = '../shared/datasets/beauty', modelDir = '.cache/models/all-MiniLM-L6-v2', maxLen = '128', batch = '64'] =
  process.argv.slice(2);

const items = readFileSync(`${dataDir}/items.jsonl`, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l));
const text = (it) =>
  [it.title, it.brand, (it.categories ?? []).join(', ')].map((s) => (typeof s === 'string' ? s.trim() : '')).filter((s) => s !== '').join('; ');
const texts = items.map(text);

const t0 = performance.now();
const tf = native.tfidfSvd(texts, 64, 0);
const tfidfS = (performance.now() - t0) / 1000;

const tl = performance.now();
const enc = native.SentenceEncoder.load(modelDir, { maxLen: Number(maxLen), batchSize: Number(batch) });
const loadS = (performance.now() - tl) / 1000;
const lens = texts.map((t) => enc.tokenIds(t).length).sort((a, b) => a - b);
const q = (p) => lens[Math.min(lens.length - 1, Math.floor(p * lens.length))];
let last = 0;
const te = performance.now();
const emb = await enc.encode(texts, (done, total) => {
  if (done - last >= 2000 || done === total) {
    last = done;
    process.stderr.write(`  ${done}/${total} ${((performance.now() - te) / 1000).toFixed(1)} s\n`);
  }
});
const encS = (performance.now() - te) / 1000;
let maxNormErr = 0;
for (let r = 0; r < texts.length; r++) {
  let s = 0;
  for (let c = 0; c < enc.dim; c++) s += emb[r * enc.dim + c] ** 2;
  maxNormErr = Math.max(maxNormErr, Math.abs(Math.sqrt(s) - 1));
}
console.log(JSON.stringify({
  dataset: dataDir, items: texts.length, cpus: os.cpus().length, cpu: os.cpus()[0]?.model,
  maxLen: Number(maxLen), batchSize: Number(batch),
  tokens: { total: lens.reduce((a, b) => a + b, 0), median: q(0.5), p90: q(0.9), max: lens[lens.length - 1] },
  modelLoadSeconds: +loadS.toFixed(2), encodeSeconds: +encS.toFixed(1), textsPerSecond: +(texts.length / encS).toFixed(1),
  maxNormError: maxNormErr, tfidfSvd64Seconds: +tfidfS.toFixed(2), tfidfRows: tf.length / 64,
}));
