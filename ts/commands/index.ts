/**
 * `eager index <dataset> --out <dir> [--config <file>]`: behaviour + semantic embeddings and the
 * dual hierarchical k-means codes of every item, written atomically with a manifest.
 */
import { flagHelp, parseFlags, readConfigFile, UsageError } from '../cli/flags.js';
import { loadDataset } from '../data/load.js';
import { IndexConfigSchema, IndexFlagsSchema, type IndexConfig } from '../indexing/config.js';
import { buildIndex, writeIndex } from '../indexing/build.js';
import { withLock } from '../util/lock.js';
import { sasrecBehaviourTrainer } from '../sasrec/behaviour.js';

const USAGE = `usage: eager index <dataset-dir> --out <dir> [--config <file>]\n\n${flagHelp(IndexFlagsSchema)}`;

/** Reads and validates an index config file; errors name the file and the field. */
export function readIndexConfig(path: string | undefined): Record<string, unknown> {
  return readConfigFile(path, IndexConfigSchema);
}

export async function runIndex(argv: string[]): Promise<number> {
  const { flags, positionals } = parseFlags(IndexFlagsSchema.partial({ out: true }), argv);
  if (flags.help) {
    console.log(USAGE);
    return 0;
  }
  if (positionals.length !== 1 || !flags.out) throw new UsageError(`expected one dataset directory and --out\n\n${USAGE}`);
  const raw = readIndexConfig(flags.config) as Partial<IndexConfig>;
  const cfg = IndexConfigSchema.parse({
    ...raw,
    ...(flags.seed !== undefined ? { seed: flags.seed } : {}),
    ...(flags.k !== undefined ? { codes: { ...(raw.codes ?? {}), k: flags.k } } : {}),
    ...(flags.semantic !== undefined ? { semantic: { ...(raw.semantic ?? {}), encoder: flags.semantic } } : {}),
  });
  const t0 = performance.now();
  const out = flags.out;
  // Held from before the build to after the rename: a second `eager index` on the same --out fails
  // at once instead of replacing the directory under the first.
  const built = await withLock(out, 'eager index', async () => {
    const ds = await loadDataset(positionals[0]!);
    const b = await buildIndex(ds, cfg, {
      trainBehaviour: sasrecBehaviourTrainer,
      datasetPath: positionals[0]!,
      onProgress: (p) => process.stderr.write(`[${p.stage}] ${p.message}\n`),
    });
    (b.manifest.timings as Record<string, number>).totalSeconds = (performance.now() - t0) / 1000;
    writeIndex(out, b);
    return b;
  });
  if (flags.json) console.log(JSON.stringify(built.manifest, null, 2));
  else {
    const m = built.manifest as { behaviour: { dim: number; k: number; length: number }; semantic: { dim: number; k: number; length: number; encoder: string } };
    console.log(
      `index written to ${out}: ${built.numItems} items; behaviour ${m.behaviour.dim}-d, codes K=${m.behaviour.k} L=${m.behaviour.length}; ` +
        `semantic (${m.semantic.encoder}) ${m.semantic.dim}-d, codes K=${m.semantic.k} L=${m.semantic.length}`,
    );
  }
  return 0;
}
