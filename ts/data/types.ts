/**
 * The in-memory dataset model shared by readers, the split, the synthetic generator and the
 * evaluation. Item ids are dense and 1-based (1..=numItems); index 0 is padding everywhere.
 */

/** Metadata of one item. Known fields are typed; readers keep any other fields as-is. */
export interface ItemMeta {
  title?: string;
  brand?: string;
  categories?: string[];
  /** The item id in the source data (e.g. the Amazon ASIN). */
  sourceId?: string;
  [field: string]: unknown;
}

/** A line that a reader dropped on purpose (only where the format allows skipping). */
export interface SkipRecord {
  file: string;
  /** 1-based line, 0 for a whole-user / whole-item drop (e.g. by k-core filtering). */
  line: number;
  reason: string;
}

/** The dataset formats the readers understand. */
export type DatasetFormat = 'project' | 'recbole' | 'amazon' | 'csv' | 'synthetic';

/** A sequential-recommendation dataset: one chronological item sequence per user. */
export interface Dataset {
  name: string;
  /** Where it came from. */
  format: DatasetFormat;
  /** Number of items; ids are 1..=numItems. */
  numItems: number;
  /** Original user ids, parallel to {@link Dataset.sequences}. */
  users: string[];
  /** Per user, chronological dense item ids (each >= 1 and <= numItems). */
  sequences: Uint32Array[];
  /** Item metadata by dense id; `items[0]` is an unused placeholder. Length numItems + 1. */
  items: ItemMeta[];
  /** Original item id -> dense id (raw formats and the project format's `source_id`). */
  itemIdMap?: Map<string, number>;
  /** Lines or records dropped on purpose, with the reason (never silent). */
  skipped: SkipRecord[];
}

/** Total number of interactions (sum of sequence lengths). */
export function countInteractions(ds: Pick<Dataset, 'sequences'>): number {
  let n = 0;
  for (const s of ds.sequences) n += s.length;
  return n;
}
