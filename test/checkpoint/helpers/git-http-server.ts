/**
 * A git smart-HTTP server on 127.0.0.1 for tests: node's http server in front of the git CLI's
 * `git http-backend` (a CGI program; the git CLI is a test peer, never used by cpv). Basic auth is
 * checked here, pushes are allowed, and `failTagPush` makes the server refuse receive-pack requests
 * that would create a given tag, to test rollback.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { gitCli, tempDir } from '../../helpers/tmp.js';

export interface GitHttpServer {
  /** Base URL, e.g. `http://127.0.0.1:PORT/` ; repos are `<base><name>.git`. */
  base: string;
  root: string;
  username: string;
  token: string;
  /** Creates an empty bare repo `<name>.git` on the server. */
  createRepo(name: string): string;
  /** Refs in a bare repo, as `git show-ref` prints them (empty string for none). */
  showRefs(name: string): string;
  /** Refuse any push that updates a ref whose name contains this text (undefined: accept all). */
  failPushesMatching: string | undefined;
  close(): Promise<void>;
}

function authorised(req: http.IncomingMessage, username: string, token: string): boolean {
  const header = req.headers.authorization ?? '';
  if (!header.startsWith('Basic ')) return false;
  const [user, ...rest] = Buffer.from(header.slice(6), 'base64').toString('utf8').split(':');
  return user === username && rest.join(':') === token;
}

function runBackend(root: string, req: http.IncomingMessage, body: Buffer, res: http.ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://x');
  const child = spawn('git', ['http-backend'], {
    env: {
      ...process.env,
      GIT_PROJECT_ROOT: root,
      GIT_HTTP_EXPORT_ALL: '1',
      REQUEST_METHOD: req.method ?? 'GET',
      PATH_INFO: decodeURIComponent(url.pathname),
      QUERY_STRING: url.search.slice(1),
      CONTENT_TYPE: req.headers['content-type'] ?? '',
      CONTENT_LENGTH: String(body.length),
      REMOTE_USER: 'tester',
      REMOTE_ADDR: '127.0.0.1',
      GIT_HTTP_MAX_REQUEST_BUFFER: '100M',
      ...(req.headers['content-encoding']
        ? { HTTP_CONTENT_ENCODING: String(req.headers['content-encoding']) }
        : {}),
    },
  });
  const out: Buffer[] = [];
  child.stdout.on('data', (d: Buffer) => out.push(d));
  child.stderr.resume();
  child.on('close', () => {
    const all = Buffer.concat(out);
    const split = all.indexOf('\r\n\r\n');
    const headerEnd = split >= 0 ? split : all.indexOf('\n\n');
    const headerText = all.subarray(0, headerEnd).toString('utf8');
    const bodyStart = headerEnd + (split >= 0 ? 4 : 2);
    let status = 200;
    for (const line of headerText.split(/\r?\n/)) {
      const i = line.indexOf(':');
      if (i < 0) continue;
      const name = line.slice(0, i).trim();
      const value = line.slice(i + 1).trim();
      if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10);
      else res.setHeader(name, value);
    }
    res.statusCode = status;
    res.end(all.subarray(bodyStart));
  });
  // http-backend may exit before reading a body it does not need: that EPIPE is not an error here.
  child.stdin.on('error', () => undefined);
  child.stdin.end(body);
}

export async function startGitHttpServer(): Promise<GitHttpServer> {
  const root = tempDir('cpv-git-http-');
  const username = 'alice';
  const token = 'tok-3f9a1c77e2';
  const state: { failPushesMatching: string | undefined } = { failPushesMatching: undefined };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('end', () => {
      if (!authorised(req, username, token)) {
        res.statusCode = 401;
        res.setHeader('WWW-Authenticate', 'Basic realm="cpv-test"');
        res.end('unauthorised');
        return;
      }
      const body = Buffer.concat(chunks);
      const failing = state.failPushesMatching;
      if (
        failing !== undefined &&
        req.url?.endsWith('/git-receive-pack') &&
        body.includes(Buffer.from(failing))
      ) {
        res.statusCode = 500;
        res.end('push refused by test server');
        return;
      }
      runBackend(root, req, body, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    base: `http://127.0.0.1:${port}/`,
    root,
    username,
    token,
    get failPushesMatching() {
      return state.failPushesMatching;
    },
    set failPushesMatching(v: string | undefined) {
      state.failPushesMatching = v;
    },
    createRepo(name: string): string {
      const dir = path.join(root, `${name}.git`);
      fs.mkdirSync(path.dirname(dir), { recursive: true });
      gitCli(path.dirname(dir), 'init', '-q', '--bare', '-b', 'main', path.basename(dir));
      gitCli(dir, 'config', 'http.receivepack', 'true');
      return dir;
    },
    showRefs(name: string): string {
      try {
        return gitCli(path.join(root, `${name}.git`), 'show-ref');
      } catch {
        return ''; // show-ref exits 1 when there are no refs
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
