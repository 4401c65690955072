/**
 * `metrics.log`: one JSON object per upload, one per line, each with the time it was written. The
 * file is append-only text in git, so every checkpoint carries its whole metrics history.
 *
 * Metrics must survive JSON unchanged: `NaN`, `Infinity`, `undefined`, functions, BigInts, class
 * instances and cycles would be dropped, turned into `null` or throw half-way, so they are refused
 * up front (E_BAD_METRICS naming the offending field) and nothing is written.
 */
import { CpvError } from '../../errors.js';

export type MetricValue = null | boolean | number | string | MetricValue[] | { [key: string]: MetricValue };
export type Metrics = Record<string, MetricValue>;

export interface MetricsEntry {
  timestamp: string;
  metrics: Metrics;
  message?: string;
  /** The data version the model was trained with (lineage), when known. */
  dataVersion?: string;
}

function badMetrics(where: string, why: string): CpvError {
  return new CpvError('E_BAD_METRICS', `metrics are not JSON-serializable: ${where} ${why}`, {
    hint: 'Pass plain numbers, strings, booleans, null, arrays and objects (convert tensors with .item()).',
  });
}

function isPlainObject(v: object): boolean {
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function checkValue(value: unknown, where: string, seen: Set<object>): void {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) throw badMetrics(where, `is ${value}`);
      return;
    case 'object':
      break;
    default:
      throw badMetrics(where, `is a ${typeof value}`);
  }
  if (value === null) return;
  if (seen.has(value)) throw badMetrics(where, 'refers back to itself');
  seen.add(value);
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) checkValue(item, `${where}[${i}]`, seen);
  } else if (!isPlainObject(value))
    throw badMetrics(where, `is a ${value.constructor?.name ?? 'non-plain'} object`);
  else for (const [k, v] of Object.entries(value)) checkValue(v, `${where}.${k}`, seen);
  seen.delete(value);
}

/** Throws E_BAD_METRICS unless `metrics` is a plain object of JSON values; returns it typed. */
export function checkMetrics(metrics: unknown): Metrics {
  if (typeof metrics !== 'object' || metrics === null || Array.isArray(metrics) || !isPlainObject(metrics)) {
    throw badMetrics('metrics', 'must be a plain object such as { "loss": 0.12 }');
  }
  checkValue(metrics, 'metrics', new Set());
  return metrics as Metrics;
}

/** One `metrics.log` line (with its newline). */
export function metricsLine(
  metrics: unknown,
  now: Date,
  extra: { message?: string; dataVersion?: string } = {},
): string {
  const entry: MetricsEntry = { timestamp: now.toISOString(), metrics: checkMetrics(metrics) };
  if (extra.message !== undefined) entry.message = extra.message;
  if (extra.dataVersion !== undefined) entry.dataVersion = extra.dataVersion;
  return `${JSON.stringify(entry)}\n`;
}

/** The entries of a `metrics.log` text, oldest first; lines that are not entries are skipped. */
export function parseMetricsLog(text: string): MetricsEntry[] {
  const out: MetricsEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const v = JSON.parse(line) as Partial<MetricsEntry>;
      if (typeof v?.timestamp === 'string' && typeof v.metrics === 'object' && v.metrics !== null) {
        out.push(v as MetricsEntry);
      }
    } catch {
      // a hand-edited or truncated line: the rest of the history is still worth showing
    }
  }
  return out;
}
