/**
 * A fingerprint of a dataset's interactions (item count + every sequence), so a run can tell
 * when `eager eval` is pointed at data other than the data it was trained on.
 */
import { createHash } from 'node:crypto';
import type { Dataset } from '../data/types.js';

/** `sha256:<hex>` over numItems and the sequences (users in order). */
export function datasetFingerprint(ds: Pick<Dataset, 'numItems' | 'sequences'>): string {
  const h = createHash('sha256');
  h.update(`eager-dataset-v1:${ds.numItems}:${ds.sequences.length}\n`);
  const len = new Uint32Array(1);
  for (const s of ds.sequences) {
    len[0] = s.length;
    h.update(new Uint8Array(len.buffer));
    h.update(new Uint8Array(s.buffer, s.byteOffset, s.byteLength));
  }
  return `sha256:${h.digest('hex')}`;
}
