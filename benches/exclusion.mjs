// Exclude-history check (issue 6): is the gap to SASRec in exclude-history mode caused by the
// evaluation's candidate list being too short once history items are dropped? Decodes the
// validation histories of a sample of users (every Nth) with a trained run and scores the
// validation target four ways: the top-10 list as served; the evaluation's list (k = 40: the
// largest K, 20, plus eval.extraForExclusion 20; history dropped after); a list twice as long (80); and
// `recommend(..., { excludeHistory: true })`, which widens the beam by the history's size.
// Validation targets only. Usage (after `npm run build`):
//   node benches/exclusion.mjs <runDir> [every=7]
import { Recommender, loadDataset, leaveOneOutSplit, loadRun } from '../dist/index.js';

const [run, everyArg] = process.argv.slice(2);
if (!run) {
  console.error('usage: node benches/exclusion.mjs <runDir> [every]');
  process.exit(2);
}
const every = Number(everyArg ?? 7);
// the run's own dataset, data and split settings
const { config } = loadRun(run);
const ds = await loadDataset(config.dataset.path, config.train.data);
const split = leaveOneOutSplit(ds, config.train.split);
const picks = [];
for (let i = 0; i < split.valid.size; i += every) picks.push(i);
const histories = picks.map((i) => Array.from(split.valid.fullHistory(i)));
const targets = picks.map((i) => split.valid.targets[i]);
const model = await Recommender.load(run);

async function score(k, excludeHistory) {
  let ndcg = 0;
  let hits = 0;
  let withHistoryInTop10 = 0;
  let under10Left = 0;
  const t0 = performance.now();
  for (let s = 0; s < histories.length; s += 256) {
    const batch = histories.slice(s, s + 256);
    const lists = await model.recommendBatch(batch, { k, excludeHistory });
    lists.forEach((list, j) => {
      const seen = new Set(batch[j]);
      const items = list.map((x) => x.item);
      if (items.slice(0, 10).some((x) => seen.has(x))) withHistoryInTop10++;
      const kept = items.filter((x) => !seen.has(x));
      if (kept.length < 10) under10Left++;
      const rank = kept.indexOf(targets[s + j]) + 1;
      if (rank >= 1 && rank <= 10) {
        hits++;
        ndcg += 1 / Math.log2(rank + 1);
      }
    });
  }
  const n = histories.length;
  return { 'recall@10': hits / n, 'ndcg@10': ndcg / n, usersWithHistoryInTop10: withHistoryInTop10 / n, usersUnder10Left: under10Left, seconds: (performance.now() - t0) / 1000 };
}

const result = { run, dataset: ds.name, split: 'valid', users: histories.length, every, modes: {} };
result.modes['top-10 as served, history dropped'] = await score(10, false);
result.modes['evaluation: 40, history dropped'] = await score(40, false);
result.modes['80, history dropped'] = await score(80, false);
result.modes['excludeHistory: beam widened by the history'] = await score(10, true);
console.log(JSON.stringify(result, null, 2));
