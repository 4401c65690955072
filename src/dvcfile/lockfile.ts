/**
 * `dvc.yaml` and `dvc.lock` (dvc-compat §2), read-only: enough to know which outputs a pipeline
 * keeps in the cache and under which oid, e.g. to push or pull them.
 *
 * `dvc.yaml` declares outputs under `outs`, `metrics` and `plots`, each a path string or
 * `{path: {cache, persist, remote, push, ...}}`; `dvc.lock` records what the last run produced,
 * one entry per path (`path`, `hash`, `md5`, `size`, `nfiles`, `isexec`). DVC matches the two by
 * the path string exactly as written (`dvc/stage/loader.py` `fill_from_lock`).
 */
import { isMap, isSeq, type Node } from 'yaml';
import { CpvError } from '../errors.js';
import { HASH_ENTRY_FIELDS, type HashEntry, type HashName, hashNameOf } from './dvcfile.js';
import {
  either,
  expectMapping,
  type FieldReader,
  type FieldSpec,
  fieldPath,
  listOf,
  loadYaml,
  mappingEntries,
  readAny,
  readBoolean,
  readFields,
  readList,
  readMapping,
  readString,
  type YamlSource,
} from './yaml-style.js';

// ---------------------------------------------------------------------------------------------
// dvc.yaml
// ---------------------------------------------------------------------------------------------

export type OutputKind = 'outs' | 'metrics' | 'plots';

/** One output declared by a stage in `dvc.yaml`. */
export interface DeclaredOutput {
  path: string;
  kind: OutputKind;
  /** `cache: false` outputs (typically `-M` metrics) are not stored in the cache. */
  cache: boolean;
  persist: boolean;
  /** `push: false` outputs are skipped by `dvc push`. */
  push: boolean;
  remote?: string;
  /** Every flag as written (annotations and plot properties included). */
  flags: Record<string, unknown>;
}

/** A stage of `dvc.yaml`. */
export interface PipelineStage {
  name: string;
  cmd: string | unknown[];
  wdir?: string;
  deps: string[];
  outputs: DeclaredOutput[];
  frozen: boolean;
  /**
   * A `foreach`/`matrix` template: DVC expands it into stages named `<name>@<key>`, and its paths
   * may hold `${...}` placeholders.
   */
  generated: boolean;
}

const stringList = listOf(readString);
const stringOrList = either<unknown>('a string or a list', readString, readList);

/** OUT_PSTAGE_DETAILED_SCHEMA (+ PLOT_PROPS for plots). */
const OUTPUT_FLAGS: FieldSpec = {
  cache: readBoolean,
  persist: readBoolean,
  checkpoint: readBoolean,
  remote: readString,
  push: readBoolean,
  desc: readString,
  type: readString,
  labels: stringList,
  meta: readAny,
};

const PLOT_FLAGS: FieldSpec = {
  ...OUTPUT_FLAGS,
  template: readString,
  x: readString,
  y: readString,
  x_label: readString,
  y_label: readString,
  title: readString,
  header: readBoolean,
};

function declared(path: string, kind: OutputKind, flags: Record<string, unknown>): DeclaredOutput {
  const out: DeclaredOutput = {
    path,
    kind,
    cache: flags.cache !== false,
    persist: flags.persist === true,
    push: flags.push !== false,
    flags,
  };
  if (typeof flags.remote === 'string') out.remote = flags.remote;
  return out;
}

/** Flags of one `{path: flags}` item; plots may give a list of property sets, merged like DVC. */
function readFlags(src: YamlSource, node: unknown, where: string, kind: OutputKind): Record<string, unknown> {
  const spec = kind === 'plots' ? PLOT_FLAGS : OUTPUT_FLAGS;
  if (kind === 'plots' && isSeq(node)) {
    return Object.assign({}, ...node.items.map((item, i) => readFields(src, item, `${where}[${i}]`, spec)));
  }
  return readFields(src, node, where, spec);
}

/** `outs:` / `metrics:` / `plots:` items: `path` or `{path: {flags}}` (several paths allowed). */
function outputList(kind: OutputKind): FieldReader<DeclaredOutput[]> {
  return (src, raw, where) => {
    if (!isSeq(raw)) throw src.schemaError(raw as Node, `${where} must be a list`);
    return raw.items.flatMap((item, i) => {
      const itemWhere = `${where}[${i}]`;
      if (!isMap(item)) return [declared(readString(src, item, itemWhere), kind, {})];
      return mappingEntries(src, item, itemWhere).map(([path, , flags]) =>
        declared(path, kind, readFlags(src, flags, fieldPath(itemWhere, path), kind)),
      );
    });
  };
}

/** STAGE_DEFINITION (dvc/schema.py). */
const STAGE_FIELDS: FieldSpec = {
  cmd: stringOrList,
  wdir: readString,
  deps: stringList,
  params: readList,
  vars: readList,
  frozen: readBoolean,
  meta: readAny,
  desc: readString,
  always_changed: readBoolean,
  outs: outputList('outs'),
  metrics: outputList('metrics'),
  plots: outputList('plots'),
  matrix: readMapping,
};

