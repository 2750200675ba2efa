/** Summary statistics of a dataset (what `eager data stats` prints). */
import type { FilterReport } from './interactions.js';
import { countInteractions, type Dataset } from './types.js';

/** Dataset statistics. `users`, `items`, `interactions` are the headline counts. */
export interface DatasetStats {
  name: string;
  format: string;
  users: number;
  items: number;
  interactions: number;
  /** Items that occur in at least one sequence (equal to `items` for clean data). */
  itemsUsed: number;
  minLength: number;
  maxLength: number;
  meanLength: number;
  /** interactions / (users * items). */
  density: number;
  /** Items with a non-empty title. */
  itemsWithTitle: number;
  /** Lines / users dropped on purpose, with the first few reasons. */
  skipped: number;
  skippedExamples: string[];
  /** What k-core filtering removed (raw formats only). */
  filtered?: FilterReport;
}

/** Computes {@link DatasetStats}. */
export function datasetStats(ds: Dataset & { filtered?: FilterReport }): DatasetStats {
  const interactions = countInteractions(ds);
  let minLength = Number.POSITIVE_INFINITY;
  let maxLength = 0;
  const used = new Uint8Array(ds.numItems + 1);
  for (const s of ds.sequences) {
    minLength = Math.min(minLength, s.length);
    maxLength = Math.max(maxLength, s.length);
    for (let j = 0; j < s.length; j++) used[s[j]!] = 1;
  }
  let itemsUsed = 0;
  for (let i = 1; i <= ds.numItems; i++) itemsUsed += used[i]!;
  let itemsWithTitle = 0;
  for (let i = 1; i <= ds.numItems; i++) {
    const t = ds.items[i]?.title;
    if (typeof t === 'string' && t.trim() !== '') itemsWithTitle++;
  }
  const users = ds.users.length;
  return {
    name: ds.name,
    format: ds.format,
    users,
    items: ds.numItems,
    interactions,
    itemsUsed,
    minLength: users ? minLength : 0,
    maxLength,
    meanLength: users ? interactions / users : 0,
    density: users && ds.numItems ? interactions / (users * ds.numItems) : 0,
    itemsWithTitle,
    skipped: ds.skipped.length,
    skippedExamples: ds.skipped.slice(0, 5).map((s) => `${s.file}${s.line ? `:${s.line}` : ''}: ${s.reason}`),
    ...(ds.filtered ? { filtered: ds.filtered } : {}),
  };
}
