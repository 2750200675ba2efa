/**
 * `npm run bench:speed [-- --threads 2 --force]`: speed of this project against the plain-PyTorch
 * EAGER reference (`../shared/torch-ref/eager_ref.py`), side by side in one run on this machine.
 *
 * Same workload on both sides (the reference's defaults): Beauty's sizes (12,101 items), the
 * released configuration (hidden 96, 1 encoder + 2 decoder layers per stream, K 128, L 2),
 * random stand-in embeddings and codes.
 *   - k-means seconds: balanced hierarchical k-means, both trees (`kmeans_bench` example);
 *   - training samples/s: full updates, batch 256 (`train_step_bench` example);
 *   - inference users/s: 2,048 users in batches of 50, beam 100, top-5 per stream, rescore
 *     merge (`recommend_bench` example);
 *   - peak memory: max RSS (ours: the largest of the three processes, via /usr/bin/time; the
 *     reference: its one process doing all three).
 * Order: ours, reference, ours (the machine is shared: interleaving brackets the noise); ours
 * reports the mean of its two runs. Writes `benches/results/speed-<date>.json`.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { flagHelp, parseFlags, UsageError } from '../ts/cli/flags.js';
import { writeJsonAtomic } from '../ts/util/fs.js';
import { cargoTargetDir } from './cargo-target.js';
import { loadAverage, packageRoot, provenance } from './provenance.js';
import { parseBenchResult, type SpeedResult, type SpeedSide } from './results-schema.js';

const FlagsSchema = z.object({
  threads: z.number().int().min(1).default(2).describe('threads for both implementations'),
  trainSteps: z.number().int().min(1).default(20).describe('timed training updates of ours (the reference: its default 50)'),
  evalUsers: z.number().int().min(1).default(2048).describe('users decoded for inference users/s (both sides)'),
  torchRef: z.string().min(1).default('../shared/torch-ref/eager_ref.py').describe('the reference script'),
  python: z.string().min(1).default('/usr/bin/python3').describe('python with torch + numpy'),
  skipTorch: z.boolean().default(false).describe('only measure ours (the page then shows no ratio)'),
  force: z.boolean().default(false).describe('run even when the 1-minute load average is above 2.5'),
  results: z.string().min(1).default('benches/results').describe('output directory'),
  help: z.boolean().default(false).describe('show this help'),
});

const workload = (users: number) => 'Beauty sizes (12,101 items), released configuration (hidden 96, 1 encoder + 2 decoder layers per stream, '
  + `K 128, L 2), random stand-in embeddings and codes; training batch 256; inference ${users.toLocaleString('en')} users in batches of 50, beam 100, `
  + 'top-5 per stream, rescore merge; balanced k-means (at most 100 iterations) on 96-d and 768-d stand-ins';

type Json = Record<string, unknown>;

/** Runs a command under /usr/bin/time; returns its last JSON stdout line and its max RSS (MB). */
function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): { json: Json; maxRssMb: number | null } {
  const dir = mkdtempSync(join(tmpdir(), 'eager-speed-'));
  const timeFile = join(dir, 'time');
  try {
    const hasTime = existsSync('/usr/bin/time');
    const [exe, argv] = hasTime ? ['/usr/bin/time', ['-f', '%M', '-o', timeFile, cmd, ...args]] : [cmd, args];
    process.stderr.write(`$ ${cmd} ${args.join(' ')}\n`);
    const r = spawnSync(exe, argv, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 << 20 });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status ?? r.signal})`);
    const line = r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
    if (!line) throw new Error(`${cmd}: no JSON line on stdout`);
    const kb = hasTime ? Number(readFileSync(timeFile, 'utf8').trim().split('\n').pop()) : Number.NaN;
    return { json: JSON.parse(line) as Json, maxRssMb: Number.isFinite(kb) ? kb / 1024 : null };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function num(j: Json, key: string): number | null {
  const v = j[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function mean(xs: (number | null)[]): number | null {
  const v = xs.filter((x): x is number => x !== null);
  return v.length ? v.reduce((a, b) => a + b, 0) / v.length : null;
}

function maxOf(xs: (number | null)[]): number | null {
  const v = xs.filter((x): x is number => x !== null);
  return v.length ? Math.max(...v) : null;
}

async function main(argv: string[]): Promise<number> {
  const { flags } = parseFlags(FlagsSchema, argv);
  if (flags.help) {
    console.log(`usage: npm run bench:speed [-- options]\n\n${flagHelp(FlagsSchema)}`);
    return 0;
  }
  const root = packageRoot();
  const load = loadAverage();
  if (load[0]! > 2.5 && !flags.force) {
    throw new UsageError(`the 1-minute load average is ${load[0]!.toFixed(2)} (> 2.5): the comparison would measure the other `
      + 'processes; wait for a quiet machine or pass --force');
  }
  const host = execFileSync('rustc', ['-vV'], { encoding: 'utf8' }).match(/^host: (.+)$/m)?.[1];
  if (!host) throw new Error('cannot read the host triple from `rustc -vV`');
  const examples = ['kmeans_bench', 'train_step_bench', 'recommend_bench'];
  process.stderr.write(`building ${examples.join(', ')} (release, ${host})\n`);
  execFileSync('cargo', ['build', '--release', '-p', 'eager-core', '--target', host, ...examples.flatMap((e) => ['--example', e])],
    { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  const bin = (e: string) => join(cargoTargetDir(root), host, 'release', 'examples', e);
  const env = { ...process.env, RAYON_NUM_THREADS: String(flags.threads) };
  const t = String(flags.threads);

  const oursRuns: { kmeans: Json; train: Json; recommend: Json; rss: (number | null)[] }[] = [];
  const runOurs = () => {
    const k = timed(bin('kmeans_bench'), [], env, root);
    const tr = timed(bin('train_step_bench'), [String(flags.trainSteps), '256', t], env, root);
    const rec = timed(bin('recommend_bench'), [String(flags.evalUsers), '100', t], env, root);
    oursRuns.push({ kmeans: k.json, train: tr.json, recommend: rec.json, rss: [k.maxRssMb, tr.maxRssMb, rec.maxRssMb] });
  };
  const order: string[] = [];
  runOurs();
  order.push('ours');
  let torchJson: Json | null = null;
  if (!flags.skipTorch) {
    torchJson = timed(flags.python, [resolve(root, flags.torchRef), '--quiet', '--threads', t, '--eval-users', String(flags.evalUsers)], process.env, root).json;
    order.push('torch reference');
    runOurs();
    order.push('ours');
  }

  const ours: SpeedSide = {
    trainSamplesPerSec: mean(oursRuns.map((r) => num(r.train, 'train_samples_per_s'))),
    inferenceUsersPerSec: mean(oursRuns.map((r) => num(r.recommend, 'eval_users_per_s'))),
    kmeansSeconds: mean(oursRuns.map((r) => num(r.kmeans, 'kmeans_seconds'))),
    peakRssMb: maxOf(oursRuns.flatMap((r) => r.rss)),
    notes: [
      `mean of ${oursRuns.length} interleaved run(s): training ${oursRuns.map((r) => num(r.train, 'train_samples_per_s')?.toFixed(0)).join(', ')} samples/s; `
        + `inference ${oursRuns.map((r) => num(r.recommend, 'eval_users_per_s')?.toFixed(1)).join(', ')} users/s; `
        + `k-means ${oursRuns.map((r) => num(r.kmeans, 'kmeans_seconds')?.toFixed(2)).join(', ')} s`,
      'peak memory: the largest max RSS of the three benchmark processes (k-means, training, inference); the reference runs all three in one process',
    ],
    raw: oursRuns,
  };
  const torch: SpeedSide = torchJson
    ? {
      trainSamplesPerSec: num(torchJson, 'train_samples_per_s'),
      inferenceUsersPerSec: num(torchJson, 'eval_users_per_s'),
      kmeansSeconds: num(torchJson, 'kmeans_seconds'),
      peakRssMb: num(torchJson, 'peak_rss_mb'),
      notes: [`torch ${String(torchJson.torch_version ?? '?')}, OpenBLAS core type ${String(torchJson.openblas_coretype ?? 'auto')}, `
        + `${String(torchJson.timed_steps ?? '?')} timed updates, ${String(torchJson.eval_users ?? '?')} users`],
      raw: [torchJson],
    }
    : { trainSamplesPerSec: null, inferenceUsersPerSec: null, kmeansSeconds: null, peakRssMb: null, notes: ['not run (--skip-torch)'], raw: [] };
  const result: SpeedResult = {
    format: 'eager-bench-result', version: 1, kind: 'speed', workload: workload(flags.evalUsers), threads: flags.threads, ours, torch, order,
    provenance: provenance(root, torchJson?.torch_version ? { torch: String(torchJson.torch_version) } : {}, load),
  };
  const date = result.provenance.createdAt.slice(0, 10);
  const out = join(resolve(root, flags.results), `speed-${date}.json`);
  writeJsonAtomic(out, parseBenchResult(result, out));
  const f = (x: number | null, d = 1) => (x === null ? '–' : x.toFixed(d));
  console.log(`training samples/s: ours ${f(ours.trainSamplesPerSec, 0)}, torch ${f(torch.trainSamplesPerSec, 0)}`);
  console.log(`inference users/s:  ours ${f(ours.inferenceUsersPerSec)}, torch ${f(torch.inferenceUsersPerSec)}`);
  console.log(`k-means seconds:    ours ${f(ours.kmeansSeconds, 2)}, torch ${f(torch.kmeansSeconds, 2)}`);
  console.log(`peak RSS MB:        ours ${f(ours.peakRssMb, 0)}, torch ${f(torch.peakRssMb, 0)}`);
  console.log(`written ${out}; regenerate the page with \`npm run results:page\``);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    console.error(`bench:speed: ${(e as Error).message}`);
    process.exitCode = e instanceof UsageError ? 2 : 1;
  },
);

