/**
 * The one error type of the data layer.
 *
 * Every problem with an input file is a {@link DataError} whose message names the file, the
 * 1-based line (0 when the problem concerns the whole file or directory) and the field, so a
 * user can open the file and fix it. `code` is always `EAGER_DATA` (the CLI and the native
 * wrapper map errors by code).
 */
export class DataError extends Error {
  readonly code = 'EAGER_DATA' as const;
  /** The file (or directory) the problem is in. */
  readonly file: string;
  /** 1-based line number; 0 when the problem is not tied to one line. */
  readonly line: number;
  /** The field (column, JSON key, token position or 'file') at fault. */
  readonly field: string;

  constructor(file: string, line: number, field: string, problem: string) {
    const where = line > 0 ? `${file}:${line}` : file;
    super(`${where}: field "${field}": ${problem}`);
    this.name = 'DataError';
    this.file = file;
    this.line = line;
    this.field = field;
  }
}

/** True when `e` is a {@link DataError} (also across module copies: checks the code). */
export function isDataError(e: unknown): e is DataError {
  return e instanceof Error && (e as { code?: unknown }).code === 'EAGER_DATA';
}
