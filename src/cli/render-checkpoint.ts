/** Text renderings of checkpoint results: plans (dry runs), version lists, metadata, downloads. */
import type { CheckpointComparison } from '../api/checkpoint/compare.js';
import type { CheckpointPlan, PlanStep } from '../api/checkpoint/plan.js';
import type { SeriesMetadata, VersionInfo } from '../api/checkpoint/series.js';

function stepLine(step: PlanStep): string {
  switch (step.kind) {
    case 'create':
      return `create   ${step.path}${step.detail ? ` (${step.detail})` : ''}`;
    case 'write':
      return `write    ${step.path}${step.detail ? ` (${step.detail})` : ''}`;
    case 'hash':
      return `hash     ${step.path}`;
    case 'upload':
      return `upload   ${step.paths.length} object(s) to ${step.remote}`;
    case 'download':
      return `download ${step.paths.length} object(s) from ${step.remote}`;
    case 'commit':
      return `commit   "${step.message}" (${step.files.join(', ')})`;
    case 'tag':
      return `tag      ${step.name}${step.replaces ? ' (replacing the existing tag)' : ''}: "${step.message}"`;
    case 'push':
      return `push     ${step.refs.join(', ')} to ${step.url}`;
    case 'checkout':
      return `checkout ${step.path} at ${step.rev}`;
  }
}

/** A dry run: what would happen, one step per line; nothing was changed. */
export function renderPlan(plan: CheckpointPlan): string {
  const lines = plan.steps.map((s) => `  ${stepLine(s)}\n`).join('');
  return `Dry run of ${plan.action} in ${plan.path} (nothing changed):\n${lines || '  nothing to do\n'}`;
}

/** Sizes as people read them, in binary units like the API's `sizeMb` (MiB): `812 B`, `4.00 KiB`. */
export function megabytes(bytes: number | undefined): string {
  if (bytes === undefined) return '-';
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}

function metricsText(v: VersionInfo): string {
  const m = v.metrics?.metrics;
  if (m === undefined) return '';
  return Object.entries(m)
    .map(([k, val]) => `${k}=${typeof val === 'object' ? JSON.stringify(val) : String(val)}`)
    .join(' ');
}

/** One line per version: tag, date, size, metrics, message. */
export function renderVersions(versions: VersionInfo[]): string {
  if (versions.length === 0) return 'No versions yet (tag one after an upload).\n';
  const tagWidth = Math.max(...versions.map((v) => v.tag.length));
  return versions
    .map((v) => {
      const cells = [
        v.tag.padEnd(tagWidth),
        v.createdAt.slice(0, 19).replace('T', ' '),
        megabytes(v.size).padStart(10),
        metricsText(v),
        v.dataVersion ? `data=${v.dataVersion}` : '',
        v.message.split('\n')[0] ?? '',
      ];
      return `${cells.filter((c) => c !== '').join('  ')}\n`;
    })
    .join('');
}

export function renderMetadata(meta: SeriesMetadata): string {
  const lines = [
    `${meta.team}/${meta.model} (${meta.namespace})`,
    `  path:        ${meta.path}`,
    `  git remote:  ${meta.gitUrl ?? '(local only)'}`,
    `  data remote: ${meta.dataRemote}`,
    `  head:        ${meta.head ?? '(no commits)'}`,
    `  current:     ${megabytes(meta.current.size)}${meta.current.nfiles !== undefined ? `, ${meta.current.nfiles} files` : ''}`,
    `  latest:      ${meta.latest?.tag ?? '(no versions)'}`,
    `  versions:    ${meta.versions.length}`,
  ];
  return `${lines.join('\n')}\n${meta.versions.length > 0 ? `\n${renderVersions(meta.versions)}` : ''}`;
}

const show = (v: unknown) => (v === undefined ? '-' : typeof v === 'object' ? JSON.stringify(v) : String(v));

/** Metrics side by side with deltas, the size change, then the changed files. */
export function renderComparison(c: CheckpointComparison): string {
  const out = [`${c.a.tag} (${c.a.commit.slice(0, 7)}) → ${c.b.tag} (${c.b.commit.slice(0, 7)})`];
  if (c.metrics.length > 0) {
    const width = Math.max(6, ...c.metrics.map((m) => m.name.length));
    out.push(
      `  ${'metric'.padEnd(width)}  ${c.a.tag.padStart(12)}  ${c.b.tag.padStart(12)}  ${'delta'.padStart(12)}`,
    );
    for (const m of c.metrics) {
      const delta = m.delta === undefined ? '' : `${m.delta > 0 ? '+' : ''}${Number(m.delta.toPrecision(6))}`;
      out.push(
        `  ${m.name.padEnd(width)}  ${show(m.a).padStart(12)}  ${show(m.b).padStart(12)}  ${delta.padStart(12)}`,
      );
    }
  }
  const delta =
    c.sizeDelta === undefined ? '' : ` (${c.sizeDelta >= 0 ? '+' : '-'}${megabytes(Math.abs(c.sizeDelta))})`;
  out.push(`  size: ${megabytes(c.a.size)} → ${megabytes(c.b.size)}${delta}`);
  out.push(`  changed files: ${c.changedFiles.length}`);
  for (const f of c.changedFiles) out.push(`    ${f.change.padEnd(8)} ${f.path}`);
  return `${out.join('\n')}\n`;
}
