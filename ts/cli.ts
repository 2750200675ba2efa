#!/usr/bin/env node
/**
 * The `eager` command line. Each command lives in `ts/commands/<name>.ts` and owns its zod flag
 * schema; this file only dispatches and maps errors to exit codes.
 */
import { UsageError } from './cli/flags.js';

type Runner = (argv: string[]) => Promise<number>;

const COMMANDS: Record<string, { summary: string; load: () => Promise<Runner> }> = {
  demo: {
    summary: 'generate the embedded synthetic dataset, split it, train/score and print metrics',
    load: async () => (await import('./commands/demo.js')).runDemo,
  },
  data: {
    summary: 'dataset tools: `eager data stats <dir> [--json]`',
    load: async () => (await import('./commands/data.js')).runDataCommand,
  },
  index: {
    summary: 'behaviour + semantic embeddings and dual k-means codes: `eager index <dataset> --out <dir>`',
    load: async () => (await import('./commands/index.js')).runIndex,
  },
  baseline: {
    summary: 'train and evaluate a baseline: `eager baseline sasrec <dataset> --out <dir>`',
    load: async () => (await import('./commands/baseline.js')).runBaseline,
  },
  train: {
    summary: 'train EAGER: `eager train <dataset> --index <dir> --out <run> [--config <file>] [--resume]`',
    load: async () => (await import('./commands/train.js')).runTrain,
  },
  eval: {
    summary: 'evaluate a run or an ensemble of runs: `eager eval <run> [<run> ...] --split valid|test [--json]`',
    load: async () => (await import('./commands/eval.js')).runEval,
  },
  recommend: {
    summary: 'recommend for one history: `eager recommend <run> [<run> ...] --history 12,7,99 --k 10 [--json]`',
    load: async () => (await import('./commands/recommend.js')).runRecommend,
  },
};

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(12)}${c.summary}`);
  return `usage: eager <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nRun \`eager <command> --help\` for a command's flags.`;
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    console.log(usage());
    return cmd ? 0 : 2;
  }
  const entry = COMMANDS[cmd];
  if (!entry) {
    console.error(`eager: unknown command '${cmd}'\n\n${usage()}`);
    return 2;
  }
  try {
    const run = await entry.load();
    return await run(rest);
  } catch (e) {
    const err = e as Error & { code?: string };
    if (e instanceof UsageError) {
      console.error(`eager ${cmd}: ${err.message}`);
      return 2;
    }
    console.error(`eager ${cmd}: ${err.code ? `[${err.code}] ` : ''}${err.message}`);
    if (process.env.EAGER_DEBUG) console.error(err.stack);
    return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  },
);
