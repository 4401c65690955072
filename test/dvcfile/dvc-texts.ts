/**
 * Every `.dvc`, `dvc.yaml` and `dvc.lock` text real DVC wrote, gathered from fixtures/dvc:
 * the vectors and the fixture repositories' JSON (`files`, `commands.show_*`, `files_after`,
 * `expect.pipeline_steps`, `run_cache`). Duplicates are dropped; `name` says where a text came from.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FIXTURES, loadVectors } from '../helpers/vectors.js';

export type TextKind = 'dvc' | 'dvc.yaml' | 'dvc.lock' | 'run-cache';

export interface DvcText {
  name: string;
  kind: TextKind;
  text: string;
}

function kindOf(file: string): TextKind | undefined {
  if (file.endsWith('.dvc')) return 'dvc';
  if (path.basename(file) === 'dvc.yaml') return 'dvc.yaml';
  if (path.basename(file) === 'dvc.lock') return 'dvc.lock';
  return undefined;
}

function fromVectors(): DvcText[] {
  const out: DvcText[] = [];
  for (const v of loadVectors()) {
    const e = v.expect;
    if (typeof e.dvc_file_text === 'string')
      out.push({ name: `${v.id} expect`, kind: 'dvc', text: e.dvc_file_text });
    if (typeof e.dvc_lock_text === 'string')
      out.push({ name: `${v.id} lock`, kind: 'dvc.lock', text: e.dvc_lock_text });
    if (typeof e.dvc_yaml_text === 'string')
      out.push({ name: `${v.id} yaml`, kind: 'dvc.yaml', text: e.dvc_yaml_text });
    for (const file of ['dvc.yaml', 'dvc.lock'] as const) {
      const text = e[file];
      if (typeof text === 'string') out.push({ name: `${v.id} ${file}`, kind: file, text });
    }
    for (const [file, content] of Object.entries(v.tree)) {
      const kind = kindOf(file);
      if (kind !== undefined && typeof content === 'string')
        out.push({ name: `${v.id} tree ${file}`, kind, text: content });
    }
  }
  return out;
}

interface FixtureJson {
  files?: Record<string, string | null>;
  commands?: Record<
    string,
    { stdout?: string; argv?: string[] | null; files_after?: Record<string, { text: string } | null> }
  >;
  expect?: { pipeline_steps?: Array<{ name: string; files: Record<string, string | null> }> };
  run_cache?: Record<string, string>;
}

function fromFixture(name: string, json: FixtureJson): DvcText[] {
  const out: DvcText[] = [];
  const add = (where: string, file: string, text: string | null | undefined): void => {
    const kind = kindOf(file);
    if (kind !== undefined && typeof text === 'string')
      out.push({ name: `${name} ${where} ${file}`, kind, text });
  };
  for (const [file, text] of Object.entries(json.files ?? {})) add('files', file, text);
  for (const [key, cmd] of Object.entries(json.commands ?? {})) {
    // `git show <rev>:<file>.dvc`
    if (key.startsWith('show_') && cmd.argv?.[1] === 'show') add(key, cmd.argv[2] ?? '', cmd.stdout);
    for (const [file, after] of Object.entries(cmd.files_after ?? {})) add(`${key} after`, file, after?.text);
  }
  for (const step of json.expect?.pipeline_steps ?? []) {
    for (const [file, text] of Object.entries(step.files)) add(`step ${step.name}`, file, text);
  }
  for (const [file, text] of Object.entries(json.run_cache ?? {})) {
    out.push({ name: `${name} run cache ${file}`, kind: 'run-cache', text });
  }
  return out;
}

function fromFixtureRepos(): DvcText[] {
  const dir = path.join(FIXTURES, 'repos');
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .flatMap((f) => fromFixture(f, JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as FixtureJson));
}

export function dvcWrittenTexts(): DvcText[] {
  const seen = new Set<string>();
  return [...fromVectors(), ...fromFixtureRepos()].filter((t) => {
    const id = `${t.kind}\0${t.text}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}
