/**
 * Object reads and small writes on S3-compatible servers (an `endpointurl`, path-style
 * addressing) sent straight over HTTP, signed here with SigV4, instead of through the AWS SDK.
 *
 * Why: moving many small objects to or from a server on the same machine or LAN is bound by CPU,
 * and the SDK spends about 1 ms of it per request (endpoint rules, middleware, schema handling),
 * as much as the server needs to answer. A signed request is a few hashes and one HTTP exchange.
 *
 * Only the happy path is done here: the whole object (200) or the range asked for (206), and a
 * PUT answered 200. Any other answer (missing, denied, throttled, a range the server would not
 * give) returns `undefined` (or false), and the caller asks again through the SDK, whose errors
 * and retries stay the reference. Timeouts are thrown shaped as the SDK's, so they are reported
 * alike; what the caller does on other connection failures is in `S3Remote.directFailed`.
 */
import { createHash, createHmac } from 'node:crypto';
import * as http from 'node:http';
import * as https from 'node:https';
import { Http1Client } from './http1.js';

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string | undefined;
}

export interface DirectGetOptions {
  /** The server's URL (`endpointurl`), objects at `<endpoint>/<bucket>/<key>`. */
  endpoint: string;
  bucket: string;
  region: string;
  credentials: () => Promise<Credentials>;
  /** The connection agent the SDK's client uses (keep-alive, proxy, TLS settings). */
  agent: http.Agent | undefined;
  /** How long a connection may take (connect_timeout), in ms. */
  connectTimeoutMs: number;
  /** How long the socket may stay silent (read_timeout), in ms. */
  readTimeoutMs: number;
}

export interface DirectResponse {
  body: http.IncomingMessage;
  /** The object's whole size (from Content-Range, else Content-Length). */
  total: number | undefined;
}

/** SHA-256 of an empty payload: what a GET signs as its body. */
const EMPTY_SHA256 = createHash('sha256').update('').digest('hex');

/** What the SDK sends with an object body it has no type for (so both paths store the same). */
const BODY_TYPE = 'application/octet-stream';

export class DirectS3 {
  private readonly url: URL;
  private readonly basePath: string;
  private signingKey: { date: string; secret: string; key: Buffer } | undefined;
  /** Whole small objects go through this lighter client (see http1.ts). */
  private readonly http1: Http1Client;

  constructor(private readonly opts: DirectGetOptions) {
    this.url = new URL(opts.endpoint);
    this.basePath = `${this.url.pathname.replace(/\/+$/, '')}/${encodeKey(opts.bucket)}/`;
    const secure = this.url.protocol === 'https:';
    this.http1 = new Http1Client(opts.agent ?? (secure ? https.globalAgent : http.globalAgent), {
      protocol: secure ? 'https:' : 'http:',
      host: this.url.hostname.replace(/^\[|\]$/g, ''),
      port: Number(this.url.port || (secure ? 443 : 80)),
      connectTimeoutMs: opts.connectTimeoutMs,
      readTimeoutMs: opts.readTimeoutMs,
    });
  }

  /**
   * The whole object `fullKey` if it is at most `maxBytes` long; `undefined` for any other answer
   * (too big, missing, denied...), which the caller then asks for through `get` or the SDK. An
   * error thrown after the answer began is a `BodyCutShort` (http1.ts).
   */
  async getWhole(
    fullKey: string,
    maxBytes: number,
    signal: AbortSignal | undefined,
  ): Promise<Buffer | undefined> {
    const { requestPath, headers } = await this.signed('GET', fullKey, {}, EMPTY_SHA256);
    const head = requestHead('GET', requestPath, headers);
    return (await this.http1.request(head, undefined, maxBytes, signal)).body;
  }

  /**
   * Bytes `start..end` of `fullKey` in one buffer, read through the light client: for the ranges
   * of a large download, where node:http's parser and streams cost more CPU than the bytes (a
   * 1 GiB object in 8 MiB ranges: ≈ 0.4 s of user CPU less, measured against Ceph RGW). Like
   * `getWhole`, any answer but exactly that range is `undefined`, for the caller to ask again.
   */
  async getRangeBytes(
    fullKey: string,
    start: number,
    end: number,
    signal: AbortSignal | undefined,
  ): Promise<Buffer | undefined> {
    const range = `bytes=${start}-${end}`;
    const { requestPath, headers } = await this.signed('GET', fullKey, { range }, EMPTY_SHA256);
    const head = requestHead('GET', requestPath, headers);
    const length = end - start + 1;
    const { body } = await this.http1.request(head, undefined, length, signal, 206);
    return body?.length === length ? body : undefined;
  }

  /**
   * PUT of a small object `fullKey` whose SHA-256 (hex) is `payloadHash` (a content-addressed key:
   * sending it twice stores the same bytes, which is what lets a kept connection that turned out
   * closed be tried again). True when the server answered 200; false for any other answer, which
   * the caller then leaves to the SDK.
   */
  async putWhole(
    fullKey: string,
    body: Buffer,
    payloadHash: string,
    signal: AbortSignal | undefined,
  ): Promise<boolean> {
    const extra = { 'content-length': String(body.length), 'content-type': BODY_TYPE };
    const { requestPath, headers } = await this.signed('PUT', fullKey, extra, payloadHash);
    const head = requestHead('PUT', requestPath, headers);
    // An answer body (there should be none) is read up to this size, to keep the connection.
    return (await this.http1.request(head, body, 4096, signal)).status === 200;
  }

  /** Closes kept connections of the small-object client. */
  close(): void {
    this.http1.close();
  }

