/**
 * The HTTP client isomorphic-git talks to smart-HTTP remotes through: Node's http/https, plus what
 * isomorphic-git's own Node client lacks — a proxy from `HTTPS_PROXY`/`HTTP_PROXY` (honouring
 * `NO_PROXY`), an extra CA bundle from `GIT_SSL_CAINFO`, redirects, and a socket timeout.
 * Response bodies are read whole before they are handed on (see `request`).
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as tls from 'node:tls';
import { proxyAuthorization, proxyFor, secureOver, tunnel } from '../proxy.js';

/** The request and response shapes of isomorphic-git's `HttpClient` (kept local to stay lazy). */
export interface GitHttpRequest {
  url: string;
  method?: string;
  headers?: Record<string, string>;
  body?: AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
}
export interface GitHttpResponse {
  url: string;
  method?: string;
  statusCode: number;
  statusMessage: string;
  headers: Record<string, string>;
  body: AsyncIterableIterator<Uint8Array>;
}
export interface GitHttpClient {
  request(req: GitHttpRequest): Promise<GitHttpResponse>;
}

export interface HttpClientOptions {
  /** Where proxy and CA settings are read from. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Extra trusted CA certificates (PEM); default from the file named by `GIT_SSL_CAINFO`. */
  ca?: string;
  /** Idle socket timeout. Default 60 s. */
  timeoutMs?: number;
}

const MAX_REDIRECTS = 5;

async function collect(body: GitHttpRequest['body']): Promise<Buffer | undefined> {
  if (!body) return undefined;
  const parts: Uint8Array[] = [];
  for await (const chunk of body as AsyncIterable<Uint8Array>) parts.push(chunk);
  return Buffer.concat(parts);
}

function flattenHeaders(h: http.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

function withoutAuthorization(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([k]) => k.toLowerCase() !== 'authorization'));
}

/**
 * The certificates to trust for a git host: the system's plus those in the file `GIT_SSL_CAINFO`
 * names, as git reads it; undefined (the defaults) when it names none.
 */
export function trustedCas(env: NodeJS.ProcessEnv): string[] | undefined {
  return env.GIT_SSL_CAINFO
    ? [...tls.rootCertificates, fs.readFileSync(env.GIT_SSL_CAINFO, 'utf8')]
    : undefined;
}

/** Builds an isomorphic-git HTTP client. */
export function makeHttpClient(options: HttpClientOptions = {}): GitHttpClient {
  const env = options.env ?? process.env;
  const timeoutMs = options.timeoutMs ?? 60_000;
  const ca = options.ca !== undefined ? [...tls.rootCertificates, options.ca] : trustedCas(env);

  async function once(target: URL, method: string, headers: Record<string, string>, body?: Buffer) {
    const proxy = proxyFor(target, env);
    const reqHeaders: Record<string, string> = { ...headers, 'user-agent': 'git/cpv' };
    if (body) reqHeaders['content-length'] = String(body.length);
    const secure = target.protocol === 'https:';
    const base: https.RequestOptions = { method, headers: reqHeaders, timeout: timeoutMs };
    if (ca) base.ca = ca;
    let req: http.ClientRequest;
    if (proxy && secure) {
      const socket = await tunnel(proxy, target.hostname, Number(target.port || 443), timeoutMs);
      const tlsSocket = await secureOver(socket, target.hostname, { ca: base.ca });
      req = https.request(target, { ...base, agent: false, createConnection: () => tlsSocket });
    } else if (proxy) {
      // Plain HTTP through a proxy: send the absolute URL to the proxy (RFC 9112 absolute-form).
      const auth = proxyAuthorization(proxy);
      if (auth !== undefined) reqHeaders['proxy-authorization'] = auth;
      reqHeaders.host = target.host;
      req = http.request({ ...base, host: proxy.hostname, port: proxy.port || 80, path: target.href });
    } else {
      req = (secure ? https : http).request(target, base);
    }
    return new Promise<http.IncomingMessage>((resolve, reject) => {
      let response: http.IncomingMessage | undefined;
      req.once('response', (res) => {
        response = res;
        resolve(res);
      });
      req.once('timeout', () => {
        // A network errno, so the error is reported as one (E_NETWORK); the response too is
        // failed with it, or a body read would end in a bare "aborted".
        const err = Object.assign(new Error(`no answer from ${target.host} in ${timeoutMs} ms`), {
          code: 'ETIMEDOUT',
        });
        response?.destroy(err);
        req.destroy(err);
      });
      req.once('error', reject);
      req.end(body);
    });
  }

  return {
    async request(req) {
      const method = req.method ?? 'GET';
      const body = await collect(req.body);
      let target = new URL(req.url);
      let headers = req.headers ?? {};
      for (let hop = 0; ; hop++) {
        const res = await once(target, method, headers, body);
        const status = res.statusCode ?? 0;
        const location = res.headers.location;
        const redirectable = method === 'GET' || status === 307 || status === 308;
        if (status >= 300 && status < 400 && location && redirectable && hop < MAX_REDIRECTS) {
          res.resume();
          const next = new URL(location, target);
          // credentials are for the origin they were given for: never follow a redirect with them
          if (next.origin !== target.origin) headers = withoutAuthorization(headers);
          target = next;
          continue;
        }
        // The body is read whole before isomorphic-git sees it: its fetch records the remote's
        // refs before reading the pack that holds their objects, so a connection lost mid-pack
        // left refs pointing at missing objects (found by the reliability suite's fault proxy).
        // It collects the pack in memory anyway; this way a broken transfer fails before any ref moves.
        const whole = await collect(res);
        return {
          url: target.href,
          method,
          statusCode: status,
          statusMessage: res.statusMessage ?? '',
          headers: flattenHeaders(res.headers),
          body: (async function* () {
            if (whole !== undefined && whole.length > 0) yield whole;
          })(),
        };
      }
    },
  };
}
