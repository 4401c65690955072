/**
 * Reading DVC's configobj-style INI files (`.dvc/config`, `.dvc/config.local`, global, system).
 *
 * DVC lower-cases section names and keys on load, accepts `[remote "x"]` and `['remote "x"']`
 * alike, treats an unquoted value containing commas as a list, and strips `# …` comments outside
 * quotes (dvc-compat §6.2). This module only reads; writing with comments kept belongs to the
 * remote/config commands.
 */
import { readFileSync } from 'node:fs';
import { CpvError, errnoCode } from '../errors.js';

export type ConfigValue = string | string[];
/** Section name (lower-cased, unquoted, e.g. `core`, `remote "storage"`) → key → value. */
export type ConfigData = Map<string, Map<string, ConfigValue>>;

const SECTION_LINE = /^\[\s*(.*?)\s*\]\s*(?:#.*)?$/;

export function parseConfig(text: string, source: string): ConfigData {
  const data: ConfigData = new Map();
  let section: Map<string, ConfigValue> | undefined;
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const header = SECTION_LINE.exec(line);
    if (header) {
      const name = unquoteSectionName(header[1] ?? '').toLowerCase();
      section = data.get(name) ?? new Map();
      data.set(name, section);
      return;
    }
    const eq = line.indexOf('=');
    if (eq <= 0 || section === undefined) {
      throw new CpvError('E_DVCFILE_PARSE', `${source}:${index + 1}: cannot parse config line '${line}'`, {
        hint: 'Config lines are `key = value` inside a [section]; fix or remove the line.',
      });
    }
    const key = line.slice(0, eq).trim().toLowerCase();
    section.set(key, parseValue(line.slice(eq + 1).trim()));
  });
  return data;
}

function unquoteSectionName(name: string): string {
  const q = name[0];
  if ((q === "'" || q === '"') && name.endsWith(q) && name.length >= 2) return name.slice(1, -1);
  return name;
}

/** A configobj value: quoted string, or bare text where commas make a list and `#` starts a comment. */
function parseValue(text: string): ConfigValue {
  const q = text[0];
  if (q === '"' || q === "'") {
    const end = text.indexOf(q, 1);
    if (end > 0) return text.slice(1, end);
  }
  const hash = text.indexOf('#');
  const bare = (hash >= 0 ? text.slice(0, hash) : text).trim();
  if (bare.includes(',')) {
    return bare
      .split(',')
      .map((part) => part.trim())
      .filter((part) => part !== '');
  }
  return bare;
}

/** Reads a config file; a missing file is an empty config. */
export function readConfigFile(path: string): ConfigData {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return new Map();
    throw new CpvError('E_IO', `cannot read config ${path}: ${(err as Error).message}`, { cause: err });
  }
  return parseConfig(text, path);
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
