// Checks the code-table guarantees of built indexes (issue 3) independently of the code that
// wrote them, and prints one JSON object per index. For each stream:
//   - the code table loads (the Rust loader re-checks its invariants) and has one code per item;
//   - no two items share a code; every token is below K;
//   - the saved trie maps every item's code back to that item and nothing else to anything.
// Usage (after `npm run build`): node benches/check-index.mjs <indexDir> [<indexDir> ...]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CodeTrie, loadCodeTable } from '../dist/index.js';

const dirs = process.argv.slice(2);
if (dirs.length === 0) {
  console.error('usage: node benches/check-index.mjs <indexDir> [<indexDir> ...]');
  process.exit(2);
}
let failed = false;
for (const dir of dirs) {
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  const out = { index: dir, dataset: manifest.dataset?.name ?? manifest.dataset, numItems: manifest.numItems, streams: {} };
  for (const stream of ['behaviour', 'semantic']) {
    const problems = [];
    const table = loadCodeTable(join(dir, `${stream}.codes.json`));
    const { k, length: l, numItems: n, codes } = table;
    if (n !== manifest.numItems) problems.push(`${n} items, manifest says ${manifest.numItems}`);
    if (codes.length !== n * l) problems.push(`${codes.length} tokens for ${n} items of length ${l}`);
    const seen = new Map();
    let maxToken = 0;
    for (let i = 0; i < n; i++) {
      const code = codes.subarray(i * l, (i + 1) * l);
      for (const t of code) maxToken = Math.max(maxToken, t);
      const key = code.join(',');
      if (seen.has(key)) problems.push(`items ${seen.get(key)} and ${i + 1} share code ${key}`);
      seen.set(key, i + 1);
    }
    if (maxToken >= k) problems.push(`token ${maxToken} >= K = ${k}`);
    const trie = CodeTrie.load(join(dir, `${stream}.trie.bin`));
    let trieMismatches = 0;
    for (let i = 0; i < n; i++) if (trie.itemAt(codes.subarray(i * l, (i + 1) * l)) !== i + 1) trieMismatches++;
    if (trieMismatches) problems.push(`${trieMismatches} codes not mapped to their item by the trie`);
    if (trie.numItems !== n) problems.push(`trie holds ${trie.numItems} items`);
    out.streams[stream] = { k, length: l, items: n, distinctCodes: seen.size, maxToken, trieNodes: trie.numNodes, ok: problems.length === 0, problems };
    failed ||= problems.length > 0;
  }
  console.log(JSON.stringify(out));
}
process.exit(failed ? 1 : 0);