/** `{foreach: ..., do: <stage>}` (DVC switches to this schema when either key is present). */
const FOREACH_FIELDS: FieldSpec = {
  foreach: readAny,
  do: (src, node, where) => readFields(src, node, where, STAGE_FIELDS, ['cmd']),
};

function readPipelineStage(src: YamlSource, name: string, node: unknown, where: string): PipelineStage {
  const keys = mappingEntries(src, expectMapping(src, node, where), where).map(([key]) => key);
  const isForeach = keys.includes('foreach') || keys.includes('do');
  const d = isForeach
    ? (readFields(src, node, where, FOREACH_FIELDS, ['foreach', 'do']).do as Record<string, unknown>)
    : readFields(src, node, where, STAGE_FIELDS, ['cmd']);
  const stage: PipelineStage = {
    name,
    cmd: d.cmd as string | unknown[],
    deps: (d.deps as string[] | undefined) ?? [],
    outputs: ['outs', 'metrics', 'plots'].flatMap((k) => (d[k] as DeclaredOutput[] | undefined) ?? []),
    frozen: d.frozen === true,
    generated: isForeach || d.matrix !== undefined,
  };
  if (typeof d.wdir === 'string') stage.wdir = d.wdir;
  return stage;
}

const readPipelineStages: FieldReader<PipelineStage[]> = (src, node, where) =>
  mappingEntries(src, expectMapping(src, node, where), where).map(([name, , stageNode]) =>
    readPipelineStage(src, name, stageNode, `${where}.${name}`),
  );

/** MULTI_STAGE_SCHEMA; only `stages` is read in detail. */
const PIPELINE_FIELDS: FieldSpec = {
  stages: readPipelineStages,
  plots: readList,
  vars: readList,
  params: stringList,
  metrics: stringList,
  artifacts: readMapping,
  datasets: readList,
};

/** A parsed `dvc.yaml`. */
export class DvcYaml {
  private constructor(
    readonly stages: PipelineStage[],
    private readonly text: string,
  ) {}

  /** Parses `dvc.yaml` text; `filePath` is used in error messages. */
  static parse(text: string, filePath: string): DvcYaml {
    const src = loadYaml(text, filePath);
    if (src.doc.contents === null) return new DvcYaml([], text);
    const d = readFields(src, src.doc.contents, '', PIPELINE_FIELDS);
    return new DvcYaml((d.stages as PipelineStage[] | undefined) ?? [], text);
  }

  stage(name: string): PipelineStage | undefined {
    return this.stages.find((s) => s.name === name);
  }

  /** The text as read (this class does not edit). */
  toString(): string {
    return this.text;
  }
}

// ---------------------------------------------------------------------------------------------
// dvc.lock
// ---------------------------------------------------------------------------------------------

/** One `deps`/`outs` entry of `dvc.lock`. */
export type LockEntry = HashEntry;

/** A stage of `dvc.lock`. */
export interface LockStage {
  /** `<name>`, or `<name>@<key>` for stages generated by `foreach`/`matrix`. */
  name: string;
  cmd: string | unknown[];
  deps: LockEntry[];
  /** `params.yaml` (and other params files) → key → value. */
  params: Record<string, Record<string, unknown>>;
  outs: LockEntry[];
}

const readLockEntry: FieldReader<LockEntry> = (src, node, where) =>
  readFields(src, node, where, HASH_ENTRY_FIELDS, ['path']) as unknown as LockEntry;

/** `{file: {key: value}}` */
const readParams: FieldReader<Record<string, Record<string, unknown>>> = (src, node, where) => {
  const result: Record<string, Record<string, unknown>> = {};
  for (const [file, , values] of mappingEntries(src, expectMapping(src, node, where), where)) {
    result[file] = readMapping(src, values, fieldPath(where, file));
  }
  return result;
};

/** LOCK_FILE_STAGE_SCHEMA */
const LOCK_STAGE_FIELDS: FieldSpec = {
  cmd: stringOrList,
  deps: listOf(readLockEntry),
  params: readParams,
  outs: listOf(readLockEntry),
};

const readSchemaVersion: FieldReader<string> = (src, node, where) => {
  const raw = readAny(src, node, where);
  if (raw === '2.0') return raw;
  throw src.schemaError(
    node as Node,
    `${where} must be '2.0' (got ${JSON.stringify(raw)}); only DVC 2.x/3.x lock files are supported`,
  );
};

const readLockStages: FieldReader<LockStage[]> = (src, node, where) =>
  mappingEntries(src, expectMapping(src, node, where), where).map(([name, , stageNode]) => {
    const d = readFields(src, stageNode, `${where}.${name}`, LOCK_STAGE_FIELDS, ['cmd']);
    return {
      name,
      cmd: d.cmd as string | unknown[],
      deps: (d.deps as LockEntry[] | undefined) ?? [],
      params: (d.params as Record<string, Record<string, unknown>> | undefined) ?? {},
      outs: (d.outs as LockEntry[] | undefined) ?? [],
    };
  });

