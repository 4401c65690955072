/**
 * A TCP proxy on 127.0.0.1 that sits between a client and a real server and injects network
 * faults, for the reliability suite. Every connection is piped to the target; the faults set with
 * `setFaults` apply from then on to every connection, open (kept alive) or new, each decided by
 * a seeded generator so a failing run can be replayed:
 *
 * - latency: every chunk is held `latencyMs` before it is passed on (in both directions, order kept);
 * - reset: the connection is cut with a TCP RST after a seeded number of bytes;
 * - stall: after a seeded number of bytes nothing more is passed on, for `stallMs` or forever
 *   (the sockets stay open: the client sees a silent peer, not a closed one);
 * - `refuse()`: the listener closes and live connections are reset, so new connections are
 *   refused — to the client exactly a stopped server; `restore()` listens again on the same port.
 */
import * as net from 'node:net';
import { seeded } from './seeded.js';

export interface Faults {
  /** Delay added to every chunk, in both directions. */
  latencyMs?: number;
  /** Share (0..1) of new connections that are reset. */
  resetRate?: number;
  /** A reset connection is cut after a seeded byte count in this range (both directions summed). */
  resetAfterBytes?: [number, number];
  /** Share (0..1) of new connections that stall. */
  stallRate?: number;
  /** A stalled connection stops after a seeded byte count in this range. */
  stallAfterBytes?: [number, number];
  /** How long a stall lasts; Infinity (the default) is forever. */
  stallMs?: number;
  /** Faults (resets + stalls) to inject in all; once spent, connections pass clean. */
  maxFaults?: number;
}

export interface ProxyStats {
  connections: number;
  resets: number;
  stalls: number;
  /** Times the listener was taken down with `refuse()`. */
  refusals: number;
  /** Bytes passed on, client → server and server → client. */
  bytesUp: number;
  bytesDown: number;
}

export interface FaultProxy {
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
  stats: ProxyStats;
  /** Faults for the connections opened from now on (replaces the previous set). */
  setFaults(faults: Faults, seed?: number): void;
  /** Ends every stall now and stops stalling (connections flow again). */
  unstall(): void;
  /** "Server stopped": close the listener, reset live connections. */
  refuse(): Promise<void>;
  /**
   * Calls `refuse()` once `bytes` more bytes have been passed on, and `restore()` `downMs` later
   * (never when Infinity). Resolves when the listener was taken down; `setFaults` cancels it.
   */
  refuseAfterBytes(bytes: number, downMs?: number): Promise<void>;
  /** "Server restarted": listen again on the same port. */
  restore(): Promise<void>;
  close(): Promise<void>;
}

/** What one connection will suffer (byte counts from the moment it was planned). */
interface ConnectionPlan {
  latencyMs: number;
  resetAt: number | undefined;
  stallAt: number | undefined;
  stallMs: number;
}

type Item =
  | { kind: 'data'; chunk: Buffer; due: number }
  | { kind: 'end'; due: number }
  | { kind: 'reset'; due: number }
  | { kind: 'stall'; due: number };

/** Above this many queued bytes the sending side is paused (backpressure). */
const HIGH_WATER = 1 << 20;

/** One proxied connection: two sockets and a delay line in each direction. */
class Link {
  /** Bytes accepted from either side, for the fault thresholds. */
  private seen = 0;
  private stalled = false;
  private dead = false;
  private readonly lines: [Line, Line];
  /** The plan, its byte thresholds counted from the link's first byte. */
  private plan: ConnectionPlan;

  constructor(
    readonly client: net.Socket,
    readonly upstream: net.Socket,
    plan: ConnectionPlan,
    private readonly proxy: { stats: ProxyStats; onBytes(n: number): void; spendFault(): boolean },
  ) {
    this.plan = plan;
    this.lines = [new Line(client, upstream, this, 'up'), new Line(upstream, client, this, 'down')];
    // Both sockets are half-open capable: an end is passed on in order (after the delayed data),
    // a clean close needs nothing more, and an error on either side resets the other.
    for (const s of [client, upstream]) {
      s.on('error', () => this.reset());
      s.on('close', (hadError) => {
        if (hadError) this.reset();
      });
    }
  }

