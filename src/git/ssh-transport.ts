/**
 * SSH remotes for isomorphic-git, which speaks only smart HTTP. We hand it an HTTP client whose
 * requests are carried out over SSH with `ssh2` (pure JS), the way `git` does over ssh:
 *
 * - `GET …/info/refs?service=git-upload-pack` runs `git-upload-pack '<path>'` on the server,
 *   reads its ref advertisement up to the flush packet, tells it we want nothing (a flush), and
 *   answers with the advertisement framed as smart HTTP frames it (`# service=…` first);
 * - `POST …/git-upload-pack` (and `git-receive-pack`) runs the program again, skips the
 *   advertisement, writes the request body (wants/haves/done, or commands + packfile), and streams
 *   back what the program answers, which is the same bytes the HTTP backend would send.
 *
 * One SSH connection serves a whole clone/fetch/push (one exec channel per request); it is closed
 * by `close()`. The server's host key is checked against known_hosts like `ssh` does
 * (`strictHostKeyChecking`: yes | accept-new | no).
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Duplex, Readable } from 'node:stream';
import { CpvError, errnoCode } from '../errors.js';
import { toCpvError } from './git-errors.js';
import type { GitHttpClient, GitHttpRequest, GitHttpResponse } from './http.js';
import { checkHostKey, knownHostsName, knownKeyTypes, rememberHostKey } from './known-hosts.js';
import { parseSshUrl, type SshAddress, shellQuote } from './ssh-url.js';

export { isSshUrl } from './ssh-url.js';

export interface SshOptions {
  /** Where defaults are read from (CPV_GIT_SSH_KEY, CPV_GIT_SSH_PASSPHRASE, CPV_GIT_SSH_KNOWN_HOSTS, SSH_AUTH_SOCK, HOME). */
  env?: NodeJS.ProcessEnv;
  /** Private key text (OpenSSH or PEM). */
  privateKey?: string | Buffer;
  /** Private key file; default `$CPV_GIT_SSH_KEY`, else ~/.ssh/id_ed25519, id_ecdsa, id_rsa. */
  privateKeyPath?: string;
  passphrase?: string;
  /** ssh-agent socket; default `$SSH_AUTH_SOCK`. */
  agent?: string;
  /** Login name when the URL has none; default `git`. */
  username?: string;
  /** known_hosts file; default `$CPV_GIT_SSH_KNOWN_HOSTS`, else ~/.ssh/known_hosts. */
  knownHostsPath?: string;
  /** As ssh's StrictHostKeyChecking; default 'yes' (an unknown host is refused). */
  strictHostKeyChecking?: 'yes' | 'accept-new' | 'no';
  /** Connection timeout; default 20 s. */
  timeoutMs?: number;
}

// ---------------------------------------------------------------- ssh2, typed locally (it ships no types)

type Ssh2Channel = Duplex & { stderr: Readable };
interface Ssh2Client {
  on(event: 'ready', listener: () => void): this;
  on(event: 'error', listener: (err: Error & { level?: string }) => void): this;
  on(event: 'close', listener: () => void): this;
  connect(config: Record<string, unknown>): void;
  exec(command: string, callback: (err: Error | undefined, channel: Ssh2Channel) => void): void;
  end(): void;
}
type Ssh2Module = { Client: new () => Ssh2Client };

function loadSsh2(): Ssh2Module {
  return createRequire(import.meta.url)('ssh2') as Ssh2Module;
}

// ---------------------------------------------------------------- pkt-lines

const FLUSH = Buffer.from('0000');

function pktLine(text: string): Buffer {
  const body = Buffer.from(text, 'utf8');
  return Buffer.concat([Buffer.from((body.length + 4).toString(16).padStart(4, '0')), body]);
}

/** Reads a stream's chunks on demand, so the advertisement can be cut off and the rest passed on. */
class ChunkReader {
  private buffered = Buffer.alloc(0);
  private readonly source: AsyncIterator<Buffer>;

