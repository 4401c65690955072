/**
 * Progress bars on stderr for hashing and transfers (cli-progress). Commands ask for a bar per
 * phase and feed it counts from the library's progress callbacks; when bars are off (no TTY, CI,
 * `--json`, `-q`) every call is a no-op, so commands never branch on it.
 */
import type { Output } from './output.js';
import type { UiSettings } from './ui.js';

export type ProgressUnit = 'files' | 'objects' | 'bytes';

export interface ProgressBar {
  /** Sets the amount done (and the total, when it grows as work is discovered). */
  update(done: number, total?: number): void;
  /** Ends this bar, leaving its last state on screen. */
  stop(): void;
}

export interface Progress {
  bar(label: string, total: number, unit: ProgressUnit): ProgressBar;
  /** Ends every bar; call before printing the command's result. */
  stop(): void;
}

/** One bar per target (an output being added or checked out), made when its first count comes. */
export function barPerTarget(
  progress: Progress,
  unit: ProgressUnit,
): (event: { target: string; done: number; total: number }) => void {
  const bars = new Map<string, ProgressBar>();
  return ({ target, done, total }) => {
    let bar = bars.get(target);
    if (bar === undefined) {
      bar = progress.bar(target, total, unit);
      bars.set(target, bar);
    }
    bar.update(done, total);
  };
}

const NO_BAR: ProgressBar = { update() {}, stop() {} };
export const NO_PROGRESS: Progress = { bar: () => NO_BAR, stop() {} };

const MIB = 1024 * 1024;

function formatAmount(n: number, unit: ProgressUnit): string {
  return unit === 'bytes' ? `${(n / MIB).toFixed(1)} MiB` : String(n);
}

/** Bars need a real terminal stream (cursor movement), not just an Output. */
export async function createProgress(output: Output, ui: UiSettings): Promise<Progress> {
  const stream = output.errStream;
  if (!ui.progress || stream === undefined) return NO_PROGRESS;
  // Loaded only when a bar is shown: keeps start-up of every other run light.
  const { default: cliProgress } = await import('cli-progress');
  const multi = new cliProgress.MultiBar(
    {
      stream,
      format: (options, params, payload: { label: string; unit: ProgressUnit }) => {
        const width = options.barsize ?? 30;
        const ratio = params.total > 0 ? Math.min(1, params.value / params.total) : 0;
        const filled = Math.round(ratio * width);
        const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
        const pct = `${Math.floor(ratio * 100)}`.padStart(3);
        const amount = `${formatAmount(params.value, payload.unit)}/${formatAmount(params.total, payload.unit)}`;
        return `${payload.label.padEnd(10)} ${bar} ${pct}% ${amount} ${payload.unit === 'bytes' ? '' : payload.unit}`.trimEnd();
      },
      hideCursor: true,
      clearOnComplete: false,
      stopOnComplete: false,
      fps: 10,
      etaBuffer: 20,
    },
    cliProgress.Presets.shades_classic,
  );
  return {
    bar(label, total, unit) {
      const bar = multi.create(total, 0, { label, unit });
      return {
        update(done, newTotal) {
          if (newTotal !== undefined && newTotal !== bar.getTotal()) bar.setTotal(newTotal);
          bar.update(done);
        },
        stop() {
          bar.stop();
        },
      };
    },
    stop() {
      multi.stop();
    },
  };
}
