/**
 * One entry point for every dataset format: detects the format from the directory contents
 * (or takes it from the config) and dispatches to the reader.
 *
 * Detection, first match wins: `sequences.txt` -> project; a `*.inter` -> recbole;
 * `reviews_<Cat>[_5].json[.gz]` -> amazon; a `*.csv`/`*.tsv` (or a path to such a file) -> csv.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { extname } from 'node:path';
import { DataLoadConfigSchema, parseConfig, type DataLoadConfig } from '../config/data.js';
import { readAmazonDataset } from './amazon.js';
import { readCsvDataset } from './csv.js';
import { DataError } from './errors.js';
import { readProjectDataset } from './project.js';
import { readRecboleDataset } from './recbole.js';
import type { Dataset } from './types.js';
import type { FilterReport } from './interactions.js';

/** A concrete (file-backed) dataset format. */
export type FileFormat = 'project' | 'recbole' | 'amazon' | 'csv';

/** Detects the format of `path` (a directory, or a CSV/TSV file). */
export function detectFormat(path: string): FileFormat {
  if (!existsSync(path)) throw new DataError(path, 0, 'path', 'no such file or directory');
  if (statSync(path).isFile()) {
    if (['.csv', '.tsv', '.txt'].includes(extname(path).toLowerCase())) return 'csv';
    throw new DataError(path, 0, 'format', 'a single file must be a .csv or .tsv; pass a dataset directory otherwise');
  }
  const files = readdirSync(path);
  if (files.includes('sequences.txt')) return 'project';
  if (files.some((f) => f.endsWith('.inter'))) return 'recbole';
  if (files.some((f) => /^reviews_.+\.json(\.gz)?$/.test(f))) return 'amazon';
  if (files.some((f) => /\.(csv|tsv)$/i.test(f))) return 'csv';
  throw new DataError(path, 0, 'format',
    'no dataset files recognised (expected sequences.txt, <name>.inter, reviews_<Cat>_5.json[.gz] or a .csv/.tsv)');
}

/** A loaded dataset plus how it was read. */
export type LoadedDataset = Dataset & { filtered?: FilterReport };

/**
 * Loads a dataset directory (or CSV file). `config` is validated with
 * {@link DataLoadConfigSchema}; omitted fields take their defaults (auto format, 5-core, strict).
 */
export async function loadDataset(path: string, config: Partial<DataLoadConfig> = {}): Promise<LoadedDataset> {
  const cfg = parseConfig(DataLoadConfigSchema, config, 'data load config');
  const format = cfg.format === 'auto' ? detectFormat(path) : cfg.format;
  if (!existsSync(path)) throw new DataError(path, 0, 'path', 'no such file or directory');
  const raw = { name: cfg.name, kcore: cfg.kcore, onBadLine: cfg.onBadLine };
  switch (format) {
    case 'project':
      return readProjectDataset(path, { name: cfg.name });
    case 'recbole':
      return readRecboleDataset(path, raw);
    case 'amazon':
      return readAmazonDataset(path, raw);
    case 'csv':
      return readCsvDataset(path, raw);
  }
}