  constructor(stream: Readable) {
    this.source = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  /** Everything up to and including the first flush packet; undefined if the stream ends first. */
  async untilFlush(): Promise<Buffer | undefined> {
    let offset = 0;
    for (;;) {
      while (this.buffered.length >= offset + 4) {
        const len = Number.parseInt(this.buffered.subarray(offset, offset + 4).toString('latin1'), 16);
        if (Number.isNaN(len)) throw new Error('the SSH server did not answer with git packet lines');
        if (len === 0) {
          const adv = this.buffered.subarray(0, offset + 4);
          this.buffered = this.buffered.subarray(offset + 4);
          return adv;
        }
        if (this.buffered.length < offset + len) break;
        offset += len;
      }
      const next = await this.source.next();
      if (next.done) return undefined;
      this.buffered = Buffer.concat([this.buffered, next.value]);
    }
  }

  /** What is left: the buffered bytes, then the rest of the stream. */
  async *rest(): AsyncIterableIterator<Uint8Array> {
    if (this.buffered.length > 0) yield this.buffered;
    for (;;) {
      const next = await this.source.next();
      if (next.done) return;
      yield next.value;
    }
  }
}

/** The object ids the advertisement offers as ref tips (peeled `^{}` lines are not tips). */
function advertisedTips(advertisement: Buffer): Set<string> {
  const tips = new Set<string>();
  for (const line of pktLines(advertisement)) {
    const text = line.toString('latin1').split('\0')[0] ?? '';
    const [oid, ref] = text.trim().split(' ');
    if (oid && ref && !ref.endsWith('^{}')) tips.add(oid);
  }
  return tips;
}

/** The payloads of the pkt-lines in `buf`, flush packets skipped. */
function pktLines(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at + 4 <= buf.length; ) {
    const len = Number.parseInt(buf.subarray(at, at + 4).toString('latin1'), 16);
    if (len === 0) {
      at += 4;
      continue;
    }
    out.push(buf.subarray(at + 4, at + len));
    at += len;
  }
  return out;
}

/**
 * isomorphic-git also asks for the commits annotated tags point at (the `^{}` lines). Over HTTP
 * upload-pack runs stateless and allows any reachable object; over SSH it is stateful and allows
 * only advertised tips, failing with "not our ref". Those objects come with their tags anyway, so
 * such wants are dropped (the capabilities on the first want line move to the first one kept).
 */
export function onlyTipWants(request: Buffer, tips: Set<string>): Buffer {
  const out: Buffer[] = [];
  let capabilities: string | undefined;
  let at = 0;
  let inWants = true;
  while (at + 4 <= request.length) {
    const len = Number.parseInt(request.subarray(at, at + 4).toString('latin1'), 16);
    const size = len === 0 ? 4 : len;
    const packet = request.subarray(at, at + size);
    at += size;
    const text = len === 0 ? '' : packet.subarray(4).toString('latin1');
    if (!inWants || !text.startsWith('want ')) {
      if (len === 0) inWants = false;
      out.push(packet);
      continue;
    }
    const [, oid = '', ...caps] = text.replace(/\n$/, '').split(' ');
    if (caps.length > 0 && capabilities === undefined) capabilities = caps.join(' ');
    if (!tips.has(oid)) continue;
    const first =
      capabilities !== undefined && !out.some((b) => b.subarray(4, 9).toString('latin1') === 'want ');
    out.push(pktLine(first ? `want ${oid} ${capabilities}\n` : `want ${oid}\n`));
  }
  out.push(request.subarray(at));
  return Buffer.concat(out);
}

async function* once(parts: Buffer[]): AsyncIterableIterator<Uint8Array> {
  for (const p of parts) yield p;
}

// ---------------------------------------------------------------- the transport

/** Failures we detect ourselves, kept so `fail` can explain them precisely. */
class SshProblem extends Error {
  constructor(
    readonly code: 'E_HOST_KEY' | 'E_AUTH' | 'E_GIT',
    message: string,
    readonly hint: string,
  ) {
    super(message);
  }
}

function defaultKeyPath(env: NodeJS.ProcessEnv): string | undefined {
  if (env.CPV_GIT_SSH_KEY) return env.CPV_GIT_SSH_KEY;
  const home = env.HOME ?? os.homedir();
  return ['id_ed25519', 'id_ecdsa', 'id_rsa']
    .map((f) => path.join(home, '.ssh', f))
    .find((f) => fs.existsSync(f));
}

