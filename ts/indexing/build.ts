/**
 * The item-indexing stage: behaviour embeddings (SASRec on the training part, or on train + valid
 * for a refit's index; or a file),
 * semantic embeddings (MiniLM / tfidf-svd / file, cached), and a hierarchical k-means code table
 * + prefix trie for each. `writeIndex` / `loadIndex` persist it.
 */
import { mkdirSync, readFileSync, existsSync, renameSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join, resolve, dirname, basename } from 'node:path';
import { TrainOnSchema, type TrainOn } from '../config/data.js';
import { leaveOneOutSplit, type LeaveOneOutSplit } from '../data/split.js';
import type { Dataset } from '../data/types.js';
import { embedItems, loadEmbeddingFile } from '../embed/index.js';
import { buildCodesAsync, validateCodeTable, saveCodeTable, loadCodeTable, CodeTrie, type CodeTable } from '../codes/index.js';
import { datasetFingerprint } from '../run/fingerprint.js';
import type { LoadedIndex, IndexStream } from '../run/types.js';
import { writeJsonAtomic } from '../util/fs.js';
import { readNpy, writeNpy } from '../util/npy.js';
import { native } from '../native.js';
import { IndexConfigSchema, type IndexConfig, type IndexConfigInput } from './config.js';

/** Progress events of the index build. */
export interface IndexProgress {
  stage: 'behaviour' | 'semantic' | 'codes-behaviour' | 'codes-semantic';
  message: string;
}

/**
 * Trains behaviour embeddings (default: SASRec, `ts/sasrec/behaviour.ts`; its `trainOn` says on
 * what). It is handed the validation part of the split only: an index build never sees a test
 * target.
 */
export type BehaviourTrainer = (
  ds: Dataset,
  split: Pick<LeaveOneOutSplit, 'valid'>,
  sasrecConfig: Record<string, unknown>,
  seed: number,
  onProgress: (message: string) => void,
) => Promise<{ dim: number; data: Float32Array; info: Record<string, unknown> }>;

/** One stream of a built index, with its trie and build info. */
export interface BuiltStream {
  embeddings: Float32Array;
  dim: number;
  codes: CodeTable;
  trie: CodeTrie;
  info: Record<string, unknown>;
}

export interface BuiltIndex {
  numItems: number;
  behaviour: BuiltStream;
  semantic: BuiltStream;
  manifest: Record<string, unknown>;
}

function toRunStream(s: { embeddings: Float32Array; dim: number; codes: CodeTable }): IndexStream {
  return { embeddings: s.embeddings, dim: s.dim, codes: { K: s.codes.k, L: s.codes.length, codes: s.codes.codes } };
}

/** The view of a built index that the run layer (training, serving) takes. */
export function asLoadedIndex(b: BuiltIndex): LoadedIndex {
  return {
    numItems: b.numItems,
    behaviour: toRunStream(b.behaviour),
    semantic: toRunStream(b.semantic),
    manifest: b.manifest as LoadedIndex['manifest'],
  };
}

async function buildStreamCodes(embeddings: Float32Array, dim: number, cfg: IndexConfig) {
  const codes = await buildCodesAsync(embeddings, dim, { ...cfg.codes, seed: cfg.seed });
  validateCodeTable(codes);
  return { codes, trie: CodeTrie.fromTable(codes) };
}

