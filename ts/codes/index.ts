/**
 * Item codes by hierarchical k-means (Rust core) and the prefix trie of valid codes used for
 * constrained decoding. Embeddings are row-major `[numItems, dim]`, row r = item id r + 1.
 */
import { parseConfig } from '../config/data.js';
import { callNative, native } from '../native.js';
import { BuildCodesOptionsSchema, type BuildCodesOptions } from './config.js';

export { BuildCodesOptionsSchema, type BuildCodesOptions } from './config.js';

/** One fixed-length code per item: `codes` is `[numItems, length]`, row r = item id r + 1; tokens < k. */
export interface CodeTable {
  k: number;
  length: number;
  numItems: number;
  codes: Uint32Array;
}

function checkedOptions(options: Partial<BuildCodesOptions> | undefined, embeddings: Float32Array, dim: number): BuildCodesOptions {
  const o = parseConfig(BuildCodesOptionsSchema, options ?? {}, 'codes options');
  if (!(embeddings instanceof Float32Array)) throw new TypeError('embeddings must be a Float32Array');
  if (!Number.isInteger(dim) || dim < 1) throw new RangeError(`dim must be a positive integer, got ${dim}`);
  return o;
}

/** Builds the codes on the calling thread (blocks the event loop: prefer {@link buildCodesAsync}). */
export function buildCodes(embeddings: Float32Array, dim: number, options?: Partial<BuildCodesOptions>): CodeTable {
  const o = checkedOptions(options, embeddings, dim);
  return callNative(() => native.buildCodes(embeddings, dim, o));
}

/** Builds the codes on a worker thread; `onProgress(itemsDone, numItems)` after each tree node. */
export async function buildCodesAsync(
  embeddings: Float32Array,
  dim: number,
  options?: Partial<BuildCodesOptions>,
  onProgress?: (itemsDone: number, numItems: number) => void,
): Promise<CodeTable> {
  const o = checkedOptions(options, embeddings, dim);
  return callNative(() => native.buildCodesAsync(embeddings, dim, o, onProgress));
}

/** The code of item `itemId` (1-based), a view into `table.codes`. */
export function codeOf(table: CodeTable, itemId: number): Uint32Array {
  if (!Number.isInteger(itemId) || itemId < 1 || itemId > table.numItems) {
    throw new RangeError(`item id ${itemId} is outside 1..${table.numItems}`);
  }
  return table.codes.subarray((itemId - 1) * table.length, itemId * table.length);
}

/** Throws an `EAGER_INVALID_ARGUMENT` error unless every code-table guarantee holds. */
export function validateCodeTable(table: CodeTable): void {
  callNative(() => native.validateCodeTable(table));
}

/** Writes the code table (item → code and code → item) as JSON, atomically. */
export function saveCodeTable(table: CodeTable, path: string): void {
  callNative(() => native.saveCodeTable(table, path));
}

/** Reads and checks a code table JSON file. */
export function loadCodeTable(path: string): CodeTable {
  return callNative(() => native.loadCodeTable(path));
}

/** Prefix trie of valid codes: allowed next tokens per prefix, item at a full code. */
export class CodeTrie {
  private constructor(private readonly inner: InstanceType<typeof native.CodeTrie>) {}

  /** Builds the trie of a code table. */
  static fromTable(table: CodeTable): CodeTrie {
    return new CodeTrie(callNative(() => native.CodeTrie.fromTable(table)));
  }

  /** Reads and checks a binary trie file written by {@link CodeTrie.save}. */
  static load(path: string): CodeTrie {
    return new CodeTrie(callNative(() => native.CodeTrie.load(path)));
  }

  /** Writes the binary trie file atomically. */
  save(path: string): void {
    callNative(() => this.inner.save(path));
  }

  get k(): number {
    return this.inner.k;
  }

  get length(): number {
    return this.inner.length;
  }

  get numItems(): number {
    return this.inner.numItems;
  }

  get numNodes(): number {
    return this.inner.numNodes;
  }

  /** Tokens allowed after `prefix`, ascending (empty if the prefix is invalid or complete). */
  allowedNext(prefix: ArrayLike<number>): Uint32Array {
    return this.inner.allowedNext(Array.from(prefix));
  }

  /** Item id whose full code is `code`, or `null`. */
  itemAt(code: ArrayLike<number>): number | null {
    return this.inner.itemAt(Array.from(code)) ?? null;
  }

  /** The code table this trie encodes. */
  toTable(): CodeTable {
    return callNative(() => this.inner.toTable());
  }
}