  /** New faults from now on: thresholds count from the bytes seen so far. */
  replan(plan: ConnectionPlan): void {
    const from = (at: number | undefined) => (at === undefined ? undefined : this.seen + at);
    this.plan = { ...plan, resetAt: from(plan.resetAt), stallAt: from(plan.stallAt) };
  }

  /** Splits `chunk` at a fault threshold; returns what to queue. */
  accept(chunk: Buffer): Array<Buffer | 'reset' | 'stall'> {
    const out: Array<Buffer | 'reset' | 'stall'> = [];
    const before = this.seen;
    this.seen += chunk.length;
    const cut = (at: number | undefined) =>
      at !== undefined && at >= before && at < this.seen ? at : undefined;
    let resetAt = cut(this.plan.resetAt);
    let stallAt = cut(this.plan.stallAt);
    // A fault counts against the budget when it strikes, not when it was planned.
    if (resetAt !== undefined && !this.proxy.spendFault()) resetAt = this.plan.resetAt = undefined;
    if (stallAt !== undefined && !this.proxy.spendFault()) stallAt = this.plan.stallAt = undefined;
    if (resetAt !== undefined && (stallAt === undefined || resetAt <= stallAt)) {
      out.push(chunk.subarray(0, resetAt - before), 'reset');
    } else if (stallAt !== undefined) {
      out.push(chunk.subarray(0, stallAt - before), 'stall', chunk.subarray(stallAt - before));
    } else out.push(chunk);
    return out;
  }

  get latencyMs(): number {
    return this.plan.latencyMs;
  }

  get isStalled(): boolean {
    return this.stalled;
  }

  get isDead(): boolean {
    return this.dead;
  }

  stall(): void {
    if (this.stalled || this.dead) return;
    this.stalled = true;
    this.proxy.stats.stalls++;
    if (Number.isFinite(this.plan.stallMs)) setTimeout(() => this.unstall(), this.plan.stallMs).unref();
  }

  unstall(): void {
    if (!this.stalled) return;
    this.stalled = false;
    for (const line of this.lines) line.flush();
  }

  counted(n: number, direction: 'up' | 'down'): void {
    if (direction === 'up') this.proxy.stats.bytesUp += n;
    else this.proxy.stats.bytesDown += n;
    this.proxy.onBytes(n);
  }

  /** Cuts both sides with an RST (a fault or the other side gone). */
  reset(fault = false): void {
    if (this.dead) return;
    this.dead = true;
    if (fault) this.proxy.stats.resets++;
    for (const line of this.lines) line.drop();
    for (const s of [this.client, this.upstream]) {
      if (!s.destroyed) s.resetAndDestroy();
    }
  }
}

/** One direction of a link: reads `from`, holds chunks for the latency, writes `to`. */
class Line {
  private readonly queue: Item[] = [];
  private queued = 0;
  private timer: NodeJS.Timeout | undefined;
  private waitingDrain = false;

  constructor(
    private readonly from: net.Socket,
    private readonly to: net.Socket,
    private readonly link: Link,
    private readonly direction: 'up' | 'down',
  ) {
    from.on('data', (chunk: Buffer) => this.take(chunk));
    from.on('end', () => this.push({ kind: 'end', due: this.dueTime() }));
    to.on('drain', () => {
      this.waitingDrain = false;
      this.flush();
    });
  }

  private dueTime(): number {
    const last = this.queue.at(-1)?.due ?? 0;
    return Math.max(Date.now() + this.link.latencyMs, last);
  }

  private take(chunk: Buffer): void {
    if (this.link.isDead) return;
    for (const piece of this.link.accept(chunk)) {
      const due = this.dueTime();
      if (piece === 'reset' || piece === 'stall') this.push({ kind: piece, due });
      else if (piece.length > 0) {
        this.queued += piece.length;
        this.push({ kind: 'data', chunk: piece, due });
      }
    }
    if (this.queued > HIGH_WATER) this.from.pause();
  }

  private push(item: Item): void {
    this.queue.push(item);
    this.flush();
  }

  flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    while (this.queue.length > 0 && !this.link.isDead && !this.link.isStalled && !this.waitingDrain) {
      const head = this.queue[0]!;
      const wait = head.due - Date.now();
      if (wait > 0) {
        this.timer = setTimeout(() => this.flush(), wait);
        return;
      }
      this.queue.shift();
      if (head.kind === 'reset') {
        this.link.reset(true);
        return;
      }
      if (head.kind === 'stall') {
        this.link.stall();
        continue;
      }
      if (head.kind === 'end') {
        this.to.end();
        continue;
      }
      this.queued -= head.chunk.length;
      this.link.counted(head.chunk.length, this.direction);
      if (!this.to.write(head.chunk)) this.waitingDrain = true;
    }
    if (this.queued <= HIGH_WATER && this.from.isPaused() && !this.link.isStalled) this.from.resume();
  }

  drop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.queue.length = 0;
    this.queued = 0;
  }
}

/** Starts a proxy to `target` (`host:port` or an http URL) on a free port of 127.0.0.1. */
export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const { hostname, port: targetPort } = new URL(target.includes('://') ? target : `tcp://${target}`);
  const stats: ProxyStats = { connections: 0, resets: 0, stalls: 0, refusals: 0, bytesUp: 0, bytesDown: 0 };
  const links = new Set<Link>();
  let faults: Faults = {};
  let random = seeded(1);
  let faultsLeft = Number.POSITIVE_INFINITY;
  let byteWatch: { left: number; fire: () => void } | undefined;

  const pick = (range: [number, number] | undefined) =>
    range === undefined ? 0 : range[0] + Math.floor(random() * (range[1] - range[0] + 1));

  const planFor = (): ConnectionPlan => {
    const plan: ConnectionPlan = {
      latencyMs: faults.latencyMs ?? 0,
      resetAt: undefined,
      stallAt: undefined,
      stallMs: faults.stallMs ?? Number.POSITIVE_INFINITY,
    };
    // Both draws are made for every connection, so one fault kind's settings do not shift the other's.
    const resetDraw = random();
    const stallDraw = random();
    const resetAt = pick(faults.resetAfterBytes);
    const stallAt = pick(faults.stallAfterBytes);
    if (resetDraw < (faults.resetRate ?? 0)) plan.resetAt = resetAt;
    else if (stallDraw < (faults.stallRate ?? 0)) plan.stallAt = stallAt;
    return plan;
  };

  const hooks = {
    stats,
    spendFault() {
      if (faultsLeft <= 0) return false;
      faultsLeft--;
      return true;
    },
    onBytes(n: number) {
      if (!byteWatch) return;
      byteWatch.left -= n;
      if (byteWatch.left <= 0) {
        const { fire } = byteWatch;
        byteWatch = undefined;
        fire();
      }
    },
  };

  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    stats.connections++;
    const upstream = net.connect({ port: Number(targetPort), host: hostname, allowHalfOpen: true });
    const link = new Link(client, upstream, planFor(), hooks);
    links.add(link);
    let open = 2;
    const gone = () => {
      if (--open === 0) links.delete(link);
    };
    client.on('close', gone);
    upstream.on('close', gone);
  });
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  await listen(0);
  const port = (server.address() as net.AddressInfo).port;
  let listening = true;

  const restore = async () => {
    if (listening) return;
    listening = true;
    await listen(port);
  };

  const refuse = async () => {
    if (!listening) return;
    listening = false;
    stats.refusals++;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const link of links) link.reset();
    links.clear();
    await closed;
  };

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    stats,
    setFaults(next, seed = 1) {
      byteWatch = undefined;
      faults = next;
      random = seeded(seed);
      faultsLeft = next.maxFaults ?? Number.POSITIVE_INFINITY;
      for (const link of links) link.replan(planFor());
    },
    unstall() {
      faults = { ...faults, stallRate: 0 };
      for (const link of links) link.unstall();
    },
    refuse,
    refuseAfterBytes(bytes, downMs = Number.POSITIVE_INFINITY) {
      return new Promise<void>((resolve) => {
        byteWatch = {
          left: bytes,
          fire: () =>
            void refuse().then(() => {
              resolve();
              if (Number.isFinite(downMs)) setTimeout(() => void restore(), downMs);
            }),
        };
      });
    },
    restore,
    async close() {
      byteWatch = undefined;
      if (listening) await refuse();
    },
  };
}