  /**
   * GET of `fullKey`, of bytes `range` (`bytes=a-b`) or whole; `undefined` unless the answer is
   * that range (206) or the whole object (200).
   */
  async get(
    fullKey: string,
    range: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<DirectResponse | undefined> {
    const { requestPath, headers } = await this.signed(
      'GET',
      fullKey,
      range === undefined ? {} : { range },
      EMPTY_SHA256,
    );
    const res = await this.send(requestPath, headers, signal);
    // A ranged read must be answered with that range (206); a whole one with the object (200).
    if (res.statusCode !== (range === undefined ? 200 : 206)) {
      res.resume(); // drain: the connection goes back to the pool
      return undefined;
    }
    const contentRange = /\/(\d+)$/.exec(String(res.headers['content-range'] ?? ''));
    const length = res.headers['content-length'];
    const total = contentRange ? Number(contentRange[1]) : length === undefined ? undefined : Number(length);
    return { body: res, total };
  }

  /** A request for `fullKey` signed now: its path and headers. */
  private async signed(
    method: 'GET' | 'PUT',
    fullKey: string,
    extra: Record<string, string>,
    payloadHash: string,
  ): Promise<{ requestPath: string; headers: Record<string, string> }> {
    const requestPath = this.basePath + encodeKey(fullKey);
    const headers = this.sign(
      method,
      requestPath,
      extra,
      payloadHash,
      await this.opts.credentials(),
      new Date(),
    );
    return { requestPath, headers };
  }

  /**
   * The headers of a SigV4-signed request (service `s3`) for `requestPath` at `now`: `extra`
   * headers (lower-case names) and the payload's SHA-256, all signed.
   */
  sign(
    method: 'GET' | 'PUT',
    requestPath: string,
    extra: Record<string, string>,
    payloadHash: string,
    creds: Credentials,
    now: Date,
  ): Record<string, string> {
    const amzDate = now.toISOString().replace(/[:-]|\.\d{3}/g, '');
    const date = amzDate.slice(0, 8);
    const headers: Record<string, string> = {
      host: this.url.host,
      ...extra,
      'x-amz-content-sha256': payloadHash,
      'x-amz-date': amzDate,
    };
    if (creds.sessionToken !== undefined) headers['x-amz-security-token'] = creds.sessionToken;
    const names = Object.keys(headers).sort();
    const canonical = [
      method,
      requestPath,
      '', // no query
      ...names.map((n) => `${n}:${headers[n]!.trim()}`),
      '',
      names.join(';'),
      payloadHash,
    ].join('\n');
    const scope = `${date}/${this.opts.region}/s3/aws4_request`;
    const toSign = [
      'AWS4-HMAC-SHA256',
      amzDate,
      scope,
      createHash('sha256').update(canonical).digest('hex'),
    ].join('\n');
    const signature = createHmac('sha256', this.keyFor(date, creds.secretAccessKey))
      .update(toSign)
      .digest('hex');
    headers.authorization = `AWS4-HMAC-SHA256 Credential=${creds.accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`;
    return headers;
  }

  /** The day's signing key, derived once a day (four HMACs) rather than per request. */
  private keyFor(date: string, secret: string): Buffer {
    const cached = this.signingKey;
    if (cached !== undefined && cached.date === date && cached.secret === secret) return cached.key;
    const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();
    const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date), this.opts.region), 's3'), 'aws4_request');
    this.signingKey = { date, secret, key };
    return key;
  }

  private send(
    requestPath: string,
    headers: Record<string, string>,
    signal: AbortSignal | undefined,
  ): Promise<http.IncomingMessage> {
    const client = this.url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      let response: http.IncomingMessage | undefined;
      const req = client.request(
        {
          protocol: this.url.protocol,
          hostname: this.url.hostname.replace(/^\[|\]$/g, ''),
          port: this.url.port || undefined,
          method: 'GET',
          path: requestPath,
          headers,
          agent: this.opts.agent,
          signal,
        },
        (res) => {
          response = res;
          resolve(res);
        },
      );
      // Timeouts are shaped as the SDK's, so they are reported and retried alike. A body being
      // read fails with the timeout too (destroying only the request would report a reset).
      const timeout = (message: string) => {
        const err = Object.assign(new Error(message), { name: 'TimeoutError' });
        response?.destroy(err);
        req.destroy(err);
      };
      req.once('socket', (socket) => {
        if (!socket.connecting) return;
        const timer = setTimeout(
          () => timeout(`could not establish a connection within ${this.opts.connectTimeoutMs} ms`),
          this.opts.connectTimeoutMs,
        );
        socket.once('connect', () => clearTimeout(timer));
        socket.once('close', () => clearTimeout(timer));
      });
      req.setTimeout(this.opts.readTimeoutMs, () =>
        timeout(`no data from the server for ${this.opts.readTimeoutMs} ms`),
      );
      req.once('error', reject);
      req.end();
    });
  }
}

/** The request line and headers, as sent. */
function requestHead(method: string, requestPath: string, headers: Record<string, string>): string {
  let head = `${method} ${requestPath} HTTP/1.1\r\n`;
  for (const [name, value] of Object.entries(headers)) {
    // Values come from settings (keys, tokens): a line break would split the request.
    if (/[\r\n]/.test(value)) throw new Error(`the ${name} header has a line break`);
    head += `${name}: ${value}\r\n`;
  }
  return `${head}\r\n`;
}

const UNRESERVED_PATH = /^[A-Za-z0-9\-._~/]*$/;

/** A key as SigV4 wants it in the canonical URI (and as sent): RFC 3986, `/` kept. */
export function encodeKey(key: string): string {
  if (UNRESERVED_PATH.test(key)) return key; // object keys (files/md5/ab/cd…) need no escaping
  return key
    .split('/')
    .map((segment) =>
      encodeURIComponent(segment).replace(
        /[!'()*]/g,
        (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
      ),
    )
    .join('/');
}
