/**
 * DVC's YAML dialect (dvc-compat §1.7), for reading and writing `.dvc`, `dvc.yaml` and `dvc.lock`.
 *
 * Reading: YAML 1.2 core schema (the `yaml` package), with errors turned into CpvError
 * `E_DVCFILE_PARSE` that name the file and the 1-based line.
 *
 * Writing: DVC dumps with ruamel.yaml, so every string is rendered the way ruamel's emitter
 * renders it. That is the part this module owns: which strings stay plain, which get single or
 * double quotes, and how long ones fold at 80 columns. The rules below are a port of ruamel's
 * `Resolver` (1.2 implicit resolvers) and `Emitter` (`analyze_scalar`, `choose_scalar_style`,
 * `write_plain`, `write_single_quoted`, `write_double_quoted`). Everything else about layout
 * (block style, `outs:\n- md5: ...` with unindented sequences, comments) is left to the `yaml`
 * package's stringifier, which we plug into through a replacement `str` tag.
 */
import {
  Document,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseDocument,
  Scalar,
  type ScalarTag,
  type Tags,
  type ToStringOptions,
  type YAMLMap,
} from 'yaml';
import { CpvError } from '../errors.js';

// ---------------------------------------------------------------------------------------------
// Which plain scalars are NOT strings (ruamel's YAML 1.2 implicit resolvers)
// ---------------------------------------------------------------------------------------------

/**
 * ruamel's 1.2 resolvers, wider than the YAML 1.2 core schema: ints and floats accept `_`
 * (`1_000`), `0o?` octals, timestamps, `=` and `<<` also resolve. ruamel quotes a string whenever
 * its plain form would match one of these, so we must too (or `'1_000'` would come out bare).
 */
