/**
 * From raw `(user, item, timestamp)` interactions to a {@link Dataset}: k-core filtering
 * (iterated to a fixed point), chronological order per user with a stable tie-break (the
 * original line order), and dense 1-based item ids with the original -> dense mapping kept.
 *
 * Used by every raw-format reader (RecBole, Amazon, CSV).
 */
import { MIN_SEQUENCE_LENGTH } from './project.js';
import type { Dataset, DatasetFormat, ItemMeta, SkipRecord } from './types.js';

/** What k-core filtering removed. Reported by `eager data stats`, never silent. */
export interface FilterReport {
  kcore: number;
  /** Fixed-point passes it took. */
  passes: number;
  removedUsers: number;
  removedItems: number;
  removedInteractions: number;
}

/** Accumulates raw interactions in file order (the tie-break order). */
export class InteractionTable {
  private readonly userIndex = new Map<string, number>();
  private readonly itemIndex = new Map<string, number>();
  readonly userKeys: string[] = [];
  readonly itemKeys: string[] = [];
  private users = new Uint32Array(1024);
  private items = new Uint32Array(1024);
  private times = new Float64Array(1024);
  /** Number of interactions added. */
  size = 0;

  /** Appends one interaction (call in file order). */
  add(user: string, item: string, timestamp: number): void {
    let u = this.userIndex.get(user);
    if (u === undefined) {
      u = this.userKeys.length;
      this.userIndex.set(user, u);
      this.userKeys.push(user);
    }
    let i = this.itemIndex.get(item);
    if (i === undefined) {
      i = this.itemKeys.length;
      this.itemIndex.set(item, i);
      this.itemKeys.push(item);
    }
    if (this.size === this.users.length) this.grow();
    this.users[this.size] = u;
    this.items[this.size] = i;
    this.times[this.size] = timestamp;
    this.size++;
  }

  private grow(): void {
    const cap = this.users.length * 2;
    const users = new Uint32Array(cap);
    users.set(this.users);
    const items = new Uint32Array(cap);
    items.set(this.items);
    const times = new Float64Array(cap);
    times.set(this.times);
    this.users = users;
    this.items = items;
    this.times = times;
  }

  /** Read-only views of the columns (length {@link size}). */
  columns(): { users: Uint32Array; items: Uint32Array; times: Float64Array } {
    return {
      users: this.users.subarray(0, this.size),
      items: this.items.subarray(0, this.size),
      times: this.times.subarray(0, this.size),
    };
  }
}

/**
 * Marks interactions that survive k-core filtering: repeatedly drops interactions of users or
 * items with fewer than `k` interactions until nothing changes. `k <= 1` keeps everything.
 */
export function kcoreFilter(
  users: Uint32Array, items: Uint32Array, numUsers: number, numItems: number, k: number,
): { alive: Uint8Array; passes: number } {
  const n = users.length;
  const alive = new Uint8Array(n).fill(1);
  if (k <= 1) return { alive, passes: 0 };
  const userCount = new Uint32Array(numUsers);
  const itemCount = new Uint32Array(numItems);
  for (let j = 0; j < n; j++) {
    userCount[users[j]!]!++;
    itemCount[items[j]!]!++;
  }
  let passes = 0;
  for (;;) {
    passes++;
    let changed = false;
    for (let j = 0; j < n; j++) {
      if (!alive[j]) continue;
      const u = users[j]!;
      const i = items[j]!;
      if (userCount[u]! < k || itemCount[i]! < k) {
        alive[j] = 0;
        userCount[u]!--;
        itemCount[i]!--;
        changed = true;
      }
    }
    if (!changed) break;
  }
  return { alive, passes };
}

/** Options of {@link buildDataset}. */
export interface BuildOptions {
  name: string;
  format: DatasetFormat;
  /** k-core threshold (default 5). */
  kcore: number;
  /** The file the interactions came from (for skip records). */
  file: string;
  /** Metadata by original item id (optional; missing items get `{ sourceId }` only). */
  meta?: Map<string, ItemMeta>;
  /** Skips already counted by the reader (malformed lines). */
  skipped?: SkipRecord[];
}

/** A dataset built from raw interactions, with the k-core report. */
export type RawDataset = Dataset & { filtered: FilterReport };

/**
 * Builds the dataset: k-core, then per user a chronological sequence (stable on ties), dense
 * item ids in order of first appearance (users in order of first appearance in the file).
 * Users left with fewer than 3 interactions (possible only when k < 3) are skipped and recorded.
 */
export function buildDataset(table: InteractionTable, opts: BuildOptions): RawDataset {
  const { users, items, times } = table.columns();
  const numUsersRaw = table.userKeys.length;
  const numItemsRaw = table.itemKeys.length;
  const { alive, passes } = kcoreFilter(users, items, numUsersRaw, numItemsRaw, opts.kcore);

  // Group surviving interactions by user, keeping file order inside each group.
  const counts = new Uint32Array(numUsersRaw + 1);
  let kept = 0;
  for (let j = 0; j < users.length; j++) {
    if (alive[j]) {
      counts[users[j]! + 1]!++;
      kept++;
    }
  }
  for (let u = 0; u < numUsersRaw; u++) counts[u + 1]! += counts[u]!;
  const order = new Uint32Array(kept);
  const fill = counts.slice(0, numUsersRaw);
  for (let j = 0; j < users.length; j++) if (alive[j]) order[fill[users[j]!]!++] = j;

  const skipped: SkipRecord[] = [...(opts.skipped ?? [])];
  const dense = new Int32Array(numItemsRaw).fill(-1);
  const itemKeysDense: string[] = [''];
  const outUsers: string[] = [];
  const sequences: Uint32Array[] = [];
  let keptInteractions = 0;
  for (let u = 0; u < numUsersRaw; u++) {
    const start = counts[u]!;
    const end = counts[u + 1]!;
    const len = end - start;
    if (len === 0) continue;
    if (len < MIN_SEQUENCE_LENGTH) {
      skipped.push({
        file: opts.file, line: 0,
        reason: `user "${table.userKeys[u]}" has ${len} interaction(s) after ${opts.kcore}-core filtering; needs at least ${MIN_SEQUENCE_LENGTH}`,
      });
      continue;
    }
    // Array.prototype.sort is stable: equal timestamps keep file order.
    const idx = Array.from(order.subarray(start, end)).sort((a, b) => times[a]! - times[b]!);
    const seq = new Uint32Array(len);
    for (let p = 0; p < len; p++) {
      const raw = items[idx[p]!]!;
      if (dense[raw]! < 0) {
        dense[raw] = itemKeysDense.length;
        itemKeysDense.push(table.itemKeys[raw]!);
      }
      seq[p] = dense[raw]!;
    }
    outUsers.push(table.userKeys[u]!);
    sequences.push(seq);
    keptInteractions += len;
  }

  const numItems = itemKeysDense.length - 1;
  const itemIdMap = new Map<string, number>();
  const itemMetas: ItemMeta[] = [{}];
  for (let id = 1; id <= numItems; id++) {
    const key = itemKeysDense[id]!;
    itemIdMap.set(key, id);
    const meta = opts.meta?.get(key);
    itemMetas.push({ ...meta, sourceId: key });
  }
  return {
    name: opts.name,
    format: opts.format,
    numItems,
    users: outUsers,
    sequences,
    items: itemMetas,
    itemIdMap,
    skipped,
    filtered: {
      kcore: opts.kcore,
      passes,
      removedUsers: numUsersRaw - outUsers.length,
      removedItems: numItemsRaw - numItems,
      removedInteractions: users.length - keptInteractions,
    },
  };
}