export interface SshTransport {
  /** An http-shaped URL to give isomorphic-git; the client below knows what it stands for. */
  isoUrl: string;
  http: GitHttpClient;
  fail(err: unknown, action: string): CpvError;
  close(): void;
}

export function sshTransport(url: string, options: SshOptions = {}): SshTransport {
  const address = parseSshUrl(url);
  if (!address?.host || !address.path) {
    throw new CpvError('E_REMOTE_CONFIG', `not a usable SSH address: '${url}'`, {
      hint: 'use ssh://user@host[:port]/path/repo.git or user@host:path/repo.git',
    });
  }
  const env = options.env ?? process.env;
  let connection: Promise<Ssh2Client> | undefined;
  let problem: SshProblem | undefined;

  const connect = (): Promise<Ssh2Client> => {
    connection ??= openConnection(address, options, env, (p) => {
      problem = p;
    });
    return connection;
  };

  const http: GitHttpClient = {
    async request(req: GitHttpRequest): Promise<GitHttpResponse> {
      const target = new URL(req.url);
      const method = req.method ?? 'GET';
      const service =
        method === 'GET' ? target.searchParams.get('service') : target.pathname.split('/').pop();
      if (service !== 'git-upload-pack' && service !== 'git-receive-pack') {
        return {
          url: req.url,
          method,
          statusCode: 404,
          statusMessage: 'Not Found',
          headers: {},
          body: once([]),
        };
      }
      const channel = await execChannel(await connect(), `${service} ${shellQuote(address.path)}`);
      let stderr = '';
      channel.stderr.on('data', (d: Buffer) => {
        stderr += d.toString('utf8');
      });
      const reader = new ChunkReader(channel);
      const advertisement = await reader.untilFlush();
      if (!advertisement) {
        problem = new SshProblem(
          'E_GIT',
          `${service} failed on ${address.host}: ${stderr.trim() || 'no answer'}`,
          'check the repository path in the SSH URL',
        );
        throw problem;
      }
      if (method === 'GET') {
        channel.end(FLUSH); // we want nothing more from this one
        channel.resume();
        const body = once([pktLine(`# service=${service}\n`), FLUSH, advertisement]);
        const headers = { 'content-type': `application/x-${service}-advertisement` };
        return { url: req.url, method, statusCode: 200, statusMessage: 'OK', headers, body };
      }
      if (service === 'git-upload-pack') {
        // the request is small (wants, haves, done): rewrite it, see onlyTipWants
        const parts: Uint8Array[] = [];
        for await (const chunk of (req.body ?? []) as AsyncIterable<Uint8Array>) parts.push(chunk);
        channel.end(onlyTipWants(Buffer.concat(parts), advertisedTips(advertisement)));
      } else {
        for await (const chunk of (req.body ?? []) as AsyncIterable<Uint8Array>) {
          if (!channel.write(chunk)) await new Promise((resolve) => channel.once('drain', resolve));
        }
        channel.end();
      }
      const headers = { 'content-type': `application/x-${service}-result` };
      return { url: req.url, method, statusCode: 200, statusMessage: 'OK', headers, body: reader.rest() };
    },
  };

  return {
    isoUrl: `https://ssh-transport.cpv.invalid/${encodeURIComponent(address.host)}${address.path.startsWith('/') ? '' : '/'}${address.path}`,
    http,
    fail: (err, action) => sshError(problem, err, action, address),
    close: () => {
      connection?.then((c) => c.end()).catch(() => {});
    },
  };
}

function execChannel(client: Ssh2Client, command: string): Promise<Ssh2Channel> {
  return new Promise((resolve, reject) => {
    client.exec(command, (err, channel) => (err ? reject(err) : resolve(channel)));
  });
}