const NON_STRING_PLAIN: readonly RegExp[] = [
  /^(?:true|True|TRUE|false|False|FALSE)$/, // bool
  /^(?:[-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+]?[0-9]+)?|[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+|[-+]?\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/, // float
  /^(?:[-+]?0b[0-1_]+|[-+]?0o?[0-7_]+|[-+]?[0-9_]+|[-+]?0x[0-9a-fA-F_]+)$/, // int
  /^(?:<<)$/, // merge
  /^(?:~|null|Null|NULL|)$/, // null (the empty string too)
  /^(?:[0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?)$/, // timestamp
  /^(?:=)$/, // value
  /^(?:!|&|\*)$/, // yaml
];

/** True when `text`, written without quotes, would load as something other than a string. */
export function resolvesToNonString(text: string): boolean {
  return NON_STRING_PLAIN.some((re) => re.test(text));
}

// ---------------------------------------------------------------------------------------------
// Which styles a string allows (ruamel `analyze_scalar`)
// ---------------------------------------------------------------------------------------------

interface ScalarAnalysis {
  empty: boolean;
  multiline: boolean;
  allowFlowPlain: boolean;
  allowBlockPlain: boolean;
  allowSingleQuoted: boolean;
}

const SPACE_OR_BREAK = new Set(['\0', ' ', '\t', '\r', '\n', '\x85', '\u2028', '\u2029']);

/**
 * Characters written raw by ruamel (allow_unicode is on). Everything else is "special" and forces
 * double quotes with an escape. Simplification: ruamel treats U+0085/U+2028/U+2029 as line breaks
 * inside single-quoted scalars; we double-quote (and escape) them instead, which is valid YAML
 * for the same string and spares us ruamel's multi-line quoted writer.
 */
function isRawPrintable(cp: number): boolean {
  if (cp === 0x0a || (cp >= 0x20 && cp <= 0x7e)) return true;
  if (cp === 0xfeff || cp === 0x85 || cp === 0x2028 || cp === 0x2029) return false;
  return (cp >= 0xa0 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
}

function analyzeScalar(text: string): ScalarAnalysis {
  if (text === '') {
    return {
      empty: true,
      multiline: false,
      allowFlowPlain: false,
      allowBlockPlain: true,
      allowSingleQuoted: true,
    };
  }
  const chars = Array.from(text); // code points, like Python's str
  let flowIndicators = false;
  let blockIndicators = false;
  let lineBreaks = false;
  let special = false;
  if (text.startsWith('---') || text.startsWith('...')) {
    flowIndicators = true;
    blockIndicators = true;
  }
  let precededBySpace = true;
  let previousSpace = false;
  let previousBreak = false;
  let breakSpace = false;
  let spaceBreak = false;
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!;
    const followedBySpace = i + 1 >= chars.length || SPACE_OR_BREAK.has(chars[i + 1]!);
    if (i === 0) {
      if ('#,[]{}&*!|>\'"%@`'.includes(ch)) {
        flowIndicators = true;
        blockIndicators = true;
      }
      if (ch === '?' || ch === ':') {
        if (chars.length === 1) flowIndicators = true;
        if (followedBySpace) blockIndicators = true;
      }
      if (ch === '-' && followedBySpace) {
        flowIndicators = true;
        blockIndicators = true;
      }
    } else {
      if (',[]{}'.includes(ch)) flowIndicators = true;
      if ((ch === ':' && followedBySpace) || (ch === '#' && precededBySpace)) {
        flowIndicators = true;
        blockIndicators = true;
      }
    }
    if (ch === '\n') lineBreaks = true;
    if (!isRawPrintable(ch.codePointAt(0)!)) special = true;
    if (ch === ' ') {
      if (previousBreak) breakSpace = true;
      previousSpace = true;
      previousBreak = false;
    } else if (ch === '\n') {
      if (previousSpace) spaceBreak = true;
      previousSpace = false;
      previousBreak = true;
    } else {
      previousSpace = false;
      previousBreak = false;
    }
    precededBySpace = SPACE_OR_BREAK.has(ch);
  }
  const edgeWhitespace = /^[ \n]|[ \n]$/.test(text);
  const plainOk = !edgeWhitespace && !breakSpace && !special && !spaceBreak && !lineBreaks;
  return {
    empty: false,
    multiline: lineBreaks,
    allowFlowPlain: plainOk && !flowIndicators,
    allowBlockPlain: plainOk && !blockIndicators,
    allowSingleQuoted: !breakSpace && !special && !spaceBreak,
  };
}

// ---------------------------------------------------------------------------------------------
// Choosing a style (ruamel `choose_scalar_style`)
// ---------------------------------------------------------------------------------------------

export type ScalarStyle = 'plain' | 'single' | 'double';

export interface ScalarContext {
  /** The scalar is a mapping key (ruamel's "simple key"): never multi-line, never folded. */
  key?: boolean;
  /** Inside a flow collection (`[a, b]`, `{a: b}`). */
  flow?: boolean;
}

/**
 * The style ruamel picks for a string: plain if that reads back as the same string, else single
 * quotes, except that strings holding a `'` or a newline go double-quoted (ruamel prefers `"it's"`
 * over `'it''s'`, which is why DVC writes `cmd: "printf '...'"`).
 */
export function chooseScalarStyle(text: string, ctx: ScalarContext = {}): ScalarStyle {
  const a = analyzeScalar(text);
  const plainAllowed = ctx.flow ? a.allowFlowPlain : a.allowBlockPlain;
  const keyForbids = ctx.key === true && (a.empty || a.multiline);
  if (plainAllowed && !keyForbids && !resolvesToNonString(text)) return 'plain';
  if (text.includes("'") || text.includes('\n')) return 'double';
  if (a.allowSingleQuoted && !(ctx.key === true && a.multiline)) return 'single';
  return 'double';
}

// ---------------------------------------------------------------------------------------------
// Writing a scalar with ruamel's folding (best_width 80)
// ---------------------------------------------------------------------------------------------

export interface ScalarLayout {
  /** Column where the scalar's first character goes (0-based). */
  column: number;
  /** Indentation of continuation lines. */
  indent: number;
  /** Fold long lines (ruamel: false for mapping keys). */
  split: boolean;
  /** ruamel's best_width. */
  width?: number;
}

const DOUBLE_QUOTED_ESCAPES: Readonly<Record<string, string>> = {
  '\0': '0',
  '\x07': 'a',
  '\b': 'b',
  '\t': 't',
  '\n': 'n',
  '\v': 'v',
  '\f': 'f',
  '\r': 'r',
  '\x1b': 'e',
  '"': '"',
  '\\': '\\',
  '\x85': 'N',
  '\xa0': '_',
  '\u2028': 'L',
  '\u2029': 'P',
};

/** Appends text while tracking the column, like ruamel's emitter state. */
class ScalarWriter {
  out = '';
  private column: number;
  private whitespace = true;
  private indention = false;

  constructor(private readonly layout: Required<ScalarLayout>) {
    this.column = layout.column;
  }

  write(chars: string[] | string): void {
    const text = typeof chars === 'string' ? chars : chars.join('');
    this.out += text;
    this.column += Array.from(text).length;
  }

  /** True when the text written so far has run past the width (a fold is due). */
  overflows(extra = 0): boolean {
    return this.layout.split && this.column + extra > this.layout.width;
  }

  /** ruamel `write_indent`: new line (unless already at the indent), then pad to the indent. */
  newLine(): void {
    const indent = this.layout.indent;
    if (!this.indention || this.column > indent || (this.column === indent && !this.whitespace)) {
      this.out += '\n';
      this.column = 0;
      this.whitespace = true;
      this.indention = true;
    }
    if (this.column < indent) {
      this.out += ' '.repeat(indent - this.column);
      this.column = indent;
      this.whitespace = true;
    }
    // Text follows on the new line, so the position is no longer "at indentation".
    this.whitespace = false;
    this.indention = false;
  }
}

/** ruamel `write_plain`: words separated by single spaces may break onto a new line. */
function writePlain(w: ScalarWriter, chars: string[]): void {
  let start = 0;
  let spaces = false;
  for (let end = 0; end <= chars.length; end++) {
    const ch = chars[end];
    if (spaces) {
      if (ch !== ' ') {
        if (start + 1 === end && w.overflows()) w.newLine();
        else w.write(chars.slice(start, end));
        start = end;
      }
    } else if (ch === undefined || ch === ' ') {
      w.write(chars.slice(start, end));
      start = end;
    }
    if (ch !== undefined) spaces = ch === ' ';
  }
}

/** ruamel `write_single_quoted`: `'` doubled; folds at a single inner space. */
function writeSingleQuoted(w: ScalarWriter, chars: string[]): void {
  w.write("'");
  let start = 0;
  let spaces = false;
  for (let end = 0; end <= chars.length; end++) {
    const ch = chars[end];
    if (spaces) {
      if (ch !== ' ') {
        const fold = start + 1 === end && w.overflows() && start !== 0 && end !== chars.length;
        if (fold) w.newLine();
        else w.write(chars.slice(start, end));
        start = end;
      }
    } else if ((ch === undefined || ch === ' ' || ch === "'") && start < end) {
      w.write(chars.slice(start, end));
      start = end;
    }
    if (ch === "'") {
      w.write("''");
      start = end + 1;
    }
    if (ch !== undefined) spaces = ch === ' ';
  }
  w.write("'");
}

function escapeForDoubleQuotes(ch: string): string {
  const named = DOUBLE_QUOTED_ESCAPES[ch];
  if (named !== undefined) return `\\${named}`;
  const cp = ch.codePointAt(0)!;
  const hex = cp.toString(16).toUpperCase();
  if (cp <= 0xff) return `\\x${hex.padStart(2, '0')}`;
  if (cp <= 0xffff) return `\\u${hex.padStart(4, '0')}`;
  return `\\U${hex.padStart(8, '0')}`;
}

/** Written raw inside double quotes; note that characters beyond the BMP are escaped here. */
function isRawInDoubleQuotes(ch: string): boolean {
  if ('"\\\x85\u2028\u2029\ufeff'.includes(ch)) return false;
  const cp = ch.codePointAt(0)!;
  return (cp >= 0x20 && cp <= 0x7e) || (cp >= 0xa0 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd);
}

/**
 * ruamel `write_double_quoted`: escapes as needed; a long line breaks with a trailing `\` and,
 * when the continuation starts with a space, a leading `\` so the space survives
 * (`printf\` / `      \ y > outdir/y` in dvc-compat §2).
 */
function writeDoubleQuoted(w: ScalarWriter, chars: string[]): void {
  w.write('"');
  let start = 0;
  for (let end = 0; end <= chars.length; end++) {
    const ch = chars[end];
    if (ch === undefined || !isRawInDoubleQuotes(ch)) {
      if (start < end) {
        w.write(chars.slice(start, end));
        start = end;
      }
      if (ch !== undefined) {
        w.write(escapeForDoubleQuotes(ch));
        start = end + 1;
      }
    }
    const breakable = end > 0 && end < chars.length - 1 && (ch === ' ' || start >= end);
    if (breakable && w.overflows(end - start)) {
      w.write([...chars.slice(start, end), '\\']);
      if (start < end) start = end;
      w.newLine();
      if (chars[start] === ' ') w.write('\\');
    }
  }
  w.write('"');
}

/** Renders `text` in `style` as ruamel would at the given position (may span several lines). */
export function renderScalar(text: string, style: ScalarStyle, layout: ScalarLayout): string {
  const w = new ScalarWriter({ width: 80, ...layout });
  const chars = Array.from(text);
  if (style === 'plain') writePlain(w, chars);
  else if (style === 'single') writeSingleQuoted(w, chars);
  else writeDoubleQuoted(w, chars);
  return w.out;
}

// ---------------------------------------------------------------------------------------------
// Plugging the rules into the `yaml` package
// ---------------------------------------------------------------------------------------------

const STR_TAG = 'tag:yaml.org,2002:str';
const NUMBER_TAGS = new Set(['tag:yaml.org,2002:int', 'tag:yaml.org,2002:float']);

type StringifyFn = NonNullable<ScalarTag['stringify']>;

function isScalarTag(tag: Tags[number]): tag is ScalarTag {
  return typeof tag === 'object' && tag !== null && !('collection' in tag && tag.collection !== undefined);
}

/** Strings go through ruamel's rules; block scalars (`|`, `>`) keep the package's own writer. */
function dvcStringify(base: ScalarTag): StringifyFn {
  return (item, ctx, onComment, onChompKeep) => {
    if (item.type === Scalar.BLOCK_LITERAL || item.type === Scalar.BLOCK_FOLDED) {
      return base.stringify ? base.stringify(item, ctx, onComment, onChompKeep) : String(item.value);
    }
    const text = String(item.value);
    const key = ctx.implicitKey === true;
    const flow = ctx.inFlow === true;
    const style = chooseScalarStyle(text, { key, flow });
    // ctx.indent is already one step deeper than the mapping (or is the sequence item column);
    // indentAtStart is the width of `key: ` when the scalar is a mapping value.
    const indent = ctx.indent.length;
    const column =
      ctx.indentAtStart === undefined ? indent : indent - ctx.indentStep.length + ctx.indentAtStart;
    return renderScalar(text, style, { column, indent, split: !key && !flow });
  };
}

/**
 * Numbers keep the spelling they were read with (`2.0`, `0o17`, `1e3`), as ruamel's round trip
 * does. `source` is only set on parsed nodes, and edits replace nodes instead of changing their
 * value, so a node's source always spells its value.
 */
function keepNumberSource(base: ScalarTag): StringifyFn {
  return (item, ctx, onComment, onChompKeep) => {
    if (typeof item.source === 'string' && item.type === Scalar.PLAIN) return item.source;
    return base.stringify ? base.stringify(item, ctx, onComment, onChompKeep) : String(item.value);
  };
}

/**
 * The core schema reads `.5e3` as a float; ruamel (and so DVC) needs a sign in the exponent after
 * a leading dot (`.5e+3`) and reads `.5e3` as a string. Following ruamel keeps every string our
 * writer leaves plain a string when read back.
 */
const RUAMEL_FLOAT_EXP = /^[-+]?(?:[0-9]+(?:\.[0-9]*)?[eE][-+]?[0-9]+|\.[0-9]+[eE][-+][0-9]+)$/;

/** The core schema's tags with our writers swapped in; parsing is the core schema's. */
function dvcTags(tags: Tags): Tags {
  return tags.map((tag) => {
    if (!isScalarTag(tag)) return tag;
    if (tag.tag === STR_TAG) return { ...tag, stringify: dvcStringify(tag) };
    if (!NUMBER_TAGS.has(tag.tag)) return tag;
    const test = tag.format === 'EXP' ? RUAMEL_FLOAT_EXP : tag.test;
    return { ...tag, test, stringify: keepNumberSource(tag) };
  });
}

const DOCUMENT_OPTIONS = { version: '1.2', schema: 'core', customTags: dvcTags } as const;

/** Layout of ruamel's round-trip dumper as DVC configures it. */
const TO_STRING_OPTIONS: ToStringOptions = {
  indent: 2,
  indentSeq: false, // `outs:\n- md5: ...`
  flowCollectionPadding: false, // `[a, b]`, not `[ a, b ]`
  nullStr: '', // ruamel writes `key:` for None
  lineWidth: 80,
};

/** A parsed YAML file: the document plus what is needed to point at a line in it. */
export class YamlSource {
  constructor(
    readonly file: string,
    readonly doc: Document.Parsed,
    private readonly lines: LineCounter,
  ) {}

  /** 1-based line of a parsed node (line 1 for nodes without a position). */
  lineOf(node: Node | null | undefined): number {
    const offset = node?.range?.[0];
    return offset === undefined ? 1 : this.lines.linePos(offset).line;
  }

  /** A schema error at `node`: `data.dvc:3: outs[0].size must be an integer`. */
  schemaError(node: Node | null | undefined, message: string): CpvError {
    return new CpvError('E_DVCFILE_SCHEMA', `${this.file}:${this.lineOf(node)}: ${message}`, {
      hint: 'Fix the file by hand (see the DVC file format) or restore it from git.',
    });
  }
}

/** Deeper than any file DVC writes by orders of magnitude; deep enough to stop parser blow-ups. */
const MAX_FLOW_DEPTH = 256;
const MAX_INDENT = 1024;

/**
 * Refuses shapes that make the YAML parser's cost explode before parsing: the package compiles
 * regular expressions per nesting level, and ten thousand nested `[` exhaust V8's memory (the
 * process dies, no exception to catch). The scan ignores quoting, so a bracket inside a quoted
 * string counts too; no real file comes near the limits either way.
 */
function refuseHostileShape(text: string, file: string): void {
  let depth = 0;
  let indent = 0;
  let atLineStart = true;
  let line = 1;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10 /* \n */) {
      line++;
      indent = 0;
      atLineStart = true;
      continue;
    }
    if (atLineStart && c === 32 /* space */) {
      if (++indent > MAX_INDENT) throw shapeError(file, line, `indented more than ${MAX_INDENT} columns`);
      continue;
    }
    atLineStart = false;
    if (c === 91 /* [ */ || c === 123 /* { */) {
      if (++depth > MAX_FLOW_DEPTH)
        throw shapeError(file, line, `nested deeper than ${MAX_FLOW_DEPTH} levels`);
    } else if ((c === 93 /* ] */ || c === 125) /* } */ && depth > 0) {
      depth--;
    }
  }
}