/** LOCKFILE_SCHEMA */
const LOCK_FIELDS: FieldSpec = {
  schema: readSchemaVersion,
  stages: readLockStages,
  datasets: readAny,
};

/** A parsed `dvc.lock`. */
export class DvcLock {
  private constructor(
    readonly stages: LockStage[],
    private readonly text: string,
  ) {}

  /** Parses `dvc.lock` text; `filePath` is used in error messages. */
  static parse(text: string, filePath: string): DvcLock {
    const src = loadYaml(text, filePath);
    if (src.doc.contents === null) {
      throw new CpvError('E_DVCFILE_SCHEMA', `${filePath}:1: schema is required`, {
        hint: 'An empty dvc.lock is not valid; delete it and run the pipeline again.',
      });
    }
    const d = readFields(src, src.doc.contents, '', LOCK_FIELDS, ['schema']);
    return new DvcLock((d.stages as LockStage[] | undefined) ?? [], text);
  }

  stage(name: string): LockStage | undefined {
    return this.stages.find((s) => s.name === name);
  }

  /** The text as read (this class does not edit). */
  toString(): string {
    return this.text;
  }
}

// ---------------------------------------------------------------------------------------------
// Cached outputs of a pipeline
// ---------------------------------------------------------------------------------------------

/** An output a pipeline stores in the cache, with what `dvc.lock` recorded for it. */
export interface CachedOutput {
  /** Lock stage name (`<name>` or `<name>@<key>`). */
  stage: string;
  /** As written in `dvc.yaml`/`dvc.lock`: relative to the stage's `wdir` (default: the dvc.yaml dir). */
  path: string;
  wdir?: string;
  kind: OutputKind;
  /** `md5` from `dvc.lock` (`….dir` for directories); undefined if the stage has not run yet. */
  oid: string | undefined;
  hashName: HashName;
  size?: number;
  nfiles?: number;
  isexec?: boolean;
  push: boolean;
  remote?: string;
}

/** `${item}` placeholders of a generated stage's path, as a pattern over resolved lock paths. */
function templatePattern(path: string): RegExp {
  const parts = path.split(/\$\{[^}]*\}/).map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${parts.join('.+?')}$`);
}

function cachedOutput(
  stage: string,
  decl: DeclaredOutput,
  wdir: string | undefined,
  entry?: LockEntry,
): CachedOutput {
  const out: CachedOutput = {
    stage,
    path: entry?.path ?? decl.path,
    kind: decl.kind,
    oid: entry?.md5,
    hashName: entry === undefined ? 'md5' : hashNameOf(entry),
    push: decl.push,
  };
  if (wdir !== undefined) out.wdir = wdir;
  if (decl.remote !== undefined) out.remote = decl.remote;
  if (entry?.size !== undefined) out.size = entry.size;
  if (entry?.nfiles !== undefined) out.nfiles = entry.nfiles;
  if (entry?.isexec === true) out.isexec = true;
  return out;
}

/** A plain stage: each declared output with `cache` not false, looked up by its path string. */
function plainStageOutputs(stage: PipelineStage, lock: DvcLock | undefined): CachedOutput[] {
  const locked = lock?.stage(stage.name);
  return stage.outputs
    .filter((decl) => decl.cache)
    .map((decl) =>
      cachedOutput(
        stage.name,
        decl,
        stage.wdir,
        locked?.outs.find((e) => e.path === decl.path),
      ),
    );
}

/**
 * A foreach/matrix template: its lock stages are `<name>@<key>` with resolved paths; each lock
 * output takes the flags of the first declaration whose `${...}` pattern matches it. Outputs no
 * declaration matches are kept (pulling one file too many is harmless; missing one is not).
 */
function generatedStageOutputs(stage: PipelineStage, lock: DvcLock | undefined): CachedOutput[] {
  const patterns = stage.outputs.map((decl) => ({ decl, re: templatePattern(decl.path) }));
  const fallback = declared('', 'outs', {});
  return (lock?.stages ?? [])
    .filter((s) => s.name.startsWith(`${stage.name}@`))
    .flatMap((locked) =>
      locked.outs.flatMap((entry) => {
        const decl = patterns.find((p) => p.re.test(entry.path))?.decl ?? fallback;
        return decl.cache ? [cachedOutput(locked.name, decl, stage.wdir, entry)] : [];
      }),
    );
}

/**
 * The outputs of a pipeline that live in the cache: the union of `outs`, `metrics` and `plots`
 * whose `cache` is not false, each with the oid and hash name `dvc.lock` recorded (§2).
 */
export function cachedOutputs(pipeline: DvcYaml, lock: DvcLock | undefined): CachedOutput[] {
  return pipeline.stages.flatMap((stage) =>
    stage.generated ? generatedStageOutputs(stage, lock) : plainStageOutputs(stage, lock),
  );
}
