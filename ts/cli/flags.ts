/**
 * CLI flags derived from zod schemas: the schema is the single source of truth for the flag
 * names, types, defaults and validation messages of every command.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { z } from 'zod';

/** A usage error: message names the flag or argument that is wrong. Exit code 2. */
export class UsageError extends Error {
  readonly code = 'EAGER_USAGE';
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

function kebab(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

function unwrap(t: z.ZodType): z.ZodType {
  // Peel optional/default/nullable wrappers to find the base type.
  let cur: z.ZodType = t;
  for (let i = 0; i < 8; i++) {
    const def = (cur as unknown as { def?: { type?: string; innerType?: z.ZodType } }).def;
    if (def && (def.type === 'optional' || def.type === 'default' || def.type === 'nullable' || def.type === 'prefault') && def.innerType) {
      cur = def.innerType;
    } else break;
  }
  return cur;
}

function baseKind(t: z.ZodType): string {
  const def = (unwrap(t) as unknown as { def?: { type?: string } }).def;
  return def?.type ?? 'unknown';
}

/**
 * The override-flag form of a config schema: every field optional and *without* its default
 * (zod 4's `.partial()` keeps defaults, so a flag left out would silently replace the config
 * file's value with the default). Descriptions are kept, with the default appended.
 */
export function overrideFlags<T extends z.ZodRawShape>(schema: z.ZodObject<T>): z.ZodObject<{ [K in keyof T]: z.ZodOptional<z.ZodType<z.output<T[K]>>> }> {
  const shape: Record<string, z.ZodType> = {};
  for (const [key, field] of Object.entries(schema.shape)) {
    const t = field as z.ZodType;
    const def = (t as unknown as { def?: { type?: string; innerType?: z.ZodType; defaultValue?: unknown } }).def;
    const inner = def?.type === 'default' && def.innerType ? def.innerType : t;
    const desc = t.description ?? '';
    const suffix = def?.type === 'default' ? ` (default ${JSON.stringify(def.defaultValue)})` : '';
    shape[key] = inner.optional().describe(`${desc}${suffix}`.trim());
  }
  return z.object(shape) as unknown as z.ZodObject<{ [K in keyof T]: z.ZodOptional<z.ZodType<z.output<T[K]>>> }>;
}

/** Help text lines generated from a schema's keys and descriptions. */
export function flagHelp(schema: z.ZodObject): string {
  const lines: string[] = [];
  for (const [key, t] of Object.entries(schema.shape)) {
    const kind = baseKind(t as z.ZodType);
    const desc = (t as z.ZodType).description ?? '';
    const arg = kind === 'boolean' ? '' : ` <${kind}>`;
    lines.push(`  --${kebab(key)}${arg}`.padEnd(34) + desc);
  }
  return lines.join('\n');
}

/**
 * Parses `argv` against a zod object schema. Flags are the schema's keys in kebab-case;
 * booleans are switches, numbers are coerced. Returns the parsed flags and positionals.
 */
export function parseFlags<S extends z.ZodObject>(
  schema: S,
  argv: string[],
): { flags: z.infer<S>; positionals: string[] } {
  const options: Record<string, { type: 'string' | 'boolean' }> = {};
  const keyOf = new Map<string, string>();
  for (const [key, t] of Object.entries(schema.shape)) {
    const flag = kebab(key);
    options[flag] = { type: baseKind(t as z.ZodType) === 'boolean' ? 'boolean' : 'string' };
    keyOf.set(flag, key);
  }
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const raw: Record<string, unknown> = {};
  for (const [flag, value] of Object.entries(parsed.values)) {
    const key = keyOf.get(flag)!;
    const kind = baseKind(schema.shape[key] as z.ZodType);
    if (kind === 'number' && typeof value === 'string') {
      const n = Number(value);
      raw[key] = value.trim() === '' || Number.isNaN(n) ? value : n;
    } else raw[key] = value;
  }
  const res = schema.safeParse(raw);
  if (!res.success) {
    const msg = res.error.issues
      .map((i) => `--${kebab(String(i.path[0] ?? '?'))}: ${i.message}`)
      .join('; ');
    throw new UsageError(msg);
  }
  return { flags: res.data as z.infer<S>, positionals: parsed.positionals };
}

/** Formats zod issues as `path.to.field: message` lines (for config files). */
export function formatZodIssues(error: z.ZodError, source?: string): string {
  return error.issues
    .map((i) => `${source ? `${source}: ` : ''}${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`)
    .join('\n');
}

/**
 * Reads a JSON config file and validates it against `schema`; errors name the file and the
 * field. Returns the raw object (defaults are applied by the caller after merging flags).
 */
export function readConfigFile(path: string | undefined, schema: z.ZodType): Record<string, unknown> {
  if (!path) return {};
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new UsageError(`--config ${path}: ${(e as Error).message}`);
  }
  const res = schema.safeParse(raw);
  if (!res.success) throw new UsageError(`invalid config:\n${formatZodIssues(res.error, path)}`);
  return raw as Record<string, unknown>;
}