function openConnection(
  address: SshAddress,
  options: SshOptions,
  env: NodeJS.ProcessEnv,
  report: (p: SshProblem) => void,
): Promise<Ssh2Client> {
  const knownHosts =
    options.knownHostsPath ??
    env.CPV_GIT_SSH_KNOWN_HOSTS ??
    path.join(env.HOME ?? os.homedir(), '.ssh', 'known_hosts');
  const strict = options.strictHostKeyChecking ?? 'yes';
  const name = knownHostsName(address.host, address.port);
  const knownText = fs.existsSync(knownHosts) ? fs.readFileSync(knownHosts, 'utf8') : '';
  const keyPath = options.privateKey ? undefined : (options.privateKeyPath ?? defaultKeyPath(env));
  const agent = options.agent ?? env.SSH_AUTH_SOCK;
  let privateKey = options.privateKey;
  if (!privateKey && keyPath) {
    try {
      privateKey = fs.readFileSync(keyPath);
    } catch (err) {
      throw new CpvError('E_AUTH', `cannot read the SSH key ${keyPath} (${errnoCode(err) ?? 'error'})`, {
        hint: 'point CPV_GIT_SSH_KEY (or the privateKeyPath option) at a readable private key',
      });
    }
  }
  if (!privateKey && !agent) {
    throw new CpvError('E_AUTH', `no SSH key for ${name}: none given, none in ~/.ssh, no ssh-agent`, {
      hint: 'set CPV_GIT_SSH_KEY to your private key file, or start ssh-agent with the key loaded',
    });
  }
  const hostVerifier = (key: Buffer): boolean => {
    if (strict === 'no') return true;
    const verdict = checkHostKey(knownText, name, key);
    if (verdict === 'match') return true;
    if (verdict === 'unknown' && strict === 'accept-new') {
      rememberHostKey(knownHosts, name, key);
      return true;
    }
    report(hostKeyProblem(verdict, name, knownHosts));
    return false;
  };
  const preferred = knownKeyTypes(knownText, name);
  return new Promise((resolve, reject) => {
    const client = new (loadSsh2().Client)();
    client.on('ready', () => resolve(client));
    client.on('error', reject);
    try {
      client.connect({
        host: address.host,
        port: address.port,
        username: address.user ?? options.username ?? 'git',
        privateKey,
        passphrase: options.passphrase ?? env.CPV_GIT_SSH_PASSPHRASE,
        agent,
        hostVerifier,
        readyTimeout: options.timeoutMs ?? 20_000,
        ...(preferred.length > 0 ? { algorithms: { serverHostKey: { prepend: preferred } } } : {}),
      });
    } catch (err) {
      // ssh2 throws synchronously for a key it cannot parse (or decrypt)
      reject(
        new SshProblem(
          'E_AUTH',
          `the SSH key cannot be used: ${(err as Error).message}`,
          'check the key file and its passphrase (CPV_GIT_SSH_PASSPHRASE)',
        ),
      );
    }
  });
}

function hostKeyProblem(verdict: 'mismatch' | 'unknown' | 'revoked', name: string, file: string): SshProblem {
  if (verdict === 'unknown') {
    return new SshProblem(
      'E_HOST_KEY',
      `the SSH host ${name} is not in ${file}`,
      `check its fingerprint, then add it: ssh-keyscan -p <port> <host> >> ${file} (or use strictHostKeyChecking: 'accept-new')`,
    );
  }
  return new SshProblem(
    'E_HOST_KEY',
    `the SSH host key of ${name} ${verdict === 'revoked' ? 'is revoked' : 'does not match'} ${file}: refusing to connect`,
    'someone may be intercepting the connection, or the host was reinstalled; verify its key before editing known_hosts',
  );
}

function sshError(
  problem: SshProblem | undefined,
  err: unknown,
  action: string,
  address: SshAddress,
): CpvError {
  if (err instanceof CpvError) return err;
  const seen = err instanceof SshProblem ? err : problem;
  if (seen) return new CpvError(seen.code, `${action}: ${seen.message}`, { hint: seen.hint });
  const level = (err as { level?: string }).level;
  if (level === 'client-authentication') {
    return new CpvError(
      'E_AUTH',
      `${action}: the SSH server refused the key for ${address.user ?? 'git'}@${address.host}`,
      {
        hint: 'add the public key to your account on the git host (or set CPV_GIT_SSH_KEY to the right key)',
      },
    );
  }
  if (level === 'client-timeout') {
    return new CpvError('E_NETWORK', `${action}: the SSH server did not answer in time`, {
      hint: 'check the host, port and network',
    });
  }
  return toCpvError(err, { action });
}
