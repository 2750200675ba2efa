/**
 * An ensemble of EAGER models as one model: every member decodes its own top-k
 * list (its beam search and merge), the union of the lists is scored by every member
 * ({@link RunModel.scoreLists}: its `rescore` sum of code log-likelihoods), and the union is
 * ranked by the members' summed scores (a product of the members' likelihoods, equal weights).
 * Members may differ in config and in index (they score items by id, each through its own
 * codes); they must share the catalogue.
 */
import type { DecodeSettings, RankedBatch, RunModel } from './types.js';

/** One member: a model and the decoding it was selected with. */
export interface EnsembleMember {
  model: RunModel;
  decode: DecodeSettings;
}

/** The union of each row's items over several `[B, k_m]` lists (first occurrence order; item 0 skipped). */
export function unionLists(lists: { k: number; items: Uint32Array }[], rows: number): { items: Uint32Array; offsets: Uint32Array } {
  const offsets = new Uint32Array(rows + 1);
  const out: number[] = [];
  for (let u = 0; u < rows; u++) {
    const seen = new Set<number>();
    for (const l of lists) {
      for (const item of l.items.subarray(u * l.k, (u + 1) * l.k)) {
        if (item !== 0 && !seen.has(item)) {
          seen.add(item);
          out.push(item);
        }
      }
    }
    offsets[u + 1] = out.length;
  }
  return { items: Uint32Array.from(out), offsets };
}

/**
 * Each row's items ranked by `score` (descending; ties by item id), cut to `k`: `[B, k]` like
 * {@link RunModel.recommend}'s result (missing slots item 0 with score -Infinity).
 */
export function rankUnion(items: Uint32Array, offsets: Uint32Array, score: Float64Array, k: number): RankedBatch {
  const B = offsets.length - 1;
  const out: RankedBatch = { k, items: new Uint32Array(B * k), scores: new Float32Array(B * k).fill(Number.NEGATIVE_INFINITY) };
  for (let u = 0; u < B; u++) {
    const idx = Array.from({ length: offsets[u + 1]! - offsets[u]! }, (_, j) => offsets[u]! + j);
    idx.sort((a, b) => score[b]! - score[a]! || items[a]! - items[b]!);
    idx.slice(0, k).forEach((j, r) => {
      out.items[u * k + r] = items[j]!;
      out.scores[u * k + r] = score[j]!;
    });
  }
  return out;
}

/** Refuses an empty ensemble and members that cannot score given items. */
function checkMembers(members: readonly EnsembleMember[]): void {
  if (members.length === 0) throw new Error('ensemble: no members');
  members.forEach((m, i) => {
    if (!m.model.scoreLists) throw new Error(`ensemble: member ${i} cannot score given items (no scoreLists)`);
  });
}

/**
 * The ensemble's top `k` per history (`histories` `[B, T]` left-padded with 0, as
 * {@link RunModel.recommend} takes them): each member's own top `k`, their union scored by every
 * member, ranked by the sum. Scores are the sums.
 */
export async function ensembleRank(members: readonly EnsembleMember[], histories: Uint32Array, T: number, k: number): Promise<RankedBatch> {
  checkMembers(members);
  const B = histories.length / T;
  const found = await Promise.all(members.map((m) => m.model.recommend(histories, T, k, m.decode)));
  const { items, offsets } = unionLists(found, B);
  // The members score concurrently (each call runs off the event loop); the sum is taken in member order.
  const scored = await Promise.all(members.map((m) => m.model.scoreLists!(histories, T, items, offsets, m.decode)));
  const total = new Float64Array(items.length);
  for (const s of scored) {
    if (s.length !== items.length) throw new Error(`ensemble: scoreLists returned ${s.length} scores for ${items.length} items`);
    for (let j = 0; j < s.length; j++) total[j] += s[j]!;
  }
  return rankUnion(items, offsets, total, k);
}

/** A model that decodes with the ensemble of `members` (its `decode` argument is unused: each member has its own); `dispose` releases every member. */
export function ensembleModel(members: readonly EnsembleMember[]): Pick<RunModel, 'recommend' | 'dispose'> {
  checkMembers(members);
  return {
    recommend: (histories: Uint32Array, T: number, k: number) => ensembleRank(members, histories, T, k),
    dispose: () => {
      for (const m of members) m.model.dispose?.();
    },
  };
}
