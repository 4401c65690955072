/**
 * HTTP(S) proxies as git, curl and the AWS CLI read them from the environment: `HTTPS_PROXY` for
 * https targets, `HTTP_PROXY` for http ones (`ALL_PROXY` for both, lower-case names too), and
 * `NO_PROXY` for hosts to reach directly. Connections go through a CONNECT tunnel, inside which
 * the client speaks to its target as if connected directly (TLS verified against the target's
 * name). Shared by the git HTTP client and the S3 remote's connection agents.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import type { Duplex } from 'node:stream';
import * as tls from 'node:tls';
import { CpvError } from './errors.js';

/** The proxy URL to use for `target`, or undefined for a direct connection. */
export function proxyFor(target: URL, env: NodeJS.ProcessEnv): URL | undefined {
  const raw =
    target.protocol === 'https:'
      ? (env.HTTPS_PROXY ?? env.https_proxy ?? env.ALL_PROXY ?? env.all_proxy)
      : (env.HTTP_PROXY ?? env.http_proxy ?? env.ALL_PROXY ?? env.all_proxy);
  if (!raw || bypassesProxy(target, env.NO_PROXY ?? env.no_proxy ?? '')) return undefined;
  let proxy: URL;
  try {
    proxy = new URL(raw.includes('://') ? raw : `http://${raw}`);
  } catch {
    throw new CpvError('E_USAGE', 'the proxy setting is not a valid URL', {
      hint: 'set HTTPS_PROXY to a URL such as http://proxy.example.com:3128',
    });
  }
  if (proxy.protocol !== 'http:') {
    throw new CpvError('E_USAGE', `proxy ${proxy.protocol}// URLs are not supported (only http:// proxies)`, {
      hint: 'point HTTPS_PROXY / HTTP_PROXY / ALL_PROXY at an http:// proxy, or list the host in NO_PROXY',
    });
  }
  return proxy;
}

/** Whether any proxy variable is set at all (no proxy agents are needed otherwise). */
export function proxyConfigured(env: NodeJS.ProcessEnv): boolean {
  return ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy', 'ALL_PROXY', 'all_proxy'].some((name) =>
    Boolean(env[name]),
  );
}

/** NO_PROXY as curl and git read it: `*`, or host suffixes with an optional port. */
function bypassesProxy(target: URL, noProxy: string): boolean {
  const host = target.hostname.toLowerCase();
  const port = target.port || (target.protocol === 'https:' ? '443' : '80');
  return noProxy
    .split(/[\s,]+/)
    .filter(Boolean)
    .some((entry) => {
      if (entry === '*') return true;
      const [h = '', p] = entry.toLowerCase().replace(/^\./, '').split(':');
      if (p && p !== port) return false;
      return host === h || host.endsWith(`.${h}`);
    });
}

/** The `Proxy-Authorization` header for a proxy URL with credentials in it, if any. */
export function proxyAuthorization(proxy: URL): string | undefined {
  if (!proxy.username) return undefined;
  const creds = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
  return `Basic ${Buffer.from(creds).toString('base64')}`;
}

/** Opens a CONNECT tunnel through `proxy` to `host:port`. */
export function tunnel(proxy: URL, host: string, port: number, timeoutMs: number): Promise<net.Socket> {
  const authority = `${net.isIPv6(host) ? `[${host}]` : host}:${port}`;
  const headers: Record<string, string> = { host: authority };
  const auth = proxyAuthorization(proxy);
  if (auth !== undefined) headers['proxy-authorization'] = auth;
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: proxy.hostname,
      port: proxy.port || 80,
      method: 'CONNECT',
      path: authority,
      headers,
      timeout: timeoutMs,
    });
    req.once('connect', (res, socket) => {
      if (res.statusCode === 200) return resolve(socket);
      socket.destroy();
      reject(
        new CpvError('E_NETWORK', `the proxy refused to connect to ${authority} (HTTP ${res.statusCode})`, {
          hint: 'check HTTPS_PROXY, the proxy credentials, and NO_PROXY',
        }),
      );
    });
    req.once('timeout', () => req.destroy(new Error(`proxy ${proxy.host} timed out`)));
    req.once('error', reject);
    req.end();
  });
}

/** TLS to `host` inside an open tunnel, verified against `host`'s name (not the proxy's). */
export function secureOver(
  socket: net.Socket,
  host: string,
  options: tls.ConnectionOptions,
): Promise<tls.TLSSocket> {
  const servername = net.isIP(host) ? undefined : host;
  return new Promise((resolve, reject) => {
    const secure = tls.connect({ ...options, socket, host, servername });
    secure.once('secureConnect', () => resolve(secure));
    secure.once('error', (err) => {
      socket.destroy();
      reject(err);
    });
  });
}

type ConnectCallback = (err: Error | null, stream: Duplex) => void;

/**
 * Connection agents (keep-alive pools, as the caller configures them) that reach each target
 * through the proxy its URL calls for, or directly. For an HTTP client that cannot take a proxy
 * itself, such as the AWS SDK's Node handler.
 */
export function proxyAgents(
  env: NodeJS.ProcessEnv,
  options: { http: http.AgentOptions; https: https.AgentOptions; timeoutMs: number },
): { httpAgent: http.Agent; httpsAgent: https.Agent } {
  const via = (protocol: string, host: string, port: number) =>
    proxyFor(new URL(`${protocol}//${net.isIPv6(host) ? `[${host}]` : host}:${port}`), env);
  /** Hands `done` the socket `open` makes, or its error (Node's Agent waits for the callback). */
  const later = (open: Promise<Duplex>, done: ConnectCallback | undefined): undefined => {
    open.then(
      (socket) => done?.(null, socket),
      (err: Error) => done?.(err, undefined as unknown as Duplex),
    );
    return undefined;
  };

  /**
   * A connection to `host:port`: `direct()` when no proxy is called for, else `through(proxy)`.
   * A bad proxy setting fails the request with its clear error.
   */
  const connect = (
    protocol: 'http:' | 'https:',
    host: string,
    port: number,
    done: ConnectCallback | undefined,
    direct: () => Duplex | null | undefined,
    through: (proxy: URL) => Promise<Duplex>,
  ): Duplex | null | undefined => {
    let proxy: URL | undefined;
    try {
      proxy = via(protocol, host, port);
    } catch (err) {
      return later(Promise.reject(err), done);
    }
    return proxy === undefined ? direct() : later(through(proxy), done);
  };

  class ProxyHttpsAgent extends https.Agent {
    override createConnection(opts: https.RequestOptions, done?: ConnectCallback): Duplex | null | undefined {
      const host = opts.host ?? 'localhost';
      const port = Number(opts.port ?? 443);
      return connect(
        'https:',
        host,
        port,
        done,
        () => super.createConnection(opts, done),
        (proxy) =>
          tunnel(proxy, host, port, options.timeoutMs).then((socket) =>
            secureOver(socket, host, opts as tls.ConnectionOptions),
          ),
      );
    }
  }

  class ProxyHttpAgent extends http.Agent {
    override createConnection(
      opts: http.ClientRequestArgs,
      done?: ConnectCallback,
    ): Duplex | null | undefined {
      const host = opts.host ?? 'localhost';
      const port = Number(opts.port ?? 80);
      return connect(
        'http:',
        host,
        port,
        done,
        () => super.createConnection(opts, done),
        (proxy) => tunnel(proxy, host, port, options.timeoutMs),
      );
    }
  }

  return { httpAgent: new ProxyHttpAgent(options.http), httpsAgent: new ProxyHttpsAgent(options.https) };
}
