/**
 * A small, safe parser for Python literals (what `repr()` of a dict prints), as found in the
 * Amazon 2014 `meta_<Cat>.json.gz` dumps, whose lines are not JSON. No eval: a recursive-descent
 * parser over dicts, lists, tuples, sets, strings (quotes '...' "..." and triple-quoted, prefixes
 * u/b/r, all standard escapes), ints, floats, True/False/None (and JSON's true/false/null).
 * Dicts become plain objects with string keys, tuples and sets become arrays.
 */

/** A parse failure with the 0-based character offset. */
export class PyLiteralError extends Error {
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(`${message} at offset ${offset}`);
    this.name = 'PyLiteralError';
    this.offset = offset;
  }
}

/** A parsed Python literal value. */
export type PyValue = null | boolean | number | string | PyValue[] | { [key: string]: PyValue };

const MAX_DEPTH = 200;

const SIMPLE_ESCAPES: Record<string, string> = {
  '\\': '\\', "'": "'", '"': '"', n: '\n', t: '\t', r: '\r', b: '\b', f: '\f', v: '\v', a: '\x07', '0': '\0',
};

class Parser {
  pos = 0;
  constructor(private readonly s: string) {}

  fail(msg: string): never {
    throw new PyLiteralError(msg, this.pos);
  }

  ws(): void {
    const s = this.s;
    while (this.pos < s.length) {
      const c = s.charCodeAt(this.pos);
      if (c === 32 || c === 9 || c === 10 || c === 13) this.pos++;
      else break;
    }
  }

  value(depth: number): PyValue {
    if (depth > MAX_DEPTH) this.fail('nesting too deep');
    this.ws();
    const c = this.s[this.pos];
    if (c === undefined) this.fail('unexpected end of input');
    if (c === '{') return this.dict(depth);
    if (c === '[') return this.seq(']', depth);
    if (c === '(') return this.seq(')', depth);
    if (c === "'" || c === '"') return this.str(false);
    if (c === '-' || c === '+' || c === '.' || (c >= '0' && c <= '9')) return this.num();
    const word = /^[A-Za-z_]+/.exec(this.s.slice(this.pos, this.pos + 16))?.[0] ?? '';
    const q = this.s[this.pos + word.length];
    if (word.length <= 2 && /^[uUbBrR]{1,2}$/.test(word) && (q === "'" || q === '"')) {
      this.pos += word.length;
      return this.str(/[rR]/.test(word));
    }
    const consts: Record<string, PyValue> = { True: true, False: false, None: null, true: true, false: false, null: null };
    if (word in consts) {
      this.pos += word.length;
      return consts[word]!;
    }
    this.fail(`unexpected ${JSON.stringify(c)}`);
  }

  dict(depth: number): PyValue {
    this.pos++; // {
    const out: { [key: string]: PyValue } = {};
    this.ws();
    if (this.s[this.pos] === '}') {
      this.pos++;
      return out;
    }
    let first = this.value(depth + 1);
    this.ws();
    if (this.s[this.pos] !== ':') {
      // A set literal: {a, b}.
      const items: PyValue[] = [first];
      while (this.s[this.pos] === ',') {
        this.pos++;
        this.ws();
        if (this.s[this.pos] === '}') break;
        items.push(this.value(depth + 1));
        this.ws();
      }
      if (this.s[this.pos] !== '}') this.fail("expected ',' or '}' in set");
      this.pos++;
      return items;
    }
    for (;;) {
      if (first !== null && typeof first === 'object') this.fail('unhashable dict key');
      this.ws();
      if (this.s[this.pos] !== ':') this.fail("expected ':' in dict");
      this.pos++;
      const v = this.value(depth + 1);
      out[String(first)] = v;
      this.ws();
      const c = this.s[this.pos];
      if (c === ',') {
        this.pos++;
        this.ws();
        if (this.s[this.pos] === '}') {
          this.pos++;
          return out;
        }
        first = this.value(depth + 1);
        continue;
      }
      if (c === '}') {
        this.pos++;
        return out;
      }
      this.fail("expected ',' or '}' in dict");
    }
  }

  seq(close: string, depth: number): PyValue[] {
    this.pos++;
    const out: PyValue[] = [];
    this.ws();
    if (this.s[this.pos] === close) {
      this.pos++;
      return out;
    }
    for (;;) {
      out.push(this.value(depth + 1));
      this.ws();
      const c = this.s[this.pos];
      if (c === ',') {
        this.pos++;
        this.ws();
        if (this.s[this.pos] === close) {
          this.pos++;
          return out;
        }
        continue;
      }
      if (c === close) {
        this.pos++;
        return out;
      }
      this.fail(`expected ',' or '${close}'`);
    }
  }

  str(raw: boolean): string {
    const s = this.s;
    const q = s[this.pos]!;
    const triple = s.startsWith(q.repeat(3), this.pos);
    const delim = triple ? q.repeat(3) : q;
    this.pos += delim.length;
    let out = '';
    for (;;) {
      const c = s[this.pos];
      if (c === undefined) this.fail('unterminated string');
      if (s.startsWith(delim, this.pos)) {
        this.pos += delim.length;
        return out;
      }
      if (!triple && c === '\n') this.fail('newline in string');
      if (c !== '\\') {
        out += c;
        this.pos++;
        continue;
      }
      const e = s[this.pos + 1];
      if (e === undefined) this.fail('unterminated escape');
      if (raw) {
        out += c + e;
        this.pos += 2;
        continue;
      }
      this.pos += 2;
      if (e in SIMPLE_ESCAPES && !(e === '0' && /[0-7]/.test(s[this.pos] ?? ''))) {
        out += SIMPLE_ESCAPES[e];
      } else if (e === '\n') {
        // line continuation
      } else if (e === 'x' || e === 'u' || e === 'U') {
        const n = e === 'x' ? 2 : e === 'u' ? 4 : 8;
        const hex = s.slice(this.pos, this.pos + n);
        if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(hex)) this.fail(`bad \\${e} escape`);
        const cp = parseInt(hex, 16);
        if (cp > 0x10ffff) this.fail(`bad \\${e} escape`);
        out += String.fromCodePoint(cp);
        this.pos += n;
      } else if (e >= '0' && e <= '7') {
        const oct = /^[0-7]{1,3}/.exec(s.slice(this.pos - 1, this.pos + 2))![0];
        out += String.fromCharCode(parseInt(oct, 8));
        this.pos += oct.length - 1;
      } else {
        out += c + e; // Python keeps unknown escapes verbatim
      }
    }
  }

  num(): number {
    const m = /^[+-]?(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eE][+-]?\d+)?[lLjJ]?/.exec(this.s.slice(this.pos, this.pos + 64));
    if (!m) this.fail('bad number');
    this.pos += m[0].length;
    const v = Number(m[0].replace(/[_lLjJ]/g, ''));
    if (Number.isNaN(v)) this.fail('bad number');
    return v;
  }
}

/** Parses one Python literal; throws {@link PyLiteralError} on anything else. */
export function parsePythonLiteral(text: string): PyValue {
  const p = new Parser(text);
  const v = p.value(0);
  p.ws();
  if (p.pos !== text.length) p.fail('trailing characters');
  return v;
}
