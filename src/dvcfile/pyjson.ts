/**
 * Python's `json.dumps`, byte for byte. DVC hashes JSON it wrote with Python (`.dir` manifests,
 * stage md5s) and prints JSON with it (`status --json`), so cpv must produce the same bytes.
 * `JSON.stringify` cannot be used: it puts no spaces after `,` and `:`, leaves non-ASCII and DEL
 * unescaped and sorts nothing (dvc-compat §3.1, §10 item 1).
 */

export interface PyJsonOptions {
  /** `sort_keys`: object keys in code-point order. Default true (what DVC uses for hashing). */
  sortKeys?: boolean;
  /** `indent`: undefined = one line; a number = pretty-printed with that many spaces per level. */
  indent?: number;
}

/**
 * `json.dumps(value, sort_keys=True)` with every other argument at Python's default
 * (`ensure_ascii=True`, `allow_nan=True`, separators `", "` / `": "`, or `","` / `": "` when
 * indenting). Accepts strings, numbers, bigints, booleans, null, arrays and objects; object
 * properties whose value is `undefined` are left out, as `JSON.stringify` does.
 */
export function pyJsonDumps(value: unknown, options: PyJsonOptions = {}): string {
  const writer = new PyJsonWriter(options.sortKeys ?? true, options.indent);
  return writer.value(value, 0);
}

class PyJsonWriter {
  /** Containers on the path from the root to the current value, to refuse cycles as Python does. */
  private readonly open = new Set<object>();

  constructor(
    private readonly sortKeys: boolean,
    private readonly indent: number | undefined,
  ) {}

  value(value: unknown, depth: number): string {
    if (value === null) return 'null';
    switch (typeof value) {
      case 'string':
        return pyJsonString(value);
      case 'number':
        return pyNumber(value);
      case 'bigint':
        return value.toString();
      case 'boolean':
        return value ? 'true' : 'false';
      case 'object':
        return this.container(value, depth);
      default:
        throw new TypeError(`Object of type ${typeof value} is not JSON serializable`);
    }
  }

  private container(value: object, depth: number): string {
    if (this.open.has(value)) throw new TypeError('Circular reference detected');
    this.open.add(value);
    try {
      return Array.isArray(value) ? this.array(value, depth) : this.object(value, depth);
    } finally {
      this.open.delete(value);
    }
  }

  private array(items: readonly unknown[], depth: number): string {
    const parts = items.map((item) => this.value(item, depth + 1));
    return this.join('[', parts, ']', depth);
  }

  private object(obj: object, depth: number): string {
    const record = obj as Record<string, unknown>;
    const keys = Object.keys(record).filter((k) => record[k] !== undefined);
    if (this.sortKeys) keys.sort(compareCodePoints);
    const parts = keys.map((k) => `${pyJsonString(k)}: ${this.value(record[k], depth + 1)}`);
    return this.join('{', parts, '}', depth);
  }

  /** Python's layout: `[a, b]` on one line, or one item per line when `indent` is given. */
  private join(open: string, parts: string[], close: string, depth: number): string {
    if (parts.length === 0) return open + close;
    if (this.indent === undefined) return open + parts.join(', ') + close;
    const pad = (level: number) => `\n${' '.repeat(this.indent! * level)}`;
    return open + pad(depth + 1) + parts.join(`,${pad(depth + 1)}`) + pad(depth) + close;
  }
}

/** Strings with nothing to escape: printable ASCII other than `"` and `\`. The common case. */
const PLAIN_ASCII = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

const SHORT_ESCAPES: Record<number, string> = {
  34: '\\"',
  92: '\\\\',
  10: '\\n',
  13: '\\r',
  9: '\\t',
  8: '\\b',
  12: '\\f',
};

/**
 * A JSON string literal as Python writes it with `ensure_ascii=True`: short escapes for `" \ \n \r
 * \t \b \f`, `\uXXXX` (lowercase hex) for every other char outside 0x20–0x7E, and characters above
 * U+FFFF as their UTF-16 surrogate pair. JS strings are UTF-16 already, so escaping each code unit
 * gives exactly those pairs. `/` is not escaped.
 */
export function pyJsonString(s: string): string {
  if (PLAIN_ASCII.test(s)) return `"${s}"`;
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const unit = s.charCodeAt(i);
    const short = SHORT_ESCAPES[unit];
    if (short !== undefined) out += short;
    else if (unit >= 0x20 && unit <= 0x7e) out += s[i];
    else out += `\\u${unit.toString(16).padStart(4, '0')}`;
  }
  return `${out}"`;
}

/**
 * A number as Python prints it. JS has one number type, so integral values are printed as Python
 * prints an `int` (all digits, never an exponent); others as Python's `float.__repr__`.
 */
function pyNumber(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Number.POSITIVE_INFINITY) return 'Infinity';
  if (n === Number.NEGATIVE_INFINITY) return '-Infinity';
  if (Number.isInteger(n)) return BigInt(n).toString();
  return pyFloatRepr(n);
}

/**
 * Python's `repr(float)`: the shortest digits that round-trip (JS computes the same ones), written
 * in fixed notation when the decimal exponent is in [-4, 16), else as `d.ddde±XX`.
 */
function pyFloatRepr(n: number): string {
  const [mantissa = '', exp = '0'] = n.toExponential().split('e');
  const sign = mantissa.startsWith('-') ? '-' : '';
  const digits = mantissa.replace('-', '').replace('.', '');
  const e = Number(exp);
  if (e < -4 || e >= 16) {
    const frac = digits.length > 1 ? `.${digits.slice(1)}` : '';
    const expSign = e < 0 ? '-' : '+';
    return `${sign}${digits[0]}${frac}e${expSign}${String(Math.abs(e)).padStart(2, '0')}`;
  }
  if (e < 0) return `${sign}0.${'0'.repeat(-e - 1)}${digits}`;
  const intPart = digits.slice(0, e + 1).padEnd(e + 1, '0');
  const fracPart = digits.slice(e + 1) || '0';
  return `${sign}${intPart}.${fracPart}`;
}

const isHighSurrogate = (unit: number) => unit >= 0xd800 && unit <= 0xdbff;
const isLowSurrogate = (unit: number) => unit >= 0xdc00 && unit <= 0xdfff;

/**
 * Compares two strings by Unicode code point, as Python compares `str`. JS `<` and `sort()`
 * compare UTF-16 code units, which puts astral characters (stored as surrogates 0xD800–0xDFFF)
 * before U+E000–U+FFFF: JS says `😀` < `！`, Python (and DVC's manifest order) the opposite.
 * Returns a negative number, zero or a positive number, for `Array.prototype.sort`.
 */
export function compareCodePoints(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  // One is a prefix of the other. This also holds in code points when the prefix ends in half of
  // a pair: a lone high surrogate (U+D800–U+DBFF) sorts below any astral code point.
  if (i === n) return a.length - b.length;
  return codePointAround(a, i) - codePointAround(b, i);
}

/** The code point that the code unit at `i` belongs to (a whole surrogate pair counts as one). */
function codePointAround(s: string, i: number): number {
  const unit = s.charCodeAt(i);
  if (isLowSurrogate(unit) && i > 0 && isHighSurrogate(s.charCodeAt(i - 1))) {
    return s.codePointAt(i - 1)!;
  }
  if (isHighSurrogate(unit) && i + 1 < s.length && isLowSurrogate(s.charCodeAt(i + 1))) {
    return s.codePointAt(i)!;
  }
  return unit;
}
