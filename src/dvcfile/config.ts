/**
 * DVC's configobj-style INI files (`.dvc/config`, `.dvc/config.local`, global, system): reading
 * them as DVC does, and editing them line by line.
 *
 * Reading (dvc-compat §6.2): DVC lower-cases section names and keys on load, accepts
 * `[remote "x"]` and `['remote "x"']` alike, treats an unquoted value containing commas as a list,
 * and strips `# …` comments outside quotes.
 *
 * Editing: DVC rewrites the whole file from its parsed values, losing every comment. A
 * `ConfigDocument` instead keeps each line as written and only rewrites the lines an edit touches,
 * in DVC's style (`    key = value`, configobj quoting, `['remote "name"']` headers). New
 * sections go where DVC would put them (plain sections before `remote`, `machine`, `db` ones), so a
 * file without hand edits comes out byte-identical to DVC's.
 */
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { CpvError, errnoCode } from '../errors.js';
import { writeFileAtomic } from '../fsutil.js';
import { type ConfigValue, parseValueText, quoteOneLine, quoteValue, unquote } from './config-value.js';

export type { ConfigValue } from './config-value.js';
/** Section name (lower-cased, unquoted, e.g. `core`, `remote "storage"`) → key → value. */
export type ConfigData = Map<string, Map<string, ConfigValue>>;

