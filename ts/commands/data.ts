/**
 * `eager data <subcommand>`: dataset tools.
 *
 *   eager data stats <dir> [--json] [--format auto|project|recbole|amazon|csv] [--kcore N]
 *                          [--on-bad-line error|skip] [--name NAME]
 *
 * Exit codes: 0 ok, 1 data error (message names file, line, field), 2 usage error.
 */
import { flagHelp, parseFlags, UsageError } from '../cli/flags.js';
import { DataStatsFlagsSchema } from '../config/data.js';
import { loadDataset } from '../data/load.js';
import { datasetStats, type DatasetStats } from '../data/stats.js';

const USAGE = `usage: eager data stats <dir> [options]

Reads a dataset directory (project format, RecBole atomic files, Amazon 2014 dumps, or a
user,item,timestamp CSV/TSV) and prints its statistics.

options:
${flagHelp(DataStatsFlagsSchema)}`;

function formatStats(s: DatasetStats, seconds: number): string {
  const lines = [
    `dataset       ${s.name} (${s.format})`,
    `users         ${s.users}`,
    `items         ${s.items}${s.itemsUsed !== s.items ? ` (${s.itemsUsed} occur in sequences)` : ''}`,
    `interactions  ${s.interactions}`,
    `length        min ${s.minLength}, mean ${s.meanLength.toFixed(2)}, max ${s.maxLength}`,
    `density       ${(s.density * 100).toFixed(4)}%`,
    `with title    ${s.itemsWithTitle}`,
  ];
  if (s.filtered) {
    const f = s.filtered;
    lines.push(`${f.kcore}-core       removed ${f.removedUsers} users, ${f.removedItems} items, ${f.removedInteractions} interactions (${f.passes} passes)`);
  }
  lines.push(`skipped       ${s.skipped}`);
  for (const ex of s.skippedExamples) lines.push(`  ${ex}`);
  lines.push(`read in       ${seconds.toFixed(3)} s`);
  return lines.join('\n');
}

async function runStats(argv: string[]): Promise<number> {
  const { flags, positionals } = parseFlags(DataStatsFlagsSchema, argv);
  if (flags.help) {
    console.log(USAGE);
    return 0;
  }
  if (positionals.length !== 1) {
    throw new UsageError(`data stats: expected exactly one <dir> argument, got ${positionals.length}\n\n${USAGE}`);
  }
  const t0 = performance.now();
  const ds = await loadDataset(positionals[0]!, {
    format: flags.format, kcore: flags.kcore, onBadLine: flags.onBadLine, name: flags.name,
  });
  const stats = datasetStats(ds);
  const seconds = (performance.now() - t0) / 1000;
  if (flags.json) console.log(JSON.stringify({ ...stats, seconds: Number(seconds.toFixed(3)) }));
  else console.log(formatStats(stats, seconds));
  return 0;
}

/** Entry point of `eager data ...`; returns the exit code. Data errors propagate (exit 1 in cli.ts). */
export async function runDataCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'stats') return runStats(rest);
  if (!sub || sub === '--help' || sub === '-h' || sub === 'help') {
    console.log(USAGE);
    return sub ? 0 : 2;
  }
  throw new UsageError(`data: unknown subcommand '${sub}' (expected: stats)`);
}
