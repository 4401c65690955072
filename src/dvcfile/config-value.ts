/**
 * One value in DVC's config dialect (configobj 5, dvc-compat §6.2): how its text reads back and how
 * a value must be quoted to be written. The patterns follow configobj's grammar (its value, list
 * item and triple-quote rules), so a value means the same thing to cpv and to DVC. Values are read
 * one line at a time (lines never hold `\n`), so the `s` flag only makes `.` also match `\r` and
 * the Unicode line separators, as Python's `.` does.
 */
import { CpvError } from '../errors.js';

/** A config value: a string, or a list when the file has an unquoted comma list (`a, b`). */
export type ConfigValue = string | string[];

/** Groups: 1 list items ending in a comma, 2 the last item or single value, 3 a lone comma, 4 comment. */
const VALUE =
  /^(?:((?:(?:(?:".*?")|(?:'.*?')|(?:[^'",#][^,#]*?))\s*,\s*)*)((?:".*?")|(?:'.*?')|(?:[^'",#\s][^,]*?)|(?:(?<!,)))?|(,))\s*(#.*)?$/s;
const LIST_ITEM = /((?:".*?")|(?:'.*?')|(?:[^'",#]?.*?))\s*,\s*/gs;
const TRIPLE_ONE_LINE: Record<string, RegExp> = {
  '"""': /^"""(.*?)"""\s*(#.*)?$/s,
  "'''": /^'''(.*?)'''\s*(#.*)?$/s,
};
const TRIPLE_LAST_LINE: Record<string, RegExp> = {
  '"""': /^(.*?)"""\s*(#.*)?$/s,
  "'''": /^(.*?)'''\s*(#.*)?$/s,
};

/** A value read from the file, the inline comment after it (or ''), and the last line it used. */
export interface ParsedValue {
  value: ConfigValue;
  comment: string;
  lastLine: number;
}

/** configobj's unquoting: strips one pair of matching outer quotes. */
export function unquote(text: string): string {
  const q = text[0];
  if (text.length >= 2 && (q === '"' || q === "'") && text.endsWith(q)) return text.slice(1, -1);
  return text;
}

/**
 * Reads the value starting with `rest` (the text after `=` on line `index`). A triple-quoted value
 * may continue on the following lines, hence the whole `lines` array. Returns undefined for text
 * configobj rejects (an unclosed quote, an empty list item); the caller knows the file and line.
 */
export function parseValueText(
  rest: string,
  lines: readonly string[],
  index: number,
): ParsedValue | undefined {
  const triple = rest.slice(0, 3);
  if (triple === '"""' || triple === "'''") return parseTriple(triple, rest, lines, index);
  const m = VALUE.exec(rest);
  if (m === null) return undefined;
  const [, listPart, single, emptyList, comment = ''] = m;
  if (emptyList !== undefined) return { value: [], comment, lastLine: index };
  if (listPart === undefined || listPart === '') {
    return { value: unquote(single || '""'), comment, lastLine: index };
  }
  const raw = [...listPart.matchAll(LIST_ITEM)].map((item) => item[1] ?? '');
  // configobj refuses an empty item (`a,,b`).
  if (raw.some((item) => item === '')) return undefined;
  const items = raw.map(unquote);
  // The pattern also matches '' after a trailing comma; that is not an item.
  if (single) items.push(unquote(single));
  return { value: items, comment, lastLine: index };
}

function parseTriple(quote: string, rest: string, lines: readonly string[], index: number) {
  const oneLine = TRIPLE_ONE_LINE[quote]!.exec(rest);
  if (oneLine) return { value: oneLine[1] ?? '', comment: oneLine[2] ?? '', lastLine: index };
  let value = rest.slice(3);
  if (value.includes(quote)) return undefined;
  for (let i = index + 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (!line.includes(quote)) {
      value += `\n${line}`;
      continue;
    }
    const last = TRIPLE_LAST_LINE[quote]!.exec(line);
    if (last === null) return undefined;
    return { value: `${value}\n${last[1] ?? ''}`, comment: last[2] ?? '', lastLine: i };
  }
  return undefined; // the file ended inside the value
}

/**
 * The text configobj writes for `value`: bare when nothing could be misread, else `"…"`, or `'…'`
 * when the value holds `"`, or triple quotes when it holds both quote kinds or a newline. One
 * deliberate difference: any whitespace at either end forces quotes (configobj only checks ASCII
 * whitespace, so a value with a leading no-break space would not read back).
 */
export function quoteValue(value: ConfigValue): string {
  if (Array.isArray(value)) {
    if (value.length === 0) return ',';
    if (value.length === 1) return `${quoteOneLine(value[0]!)},`;
    return value.map(quoteOneLine).join(', ');
  }
  if (value === '') return '""';
  if (value.includes('\n') || (value.includes('"') && value.includes("'"))) return tripleQuote(value);
  return quoteOneLine(value);
}

/** Quoting without triple quotes: list items, keys and section names. */
export function quoteOneLine(value: string): string {
  if (value === '') return '""';
  if (/[\n\r]/.test(value)) throw unquotable(value, 'a line break');
  const needsQuotes = /^[\s'"]|[\s'"]$/.test(value) || value.includes(',') || value.includes('#');
  if (!needsQuotes) return value;
  if (value.includes('"') && value.includes("'")) throw unquotable(value, 'both quote kinds');
  return value.includes('"') ? `'${value}'` : `"${value}"`;
}

function tripleQuote(value: string): string {
  if (value.includes('\r')) throw unquotable(value, 'a carriage return');
  if (!value.includes('"""')) return `"""${value}"""`;
  if (!value.includes("'''")) return `'''${value}'''`;
  throw unquotable(value, 'both """ and \'\'\'');
}

function unquotable(value: string, why: string): CpvError {
  return new CpvError(
    'E_CONFIG_VALUE',
    `${JSON.stringify(value)} cannot be written to a config file: it has ${why}`,
    { hint: 'DVC config files (configobj) cannot quote such text; choose one without it.' },
  );
}
