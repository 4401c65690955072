/**
 * A real smart-HTTP git server for tests: a small Node HTTP(S) server on 127.0.0.1 that runs
 * `git http-backend` as a CGI program for every request, behind optional basic auth. Serves the
 * bare repositories under `root`; pushing is enabled (an authenticated REMOTE_USER is always set).
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import * as net from 'node:net';
import * as path from 'node:path';

export interface GitHttpServerOptions {
  /** Directory holding bare repositories (`<name>.git`). */
  root: string;
  /** Require these basic-auth credentials for every request. */
  auth?: { username: string; password: string };
  /** Serve HTTPS with this key and certificate (PEM). */
  tls?: { key: string; cert: string };
}

export interface RequestRecord {
  method: string;
  url: string;
  authorized: boolean;
  status: number;
}

export interface GitHttpServer {
  /** Base URL, e.g. http://127.0.0.1:43123 — repositories are at `${url}/<name>.git`. */
  url: string;
  port: number;
  requests: RequestRecord[];
  close(): Promise<void>;
}

function checkAuth(req: http.IncomingMessage, auth: GitHttpServerOptions['auth']): boolean {
  if (!auth) return true;
  const header = req.headers.authorization ?? '';
  const m = /^Basic\s+(\S+)$/i.exec(header);
  if (!m?.[1]) return false;
  return Buffer.from(m[1], 'base64').toString('utf8') === `${auth.username}:${auth.password}`;
}

let backendPath: string | undefined;
function httpBackendPath(): string {
  backendPath ??= path.join(
    spawnSync('git', ['--exec-path'], { encoding: 'utf8' }).stdout.trim(),
    'git-http-backend',
  );
  return backendPath;
}

/** Runs http-backend for one request and pipes the CGI response back. */
function runBackend(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  root: string,
  user: string,
  done: (status: number) => void,
) {
  const url = new URL(req.url ?? '/', 'http://x');
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    GIT_PROJECT_ROOT: root,
    GIT_HTTP_EXPORT_ALL: '1',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    HOME: root,
    REQUEST_METHOD: req.method ?? 'GET',
    PATH_INFO: decodeURIComponent(url.pathname),
    QUERY_STRING: url.search.replace(/^\?/, ''),
    CONTENT_TYPE: req.headers['content-type'] ?? '',
    REMOTE_USER: user,
    REMOTE_ADDR: '127.0.0.1',
    GIT_PROTOCOL: String(req.headers['git-protocol'] ?? ''),
    HTTP_CONTENT_ENCODING: String(req.headers['content-encoding'] ?? ''),
  };
  if (req.headers['content-length']) env.CONTENT_LENGTH = String(req.headers['content-length']);
  // The backend itself, not `git http-backend`: killing that wrapper would orphan the backend.
  const cgi = spawn(httpBackendPath(), [], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  req.pipe(cgi.stdin);
  cgi.stdin.on('error', () => undefined); // the backend may stop reading early; its exit says why
  // A client that goes away mid-request (a test's reset or stall) leaves http-backend reading a
  // body that never comes; some git versions then spin on the early EOF. End it with the request.
  const abandon = () => {
    if (cgi.exitCode === null && cgi.signalCode === null) cgi.kill('SIGKILL');
  };
  req.on('close', () => {
    if (!req.complete) abandon();
  });
  res.on('close', () => {
    if (!res.writableFinished) abandon();
  });
  let head = Buffer.alloc(0);
  let headerDone = false;
  let status = 200;
  cgi.stdout.on('data', (chunk: Buffer) => {
    if (headerDone) {
      res.write(chunk);
      return;
    }
    head = Buffer.concat([head, chunk]);
    const crlf = head.indexOf('\r\n\r\n');
    const lf = head.indexOf('\n\n');
    const end = crlf >= 0 && (lf < 0 || crlf < lf) ? crlf : lf;
    if (end < 0) return;
    const sepLen = end === crlf ? 4 : 2;
    for (const line of head.subarray(0, end).toString('latin1').split(/\r?\n/)) {
      const i = line.indexOf(':');
      if (i < 0) continue;
      const name = line.slice(0, i).trim();
      const value = line.slice(i + 1).trim();
      if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10);
      else res.setHeader(name, value);
    }
    res.statusCode = status;
    headerDone = true;
    res.write(head.subarray(end + sepLen));
  });
  cgi.stderr.resume();
  cgi.on('close', () => {
    if (!headerDone) res.statusCode = 500;
    res.end();
    done(status);
  });
}

export async function startGitHttpServer(options: GitHttpServerOptions): Promise<GitHttpServer> {
  const requests: RequestRecord[] = [];
  const sockets = new Set<net.Socket>();
  const handler: http.RequestListener = (req, res) => {
    const authorized = checkAuth(req, options.auth);
    const record: RequestRecord = { method: req.method ?? '', url: req.url ?? '', authorized, status: 0 };
    requests.push(record);
    if (!authorized) {
      record.status = 401;
      req.resume();
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="git"', 'Content-Type': 'text/plain' });
      res.end('authentication required\n');
      return;
    }
    runBackend(req, res, options.root, options.auth?.username ?? 'anonymous', (s) => {
      record.status = s;
    });
  };
  const server = options.tls ? https.createServer(options.tls, handler) : http.createServer(handler);
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A bare repository `<root>/<name>.git` (made with the git CLI, default branch main). */
export function bareRepo(root: string, name: string): string {
  const dir = path.join(root, `${name}.git`);
  fs.mkdirSync(dir, { recursive: true });
  const r = spawnSync('git', ['init', '-q', '--bare', '-b', 'main', dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return dir;
}

/** A self-signed certificate for 127.0.0.1 made with the openssl CLI (a test peer). */
export function selfSignedCert(dir: string): { key: string; cert: string; certFile: string } {
  const keyFile = path.join(dir, 'key.pem');
  const certFile = path.join(dir, 'cert.pem');
  const r = spawnSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      keyFile,
      '-out',
      certFile,
    ],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`openssl failed: ${r.stderr}`);
  return { key: fs.readFileSync(keyFile, 'utf8'), cert: fs.readFileSync(certFile, 'utf8'), certFile };
}

/** A minimal HTTP CONNECT proxy on 127.0.0.1 that records the authorities it tunnels to. */
export async function startConnectProxy(): Promise<{
  url: string;
  tunnels: string[];
  close(): Promise<void>;
}> {
  const tunnels: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = http.createServer((_req, res) => {
    res.writeHead(405);
    res.end();
  });
  server.on('connect', (req, client: net.Socket, head: Buffer) => {
    tunnels.push(req.url ?? '');
    const [host, port] = (req.url ?? '').split(':');
    const upstream = net.connect(Number(port), host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => s.destroy());
      s.on('close', () => sockets.delete(s));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    tunnels,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