function readPackageVersion(): string {
  // ts/indexing or dist: walk up to the package.json of this package.
  let dir = dirname(new URL(import.meta.url).pathname);
  for (let i = 0; i < 4; i++) {
    const p = join(dir, 'package.json');
    if (existsSync(p)) {
      const pkg = JSON.parse(readFileSync(p, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === '@eager/native') return pkg.version ?? 'unknown';
    }
    dir = dirname(dir);
  }
  return 'unknown';
}

/**
 * What a behaviour-embedding file trained on: an `eager baseline sasrec` directory says so in its
 * `metrics.json` (`config.trainOn`; a SASRec refit writes "train+valid"); a file without one counts
 * as trained on the training parts.
 */
function embeddingFileTrainOn(path: string): TrainOn {
  const metricsPath = join(dirname(resolve(path)), 'metrics.json');
  if (!existsSync(metricsPath)) return 'train';
  let metrics: { config?: { trainOn?: unknown } };
  try {
    metrics = JSON.parse(readFileSync(metricsPath, 'utf8')) as typeof metrics;
  } catch {
    return 'train'; // not an `eager baseline sasrec` record
  }
  if (metrics?.config?.trainOn === undefined) return 'train';
  const parsed = TrainOnSchema.safeParse(metrics.config.trainOn);
  if (!parsed.success) throw new Error(`${metricsPath}: config.trainOn: expected "train" or "train+valid", found ${JSON.stringify(metrics.config.trainOn)}`);
  return parsed.data;
}

/** Builds both streams' embeddings and codes for a dataset. */
export async function buildIndex(
  ds: Dataset,
  config: IndexConfigInput,
  deps: { trainBehaviour?: BehaviourTrainer; onProgress?: (p: IndexProgress) => void; datasetPath?: string } = {},
): Promise<BuiltIndex> {
  const cfg = IndexConfigSchema.parse(config);
  const say = (stage: IndexProgress['stage'], message: string) => deps.onProgress?.({ stage, message });
  const split = leaveOneOutSplit(ds, cfg.split);
  const fingerprint = datasetFingerprint(ds);
  const timings: Record<string, number> = {};
  const t = () => performance.now();

  // Behaviour embeddings: trained on the training part (a refit's index: train + valid; `eager
  // train` refuses that index for a run that selects on validation), never on a test target.
  let t0 = t();
  let behaviour: { dim: number; data: Float32Array; info: Record<string, unknown> };
  if (cfg.behaviour.source === 'file') {
    const path = cfg.behaviour.path;
    const m = loadEmbeddingFile(path, cfg.behaviour.tensor);
    if (m.rows !== ds.numItems) {
      throw new Error(`${path}: behaviour embeddings have ${m.rows} rows, the dataset has ${ds.numItems} items (row r must be item id r+1)`);
    }
    // The path alone does not identify the embeddings (a file can be overwritten after the
    // build), so the manifest also records a hash of the rows as loaded.
    const dataSha256 = `sha256:${createHash('sha256').update(new Uint8Array(m.data.buffer, m.data.byteOffset, m.data.byteLength)).digest('hex')}`;
    behaviour = { dim: m.cols, data: m.data, info: { source: 'file', path: resolve(path), dataSha256, trainOn: embeddingFileTrainOn(path) } };
  } else {
    const train = deps.trainBehaviour ?? (await import('../sasrec/behaviour.js')).sasrecBehaviourTrainer;
    behaviour = await train(ds, { valid: split.valid }, cfg.behaviour.sasrec, cfg.seed, (m) => say('behaviour', m));
    behaviour.info = { source: 'sasrec', ...behaviour.info };
  }
  timings.behaviourSeconds = (t() - t0) / 1000;

  t0 = t();
  say('semantic', `encoding ${ds.numItems} item texts with ${cfg.semantic.encoder}`);
  const sem = await embedItems(
    { items: ds.items, fingerprint },
    { ...cfg.semantic, template: cfg.text, onProgress: (d, n) => say('semantic', `${d}/${n} items`) },
  );
  timings.semanticSeconds = (t() - t0) / 1000;

  t0 = t();
  say('codes-behaviour', `hierarchical k-means over ${ds.numItems} x ${behaviour.dim}`);
  const bCodes = await buildStreamCodes(behaviour.data, behaviour.dim, cfg);
  timings.codesBehaviourSeconds = (t() - t0) / 1000;
  t0 = t();
  say('codes-semantic', `hierarchical k-means over ${ds.numItems} x ${sem.dim}`);
  const sCodes = await buildStreamCodes(sem.data, sem.dim, cfg);
  timings.codesSemanticSeconds = (t() - t0) / 1000;

  const manifest = {
    format: 'eager-index-v1',
    createdAt: new Date().toISOString(),
    dataset: { name: ds.name, path: deps.datasetPath ? resolve(deps.datasetPath) : undefined, numItems: ds.numItems, users: ds.sequences.length },
    datasetFingerprint: fingerprint,
    numItems: ds.numItems,
    config: cfg,
    seed: cfg.seed,
    versions: { package: readPackageVersion(), native: native.nativeVersion(), node: process.version },
    behaviour: { dim: behaviour.dim, k: bCodes.codes.k, length: bCodes.codes.length, ...behaviour.info },
    semantic: { dim: sem.dim, k: sCodes.codes.k, length: sCodes.codes.length, encoder: sem.encoder, encoderId: sem.encoderId, fromCache: sem.fromCache },
    timings,
  };
  return {
    numItems: ds.numItems,
    behaviour: { embeddings: behaviour.data, dim: behaviour.dim, ...bCodes, info: behaviour.info },
    semantic: { embeddings: sem.data, dim: sem.dim, ...sCodes, info: { encoder: sem.encoder, encoderId: sem.encoderId } },
    manifest,
  };
}

/** Files of an index directory. */
export const INDEX_FILES = {
  manifest: 'manifest.json',
  embeddings: (s: 'behaviour' | 'semantic') => `${s}.embeddings.npy`,
  codes: (s: 'behaviour' | 'semantic') => `${s}.codes.json`,
  trie: (s: 'behaviour' | 'semantic') => `${s}.trie.bin`,
};

/**
 * Writes an index directory. Every file is written atomically and the manifest last, so a
 * directory with a manifest is complete; an existing index at `dir` is replaced only at the end.
 */
export function writeIndex(dir: string, index: BuiltIndex): void {
  const target = resolve(dir);
  const staging = join(dirname(target), `.${basename(target)}.staging-${process.pid}`);
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  for (const s of ['behaviour', 'semantic'] as const) {
    const st = index[s];
    writeNpy(join(staging, INDEX_FILES.embeddings(s)), { dtype: 'f4', shape: [index.numItems, st.dim], data: st.embeddings });
    saveCodeTable(st.codes, join(staging, INDEX_FILES.codes(s)));
    st.trie.save(join(staging, INDEX_FILES.trie(s)));
  }
  writeJsonAtomic(join(staging, INDEX_FILES.manifest), index.manifest);
  const old = `${staging}-old`;
  if (existsSync(target)) renameSync(target, old);
  renameSync(staging, target);
  rmSync(old, { recursive: true, force: true });
}

/** Reads an index directory written by {@link writeIndex}; errors name the file. */
export async function loadIndex(dir: string): Promise<LoadedIndex> {
  const manifestPath = join(dir, INDEX_FILES.manifest);
  if (!existsSync(manifestPath)) throw new Error(`${manifestPath}: no index here (run \`eager index <dataset> --out ${dir}\`)`);
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as LoadedIndex['manifest'];
  if (!Number.isInteger(manifest.numItems)) throw new Error(`${manifestPath}: field "numItems" is missing or not an integer`);
  const stream = (s: 'behaviour' | 'semantic'): IndexStream => {
    const emb = readNpy(join(dir, INDEX_FILES.embeddings(s)));
    if (emb.dtype !== 'f4' || emb.shape[0] !== manifest.numItems) {
      throw new Error(`${join(dir, INDEX_FILES.embeddings(s))}: expected float32 [${manifest.numItems}, d], found ${emb.dtype} [${emb.shape}]`);
    }
    const codes = loadCodeTable(join(dir, INDEX_FILES.codes(s)));
    if (codes.numItems !== manifest.numItems) {
      throw new Error(`${join(dir, INDEX_FILES.codes(s))}: has ${codes.numItems} items, the manifest says ${manifest.numItems}`);
    }
    return toRunStream({ embeddings: emb.data as Float32Array, dim: emb.shape[1], codes });
  };
  return { numItems: manifest.numItems, behaviour: stream('behaviour'), semantic: stream('semantic'), manifest };
}
