/**
 * Training curves copied from a run's logs into a bench result, so that the results page can be
 * regenerated from `benches/results/` alone: EAGER's `train-log.jsonl` (loss parts per update,
 * validation metrics) and SASRec's `log.jsonl` (loss and validation NDCG@10 per epoch).
 */
import { existsSync, readFileSync } from 'node:fs';
import type { Curves } from './results-schema.js';

/** Keys of a `step` line that are not loss parts. */
const STEP_META = new Set(['kind', 'step', 'epoch', 'lr', 'samplesPerSec', 't']);
/** Keys of a `valid` line that are not metrics. */
const VALID_META = new Set(['kind', 'step', 'improved', 'best', 'bestStep']);

function jsonLines(path: string): Record<string, unknown>[] {
  if (!existsSync(path)) return [];
  const out: Record<string, unknown>[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    try {
      out.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // a torn last line of an interrupted run
    }
  }
  return out;
}

function numericFields(rec: Record<string, unknown>, skip: Set<string>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(rec)) if (!skip.has(k) && typeof v === 'number' && Number.isFinite(v)) out[k] = v;
  return out;
}

/**
 * Loss parts averaged over at most `maxPoints` equal buckets of steps (point `step` = the last step
 * of its bucket), and every validation line.
 */
export function curvesFromTrainLog(path: string, maxPoints = 200): Curves {
  const lines = jsonLines(path);
  const steps = lines.filter((l) => l.kind === 'step' && typeof l.step === 'number');
  const bucket = Math.max(1, Math.ceil(steps.length / maxPoints));
  const loss: Record<string, number>[] = [];
  for (let i = 0; i < steps.length; i += bucket) {
    const chunk = steps.slice(i, i + bucket);
    const sums: Record<string, number> = {};
    const counts: Record<string, number> = {};
    for (const s of chunk) {
      for (const [k, v] of Object.entries(numericFields(s, STEP_META))) {
        sums[k] = (sums[k] ?? 0) + v;
        counts[k] = (counts[k] ?? 0) + 1;
      }
    }
    const point: Record<string, number> = { step: chunk[chunk.length - 1]!.step as number };
    for (const k of Object.keys(sums)) point[k] = sums[k]! / counts[k]!;
    loss.push(point);
  }
  const valid = lines
    .filter((l) => l.kind === 'valid' && typeof l.step === 'number')
    .map((l) => ({ step: l.step as number, ...numericFields(l, VALID_META) }));
  return { loss, valid };
}

/** SASRec's per-epoch loss and validation metrics (full ranking) from `eager baseline`'s log. */
export function curvesFromSasrecLog(path: string): { epochs: Record<string, number>[] } {
  const epochs = jsonLines(path)
    .filter((l) => typeof l.epoch === 'number')
    .map((l) => {
      const p: Record<string, number> = { epoch: l.epoch as number };
      if (typeof l.loss === 'number') p.loss = l.loss;
      const full = (l.valid as { full?: Record<string, unknown> } | undefined)?.full;
      if (full) for (const [k, v] of Object.entries(full)) if (typeof v === 'number') p[k] = v;
      return p;
    });
  return { epochs };
}