function shapeError(file: string, line: number, what: string): CpvError {
  return new CpvError('E_DVCFILE_PARSE', `${file}:${line}: invalid YAML: ${what}`, {
    hint: 'This is not a file DVC or cpv wrote; restore it from git.',
  });
}

/** Parses YAML 1.2 (core schema). Malformed YAML → CpvError E_DVCFILE_PARSE naming file and line. */
export function loadYaml(text: string, file: string): YamlSource {
  refuseHostileShape(text, file);
  const lines = new LineCounter();
  const doc = parseDocument(text, {
    ...DOCUMENT_OPTIONS,
    lineCounter: lines,
    prettyErrors: true,
    uniqueKeys: true,
  });
  const error = doc.errors[0];
  if (error !== undefined) {
    const line = error.linePos?.[0].line ?? lines.linePos(error.pos[0]).line;
    // The package's message ends with " at line N, column M:" and a code excerpt; keep the gist.
    const gist = (error.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
    throw new CpvError('E_DVCFILE_PARSE', `${file}:${line}: invalid YAML: ${gist}`, {
      hint: 'Fix the YAML syntax by hand or restore the file from git.',
      cause: error,
    });
  }
  return new YamlSource(file, doc, lines);
}

/** A new document for `value` that renders with DVC's rules. */
export function newYamlDocument(value: unknown): Document {
  return new Document(value, DOCUMENT_OPTIONS);
}

/** Renders a document (parsed with `loadYaml` or made with `newYamlDocument`) the way DVC dumps it. */
export function renderYaml(doc: Document): string {
  return doc.toString(TO_STRING_OPTIONS);
}

// ---------------------------------------------------------------------------------------------
// Reading typed fields with located errors
// ---------------------------------------------------------------------------------------------

/**
 * Reads one value of a DVC file. `where` names it for messages (`outs[0].size`). Returns
 * `undefined` only where the schema lets a value be empty (then the key is treated as absent).
 */
export type FieldReader<T> = (src: YamlSource, node: unknown, where: string) => T;

/** The node behind an alias (`*anchor`), or the node itself. */
function deref(src: YamlSource, node: unknown): unknown {
  return isAlias(node) ? node.resolve(src.doc) : node;
}

/** `outs` + `size` → `outs.size`; the top level has no prefix. */
export function fieldPath(where: string, key: string): string {
  return where === '' ? key : `${where}.${key}`;
}

export const readString: FieldReader<string> = (src, raw, where) => {
  const node = deref(src, raw);
  if (isScalar(node) && typeof node.value === 'string') return node.value;
  // DVC reads with ruamel, whose 1.2 resolver keeps a few plain scalars as strings that the core
  // schema turns into numbers (`.5e3`); accept their text as DVC would.
  if (isScalar(node) && node.type === Scalar.PLAIN && typeof node.source === 'string') {
    if (!resolvesToNonString(node.source)) return node.source;
  }
  throw src.schemaError(node as Node, `${where} must be a string`);
};

export const readInteger: FieldReader<number> = (src, raw, where) => {
  const node = deref(src, raw);
  if (isScalar(node) && typeof node.value === 'number' && Number.isInteger(node.value)) return node.value;
  throw src.schemaError(node as Node, `${where} must be an integer`);
};

export const readBoolean: FieldReader<boolean> = (src, raw, where) => {
  const node = deref(src, raw);
  if (isScalar(node) && typeof node.value === 'boolean') return node.value;
  throw src.schemaError(node as Node, `${where} must be a boolean (true or false)`);
};

/** Any YAML value, as plain JavaScript (`meta`, `params` values, ...). */
export const readAny: FieldReader<unknown> = (src, node) => (isScalar(node) ? node.value : toJs(src, node));

export const readMapping: FieldReader<Record<string, unknown>> = (src, raw, where) => {
  const node = deref(src, raw);
  if (!isMap(node)) throw src.schemaError(node as Node, `${where} must be a mapping`);
  return toJs(src, node) as Record<string, unknown>;
};

export const readList: FieldReader<unknown[]> = (src, raw, where) => {
  const node = deref(src, raw);
  if (!isSeq(node)) throw src.schemaError(node as Node, `${where} must be a list`);
  return toJs(src, node) as unknown[];
};

function toJs(src: YamlSource, node: unknown): unknown {
  if (node === null || node === undefined) return null;
  try {
    return (node as Node).toJS(src.doc);
  } catch (err) {
    // The YAML package throws here for what only shows when values are built, such as an alias
    // nested in the value whose anchor is never set: a fault of the file, reported as one.
    throw src.schemaError(node as Node, String((err as Error).message).split('\n')[0] ?? '');
  }
}

/** A list whose items are each read with `item` (`outs[0]`, `outs[1]`, ...). */
export function listOf<T>(item: FieldReader<T>): FieldReader<T[]> {
  return (src, raw, where) => {
    const node = deref(src, raw);
    if (!isSeq(node)) throw src.schemaError(node as Node, `${where} must be a list`);
    return node.items.map((child, i) => item(src, child, `${where}[${i}]`));
  };
}

/** `null` (or `key:` with nothing after it) reads as absent; anything else goes to `reader`. */
export function nullable<T>(reader: FieldReader<T>): FieldReader<T | undefined> {
  return (src, raw, where) => {
    const node = deref(src, raw);
    if (node === null || (isScalar(node) && node.value === null)) return undefined;
    return reader(src, node, where);
  };
}

/** The first reader that accepts the value; the message lists what was expected. */
export function either<T>(expected: string, ...readers: FieldReader<T>[]): FieldReader<T> {
  return (src, raw, where) => {
    for (const reader of readers) {
      try {
        return reader(src, raw, where);
      } catch {
        // try the next shape
      }
    }
    throw src.schemaError(deref(src, raw) as Node, `${where} must be ${expected}`);
  };
}

export type FieldSpec = Readonly<Record<string, FieldReader<unknown>>>;

/** The mapping at `node`, or a located error. */
export function expectMapping(src: YamlSource, raw: unknown, where: string): YAMLMap {
  const node = deref(src, raw);
  if (!isMap(node))
    throw src.schemaError(node as Node, `${where === '' ? 'the file' : where} must be a mapping`);
  return node;
}

/** The string keys of a mapping with their pairs, in file order; non-string keys are errors. */
export function mappingEntries(
  src: YamlSource,
  map: YAMLMap,
  where: string,
): Array<[string, unknown, unknown]> {
  return map.items.map((pair) => {
    const key = deref(src, pair.key);
    if (!isScalar(key) || typeof key.value !== 'string') {
      throw src.schemaError(key as Node, `${where === '' ? 'top-level' : where} keys must be strings`);
    }
    return [key.value, key, pair.value];
  });
}

/**
 * Reads a mapping whose keys are fixed by `spec`: unknown keys and missing `required` keys are
 * errors (DVC's schemas reject extra keys). Values that read as `undefined` are left out.
 */
export function readFields(
  src: YamlSource,
  raw: unknown,
  where: string,
  spec: FieldSpec,
  required: readonly string[] = [],
): Record<string, unknown> {
  const map = expectMapping(src, raw, where);
  const result: Record<string, unknown> = {};
  for (const [key, keyNode, valueNode] of mappingEntries(src, map, where)) {
    const reader = Object.hasOwn(spec, key) ? spec[key] : undefined; // not `toString` & co.
    if (reader === undefined)
      throw src.schemaError(keyNode as Node, `${fieldPath(where, key)} is not a known key`);
    const value = reader(src, valueNode, fieldPath(where, key));
    if (value !== undefined) result[key] = value;
  }
  for (const key of required) {
    if (!Object.hasOwn(result, key)) throw src.schemaError(map, `${fieldPath(where, key)} is required`);
  }
  return result;
}
