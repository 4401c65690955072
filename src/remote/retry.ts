/**
 * Retrying remote calls that failed for reasons that go away: server errors (5xx), throttling
 * (429, SlowDown), dropped connections. Waits grow exponentially with "full jitter" (a random wait
 * between 0 and the cap), so many parallel transfers hitting the same hiccup do not retry in step.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { CpvError, errnoCode } from '../errors.js';

export interface RetryOptions {
  /** Total tries, the first included. */
  attempts?: number;
  /** Cap of the first wait in ms; doubles each retry. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  signal?: AbortSignal | undefined;
  /** Decides whether an error is worth another try; defaults to `isTransient`. */
  isTransient?: (err: unknown) => boolean;
}

const TRANSIENT_ERRNO = new Set(['ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ECONNABORTED', 'EAI_AGAIN', 'EBUSY']);
const THROTTLING = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'RequestTimeout',
  'RequestTimeoutException',
  'TooManyRequestsException',
  'ServiceUnavailable',
  'InternalError',
  'TimeoutError',
]);

/**
 * 5xx, 429, throttling names, connection resets and timeouts; not 4xx, not aborts. A network
 * CpvError is judged by its cause. A request the AWS SDK already retried (`$metadata.attempts`
 * over 1) is not transient any more: another round would multiply the wait on a dead server.
 */
export function isTransient(err: unknown): boolean {
  if (err instanceof CpvError) return err.code === 'E_NETWORK' && isTransient(err.cause);
  if (typeof err !== 'object' || err === null) return false;
  const e = err as {
    name?: string;
    $metadata?: { httpStatusCode?: number; attempts?: number };
    $retryable?: unknown;
  };
  if (e.name === 'AbortError') return false;
  if ((e.$metadata?.attempts ?? 0) > 1) return false;
  const status = e.$metadata?.httpStatusCode;
  if (status !== undefined && (status >= 500 || status === 429)) return true;
  if (e.$retryable) return true;
  if (e.name !== undefined && THROTTLING.has(e.name)) return true;
  const code = errnoCode(err);
  return code !== undefined && TRANSIENT_ERRNO.has(code);
}

/** Runs `op`, retrying transient failures; the last error (or an abort) is thrown as is. */
export async function withRetry<T>(op: (attempt: number) => Promise<T>, opts: RetryOptions = {}): Promise<T> {
  const attempts = opts.attempts ?? 4;
  const base = opts.baseDelayMs ?? 200;
  const max = opts.maxDelayMs ?? 5_000;
  const transient = opts.isTransient ?? isTransient;
  for (let attempt = 1; ; attempt++) {
    throwIfAborted(opts.signal);
    try {
      return await op(attempt);
    } catch (err) {
      if (opts.signal?.aborted) throwIfAborted(opts.signal);
      if (attempt >= attempts || !transient(err)) throw err;
      const cap = Math.min(max, base * 2 ** (attempt - 1));
      await sleep(Math.random() * cap, undefined, { signal: opts.signal }).catch(() => undefined);
    }
  }
}

/** The one error an aborted operation ends with. */
export function abortedError(signal: AbortSignal): CpvError {
  return new CpvError('E_ABORTED', 'the operation was cancelled', {
    hint: 'Run the command again to finish; objects already transferred are skipped.',
    cause: signal.reason,
  });
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortedError(signal);
}
