/**
 * Two checkpoint versions side by side: their metrics with deltas, the size of what they version,
 * and which files differ — git-tracked files by blob, DVC outputs by hash, and inside a tracked
 * directory file by file (from the two `.dir` manifests, fetched if the cache lacks them).
 */
import * as fs from 'node:fs';
import { DvcFile, hashNameOf } from '../../dvcfile/dvcfile.js';
import { type ManifestEntry, parseManifest } from '../../dvcfile/manifest.js';
import { Repo } from '../repo.js';
import { fetchData } from './data-sync.js';
import { METRICS_FILE } from './layout.js';
import { type MetricValue, parseMetricsLog } from './metrics.js';
import type { ModelRepo } from './model-repo.js';
import { pointerOut, type SeriesSpec, textAt } from './series.js';

export type FileChange = 'added' | 'removed' | 'modified';

export interface MetricComparison {
  /** Dotted path for nested metrics (`eval.f1`). */
  name: string;
  a: MetricValue | undefined;
  b: MetricValue | undefined;
  /** `b - a` when both are numbers. */
  delta?: number;
}

export interface VersionSide {
  tag: string;
  commit: string;
  createdAt: string;
  /** Size in bytes of the versioned output. */
  size: number | undefined;
  dataVersion?: string;
}

export interface CheckpointComparison {
  a: VersionSide;
  b: VersionSide;
  metrics: MetricComparison[];
  /** `b.size - a.size`, when both are known. */
  sizeDelta: number | undefined;
  /** Changed paths, `/`-separated: git files, DVC outputs, and files inside tracked directories. */
  changedFiles: Array<{ path: string; change: FileChange }>;
}

/** Flattens nested metric objects into dotted names; arrays and scalars are leaves. */
function flatten(metrics: Record<string, MetricValue> | undefined, prefix = ''): Map<string, MetricValue> {
  const out = new Map<string, MetricValue>();
  for (const [k, v] of Object.entries(metrics ?? {})) {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      for (const [kk, vv] of flatten(v, `${prefix}${k}.`)) out.set(kk, vv);
    } else out.set(`${prefix}${k}`, v);
  }
  return out;
}

function compareMetrics(
  a: Record<string, MetricValue> | undefined,
  b: Record<string, MetricValue> | undefined,
): MetricComparison[] {
  const fa = flatten(a);
  const fb = flatten(b);
  const names = [...new Set([...fa.keys(), ...fb.keys()])].sort();
  return names.map((name) => {
    const x = fa.get(name);
    const y = fb.get(name);
    const row: MetricComparison = { name, a: x, b: y };
    if (typeof x === 'number' && typeof y === 'number') row.delta = y - x;
    return row;
  });
}

function changesBetween<T>(
  a: Map<string, T>,
  b: Map<string, T>,
): Array<{ path: string; change: FileChange }> {
  const out: Array<{ path: string; change: FileChange }> = [];
  for (const [p, v] of a) {
    if (!b.has(p)) out.push({ path: p, change: 'removed' });
    else if (b.get(p) !== v) out.push({ path: p, change: 'modified' });
  }
  for (const p of b.keys()) if (!a.has(p)) out.push({ path: p, change: 'added' });
  return out;
}

async function manifestOf(
  repo: ModelRepo,
  name: string,
  text: string | undefined,
): Promise<Map<string, string>> {
  if (text === undefined) return new Map();
  const out = DvcFile.parse(text, name).outs[0];
  if (out?.md5 === undefined || !out.md5.endsWith('.dir')) return new Map();
  await fetchData(repo.dir, [{ name, text }], { manifestsOnly: true });
  const local = Repo.open(repo.dir);
  const entries: ManifestEntry[] = parseManifest(
    fs.readFileSync(local.odb.pathFor(out.md5, hashNameOf(out)), 'utf8'),
    name,
  );
  return new Map(entries.map((e) => [e.relpath, e.md5]));
}

async function side(
  repo: ModelRepo,
  spec: SeriesSpec,
  tag: string,
): Promise<{ side: VersionSide; metrics?: Record<string, MetricValue> }> {
  const info = await repo.git.tagInfo(tag);
  const out = pointerOut(await textAt(repo, info.commit, spec.pointer), spec.pointer);
  const entry = parseMetricsLog((await textAt(repo, info.commit, METRICS_FILE)) ?? '').at(-1);
  const s: VersionSide = { tag, commit: info.commit, createdAt: info.createdAt, size: out.size };
  if (entry?.dataVersion) s.dataVersion = entry.dataVersion;
  return { side: s, ...(entry ? { metrics: entry.metrics } : {}) };
}

export async function compareTagged(
  repo: ModelRepo,
  spec: SeriesSpec,
  tagA: string,
  tagB: string,
): Promise<CheckpointComparison> {
  const a = await side(repo, spec, tagA);
  const b = await side(repo, spec, tagB);
  const blobsA = await repo.git.blobsAt(a.side.commit);
  const blobsB = await repo.git.blobsAt(b.side.commit);
  const changedFiles = changesBetween(blobsA, blobsB);
  for (const pointer of [...new Set([...blobsA.keys(), ...blobsB.keys()])].filter((f) =>
    f.endsWith('.dvc'),
  )) {
    const ta = blobsA.has(pointer) ? await textAt(repo, a.side.commit, pointer) : undefined;
    const tb = blobsB.has(pointer) ? await textAt(repo, b.side.commit, pointer) : undefined;
    const oa = pointerOut(ta, pointer).md5;
    const ob = pointerOut(tb, pointer).md5;
    if (oa === ob) continue;
    const output = pointer.slice(0, -'.dvc'.length);
    changedFiles.push({
      path: output,
      change: oa === undefined ? 'added' : ob === undefined ? 'removed' : 'modified',
    });
    const inside = changesBetween(await manifestOf(repo, pointer, ta), await manifestOf(repo, pointer, tb));
    for (const c of inside) changedFiles.push({ path: `${output}/${c.path}`, change: c.change });
  }
  changedFiles.sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0));
  const sizeDelta =
    a.side.size !== undefined && b.side.size !== undefined ? b.side.size - a.side.size : undefined;
  return { a: a.side, b: b.side, metrics: compareMetrics(a.metrics, b.metrics), sizeDelta, changedFiles };
}