/** configobj's section marker: indentation, `[`s, the (maybe quoted) name, `]`s, a comment. */
const SECTION_LINE =
  /^(\s*)((?:\[\s*)+)((?:"\s*\S.*?\s*")|(?:'\s*\S.*?\s*')|(?:[^'"\s].*?))((?:\s*\])+)\s*(#.*)?$/s;
/** configobj's `key = value` line: indentation, the (maybe quoted) key, the rest. */
const KEY_LINE = /^(\s*)((?:".*?")|(?:'.*?')|(?:[^'"=].*?))\s*=\s*(.*)$/s;
/** DVC's named sections (`dvc: dvc/config.py` `_parse_named`). */
const NAMED_SECTION = /^\s*(remote|machine|db)\s*"(.*)"\s*$/s;
const DEFAULT_INDENT = '    ';

/** One `key = value` (possibly spanning lines when triple-quoted) and the comment lines above it. */
interface Entry {
  lead: string[];
  key: string;
  value: ConfigValue;
  lines: string[];
  indent: string;
  /** Inline comment with the whitespace before it, re-attached when the value is rewritten. */
  comment: string;
}

interface Section {
  /** Comment and blank lines above the header (configobj attaches them to the section). */
  lead: string[];
  header: string;
  name: string;
  entries: Entry[];
  /** Comment lines left at the end of the section when the entries below them were removed. */
  tail: string[];
}

/** The canonical name DVC uses for a section: unquoted, lower-cased, `remote "name"` spacing. */
export function canonicalSectionName(raw: string): string {
  const name = unquote(raw).toLowerCase();
  const named = NAMED_SECTION.exec(name);
  return named ? `${named[1]} "${named[2]}"` : name;
}

/** `remote`, `machine` or `db` and the name, for a named section. */
export function splitNamedSection(name: string): { kind: string; name: string } | undefined {
  const named = NAMED_SECTION.exec(name);
  return named ? { kind: named[1]!, name: named[2]! } : undefined;
}

/** Where DVC writes a section: plain sections first, then remotes, machines, dbs. */
function sectionRank(name: string): number {
  const kind = splitNamedSection(name)?.kind;
  return kind === undefined ? 0 : kind === 'remote' ? 1 : kind === 'machine' ? 2 : 3;
}

function parseError(source: string, index: number, what: string): CpvError {
  return new CpvError('E_DVCFILE_PARSE', `${source}:${index + 1}: ${what}`, {
    hint: 'Config lines are `key = value` inside a [section]; fix or remove the line.',
  });
}

export class ConfigDocument {
  private constructor(
    private readonly preamble: string[],
    private readonly sections: Section[],
    private readonly trailer: string[],
    private readonly newline: string,
  ) {}

  static empty(): ConfigDocument {
    return new ConfigDocument([], [], [], '\n');
  }

  static parse(text: string, source: string): ConfigDocument {
    const newline = /\r\n|\n|\r/.exec(text)?.[0] ?? '\n';
    const lines = text.split(/\r\n|\n|\r/);
    if (lines[lines.length - 1] === '') lines.pop();
    const preamble: string[] = [];
    const sections: Section[] = [];
    let pending: string[] = [];
    let current: Section | undefined;
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      const trimmed = line.trim();
      if (trimmed === '' || trimmed.startsWith('#')) {
        pending.push(line);
        continue;
      }
      const header = SECTION_LINE.exec(line);
      if (header) {
        current = parseHeader(header, line, pending, sections, source, i);
        if (sections.length === 0) {
          preamble.push(...pending);
          current.lead = [];
        }
        sections.push(current);
        pending = [];
        continue;
      }
      const keyLine = KEY_LINE.exec(line);
      if (keyLine === null) throw parseError(source, i, `cannot parse config line '${trimmed}'`);
      if (current === undefined) throw parseError(source, i, `'${trimmed}' is not inside a [section]`);
      const entry = parseEntry(keyLine, lines, i, pending, source);
      if (current.entries.some((e) => e.key === entry.key)) {
        throw parseError(source, i, `duplicate option '${entry.key}' in [${current.name}]`);
      }
      current.entries.push(entry);
      i += entry.lines.length - 1;
      pending = [];
    }
    if (sections.length === 0) return new ConfigDocument(pending, [], [], newline);
    return new ConfigDocument(preamble, sections, pending, newline);
  }

  /** The file text: untouched lines as read, edited ones in DVC's style; ends with a newline. */
  toString(): string {
    const out = [...this.preamble];
    for (const section of this.sections) {
      out.push(...section.lead, section.header);
      for (const entry of section.entries) out.push(...entry.lead, ...entry.lines);
      out.push(...section.tail);
    }
    out.push(...this.trailer);
    // configobj writes a lone newline for an empty config.
    return out.join(this.newline) + this.newline;
  }

  /** Values by canonical section name and lower-cased key (DVC's view of the file). */
  data(): ConfigData {
    const data: ConfigData = new Map();
    for (const section of this.sections) {
      data.set(section.name, new Map(section.entries.map((e) => [e.key, e.value])));
    }
    return data;
  }

  hasSection(name: string): boolean {
    return this.find(name) !== undefined;
  }

  get(section: string, key: string): ConfigValue | undefined {
    return this.find(section)?.entries.find((e) => e.key === key)?.value;
  }

  /** Sets `key` in `section`, creating the section where DVC would put it. */
  set(section: string, key: string, value: ConfigValue): void {
    const target = this.find(section) ?? this.addSection(section);
    const text = `${quoteOneLine(key)} = ${quoteValue(value)}`;
    const existing = target.entries.find((e) => e.key === key);
    if (existing) {
      existing.value = value;
      existing.lines = [`${existing.indent}${text}${existing.comment}`];
      return;
    }
    const indent = target.entries[0]?.indent ?? DEFAULT_INDENT;
    target.entries.push({ lead: [], key, value, lines: [`${indent}${text}`], indent, comment: '' });
  }

  /**
   * Removes `key` from `section`; returns whether it was there. Comment lines above it stay. A
   * plain section left empty goes, as DVC drops empty sections.
   */
  unset(section: string, key: string): boolean {
    const target = this.find(section);
    const index = target?.entries.findIndex((e) => e.key === key) ?? -1;
    if (target === undefined || index < 0) return false;
    const [removed] = target.entries.splice(index, 1);
    const next = target.entries[index];
    if (next) next.lead.unshift(...removed!.lead);
    else target.tail.unshift(...removed!.lead);
    if (sectionRank(target.name) === 0 && target.entries.length === 0 && target.tail.every(isBlank)) {
      this.dropSection(target, true);
    }
    return true;
  }

  /** Removes every option of `section` (keeping the header and comments). */
  clearSection(section: string): void {
    const target = this.find(section);
    if (target === undefined) return;
    for (const entry of target.entries) target.tail.push(...entry.lead);
    target.entries = [];
  }

  /** Removes a section with its options and the comments above and inside it. */
  removeSection(name: string): boolean {
    const target = this.find(name);
    if (target === undefined) return false;
    this.dropSection(target, false);
    return true;
  }

  /**
   * Renames a section. DVC re-inserts a renamed remote after the other remotes, so cpv moves it
   * there too (with its comments), keeping files DVC wrote byte-identical to DVC's result.
   */
  renameSection(from: string, to: string): void {
    const target = this.find(from);
    if (target === undefined) return;
    this.sections.splice(this.sections.indexOf(target), 1);
    target.name = to;
    target.header = sectionHeader(to);
    this.sections.splice(this.insertionIndex(to), 0, target);
  }

  private find(name: string): Section | undefined {
    return this.sections.find((s) => s.name === name);
  }

  private addSection(name: string): Section {
    const section: Section = { lead: [], header: sectionHeader(name), name, entries: [], tail: [] };
    this.sections.splice(this.insertionIndex(name), 0, section);
    return section;
  }

  /** After the last section that DVC writes before or among `name`'s kind. */
  private insertionIndex(name: string): number {
    const rank = sectionRank(name);
    let index = 0;
    this.sections.forEach((s, i) => {
      if (sectionRank(s.name) <= rank) index = i + 1;
    });
    return index;
  }

  private dropSection(target: Section, keepLead: boolean): void {
    const index = this.sections.indexOf(target);
    this.sections.splice(index, 1);
    const kept = keepLead ? target.lead.filter((l) => !isBlank(l)) : [];
    if (kept.length === 0) return;
    const next = this.sections[index];
    if (next) next.lead.unshift(...kept);
    else if (index === 0) this.preamble.push(...kept);
    else this.trailer.unshift(...kept);
  }
}

function isBlank(line: string): boolean {
  return line.trim() === '';
}

/** DVC's header for a section: `[core]`, `['remote "name"']` (configobj quotes the `"`s). */
function sectionHeader(name: string): string {
  return `[${quoteOneLine(name)}]`;
}

function parseHeader(
  m: RegExpExecArray,
  line: string,
  lead: string[],
  sections: Section[],
  source: string,
  index: number,
): Section {
  const depth = (m[2] ?? '').split('[').length - 1;
  if (depth !== 1 || (m[4] ?? '').split(']').length - 1 !== 1) {
    throw parseError(source, index, `nested sections are not part of DVC's config: '${line.trim()}'`);
  }
  const name = canonicalSectionName(m[3] ?? '');
  if (sections.some((s) => s.name === name)) {
    throw parseError(source, index, `duplicate section [${name}]`);
  }
  return { lead, header: line, name, entries: [], tail: [] };
}

function parseEntry(
  m: RegExpExecArray,
  lines: string[],
  index: number,
  lead: string[],
  source: string,
): Entry {
  const [, indent = '', rawKey = '', rest = ''] = m;
  const parsed = parseValueText(rest, lines, index);
  if (parsed === undefined) {
    throw parseError(source, index, `cannot parse the value of '${rawKey.trim()}' (unbalanced quotes?)`);
  }
  return {
    lead,
    key: unquote(rawKey).toLowerCase(),
    value: parsed.value,
    lines: lines.slice(index, parsed.lastLine + 1),
    indent,
    comment: commentFrom(lines[parsed.lastLine]!, parsed.comment),
  };
}

/** The inline comment on an entry's last line with the whitespace before it, as written. */
function commentFrom(line: string, comment: string): string {
  if (comment === '') return '';
  const at = line.lastIndexOf(comment);
  let start = at;
  while (start > 0 && /\s/.test(line[start - 1]!)) start--;
  return line.slice(start);
}

export function parseConfig(text: string, source: string): ConfigData {
  return ConfigDocument.parse(text, source).data();
}

/** Reads a config file as a document; a missing file is an empty one. */
export function readConfigDocument(file: string): ConfigDocument {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return ConfigDocument.empty();
    throw new CpvError('E_IO', `cannot read config ${file}: ${(err as Error).message}`, { cause: err });
  }
  return ConfigDocument.parse(text, file);
}

/**
 * Writes a document atomically, creating the directory (global/system configs may have none yet).
 * An existing file keeps its mode; a new one gets `newFileMode` (or the umask default).
 */
export function writeConfigDocument(file: string, doc: ConfigDocument, newFileMode?: number): void {
  let mode = newFileMode;
  try {
    mode = statSync(file).mode & 0o7777;
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw ioError(file, err);
  }
  try {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileAtomic(file, doc.toString(), mode);
  } catch (err) {
    throw ioError(file, err);
  }
}

function ioError(file: string, err: unknown): CpvError {
  return new CpvError('E_IO', `cannot write config ${file}: ${(err as Error).message}`, {
    cause: err,
    hint: 'Check that the directory exists and is writable.',
  });
}

/** Reads a config file; a missing file is an empty config. */
export function readConfigFile(file: string): ConfigData {
  return readConfigDocument(file).data();
}

/** Merges config levels; later levels win key by key (DVC merges recursively). */
export function mergeConfigs(levels: ConfigData[]): ConfigData {
  const merged: ConfigData = new Map();
  for (const level of levels) {
    for (const [name, values] of level) {
      const target = merged.get(name) ?? new Map<string, ConfigValue>();
      for (const [key, value] of values) target.set(key, value);
      merged.set(name, target);
    }
  }
  return merged;
}

export function configString(data: ConfigData, section: string, key: string): string | undefined {
  const value = data.get(section)?.get(key);
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value.join(',') : value;
}

export function configList(data: ConfigData, section: string, key: string): string[] | undefined {
  const value = data.get(section)?.get(key);
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value : [value];
}

export function configBool(data: ConfigData, section: string, key: string): boolean | undefined {
  const value = configString(data, section, key);
  if (value === undefined) return undefined;
  return value.toLowerCase() === 'true';
}
