/**
 * Direct object reads (s3-direct.ts): the signature is the one the AWS SDK's own signer makes,
 * keys with awkward characters are read back from a real S3 server, anything but 200/206 is left
 * to the SDK, and a remote with a custom endpoint reads through it.
 */
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CpvError } from '../../src/errors.js';
import { openRemote } from '../../src/remote/index.js';
import { type Credentials, DirectS3, encodeKey } from '../../src/remote/s3-direct.js';
import { adminClient, createBucket, deleteBucket, type S3TestServer, s3TestServer } from '../helpers/s3.js';

const creds: Credentials = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
};

function bytesOf(data: string | ArrayBuffer | ArrayBufferView): string | Uint8Array {
  if (typeof data === 'string') return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** The hash the SDK's signer is given: SHA-256, or HMAC-SHA-256 when made with a key. */
class NodeSha256 {
  private readonly hash: Hash | Hmac;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytesOf(secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(bytesOf(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
}

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

function getter(endpoint: string, bucket: string, credentials: Credentials, agent?: http.Agent): DirectS3 {
  return new DirectS3({
    endpoint,
    bucket,
    region: 'us-east-1',
    credentials: async () => credentials,
    agent,
    connectTimeoutMs: 5_000,
    readTimeoutMs: 5_000,
  });
}

describe('DirectS3 signing', () => {
  it.each([
    ['GET, plain key, no session token', 'GET', 'files/md5/ab/cdef0123', undefined],
    [
      'GET, awkward key, session token',
      'GET',
      "data/a b+c=d&e%f~g!h'i(j)k*l/ü ß",
      'FwoGZXIvYXdzEXAMPLETOKEN//+=',
    ],
    ['PUT, plain key, session token', 'PUT', 'files/md5/ab/cdef0123', 'FwoGZXIvYXdzEXAMPLETOKEN//+='],
    ['PUT, awkward key, no session token', 'PUT', "data/a b+c=d&e%f~g!h'i(j)k*l/ü ß", undefined],
  ] as const)('matches the AWS SDK signer: %s', async (_what, method, key, sessionToken) => {
    const endpoint = 'http://127.0.0.1:7480/base';
    const g = getter(endpoint, 'my-bucket', { ...creds, sessionToken });
    const now = new Date('2026-11-23T10:20:30Z');
    const requestPath = `/base/my-bucket/${encodeKey(key)}`;
    const extra: Record<string, string> =
      method === 'GET'
        ? { range: 'bytes=0-99' }
        : { 'content-length': '11', 'content-type': 'application/octet-stream' };
    const payloadHash = sha256(method === 'GET' ? '' : 'object body');
    const ours = g.sign(method, requestPath, extra, payloadHash, { ...creds, sessionToken }, now);

    const sdk = new SignatureV4({
      service: 's3',
      region: 'us-east-1',
      credentials: { ...creds, ...(sessionToken === undefined ? {} : { sessionToken }) },
      sha256: NodeSha256,
      uriEscapePath: false, // S3: the path is signed as sent
      applyChecksum: true,
    });
    const signed = await sdk.sign(
      {
        method,
        protocol: 'http:',
        hostname: '127.0.0.1',
        port: 7480,
        path: requestPath,
        query: {},
        headers: { host: '127.0.0.1:7480', ...extra, 'x-amz-content-sha256': payloadHash },
      },
      { signingDate: now },
    );
    expect(ours.authorization).toBe(signed.headers.authorization);
    expect(ours['x-amz-date']).toBe(signed.headers['x-amz-date']);
    if (sessionToken !== undefined) expect(ours['x-amz-security-token']).toBe(sessionToken);
  });

  it('takes a 200 only for a whole read: a server that ignores Range is left to the SDK', async () => {
    const server = http.createServer((_req, res) => res.end('the whole object'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      const g = getter(`http://127.0.0.1:${port}`, 'b', creds);
      const whole = await g.get('k', undefined, undefined);
      expect(whole?.total).toBe('the whole object'.length);
      whole?.body.resume();
      expect(await g.get('k', 'bytes=4-8', undefined)).toBeUndefined();
      expect((await g.getWhole('k', 100, undefined))?.toString()).toBe('the whole object');
      // A setting with a line break cannot split the request into two.
      const injected = getter(`http://127.0.0.1:${port}`, 'b', { ...creds, sessionToken: 't\r\nx-evil: 1' });
      await expect(injected.getWhole('k', 100, undefined)).rejects.toThrow(/line break/);
      g.close();
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it('encodes keys per RFC 3986 with slashes kept', () => {
    expect(encodeKey("a b/c+d/e!'()*~-_.")).toBe('a%20b/c%2Bd/e%21%27%28%29%2A~-_.');
    expect(encodeKey('ü/%')).toBe('%C3%BC/%25');
  });
});

const server = await s3TestServer();

describe.runIf(server !== undefined)(`DirectS3 against ${server?.source}`, () => {
  const s3 = server as S3TestServer;
  let bucket: string;
  beforeAll(async () => {
    bucket = await createBucket(s3);
  });
  afterAll(async () => {
    if (bucket !== undefined) await deleteBucket(s3, bucket);
  }, 120_000);

  const keys = ['plain/obj', "odd/a b+c=d&e%f~g!h'i(j)k*l", 'unicode/ü ß/日本'];

  it('reads objects with awkward keys, whole or by range; missing or denied is left to the SDK', async () => {
    const body = (k: string) => Buffer.from(`bytes of ${k} `.repeat(50));
    for (const key of keys) {
      await adminClient(s3).send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body(key) }));
    }
    const g = getter(s3.endpoint, bucket, { accessKeyId: s3.accessKey, secretAccessKey: s3.secretKey });
    for (const key of keys) {
      const res = await g.get(key, 'bytes=0-9', undefined);
      expect(res?.body.statusCode).toBe(206);
      expect(res?.total).toBe(body(key).length);
      const chunks: Buffer[] = [];
      for await (const c of res!.body) chunks.push(c as Buffer);
      expect(Buffer.concat(chunks).equals(body(key).subarray(0, 10))).toBe(true);
    }
    // Whole small objects (the lighter client of http1.ts), on one kept connection.
    for (const key of keys) expect((await g.getWhole(key, 1 << 20, undefined))?.equals(body(key))).toBe(true);
    expect(await g.getWhole(keys[0]!, body(keys[0]!).length - 1, undefined)).toBeUndefined();
    expect(await g.get('no/such/key', 'bytes=0-9', undefined)).toBeUndefined();
    expect(await g.getWhole('no/such/key', 1 << 20, undefined)).toBeUndefined();
    // Ranges of a large download, whole in one buffer each (also the lighter client).
    for (const key of keys) {
      expect((await g.getRangeBytes(key, 5, 104, undefined))?.equals(body(key).subarray(5, 105))).toBe(true);
    }
    const size = body(keys[0]!).length;
    // Past the end, the server answers a shorter range: not the range asked for.
    expect(await g.getRangeBytes(keys[0]!, size - 10, size + 9, undefined)).toBeUndefined();
    expect(await g.getRangeBytes('no/such/key', 0, 9, undefined)).toBeUndefined();
    const denied = getter(s3.endpoint, bucket, { accessKeyId: s3.accessKey, secretAccessKey: 'wrong' });
    expect(await denied.get(keys[0]!, 'bytes=0-9', undefined)).toBeUndefined();
    expect(await denied.getWhole(keys[0]!, 1 << 20, undefined)).toBeUndefined();
    expect(await denied.getRangeBytes(keys[0]!, 0, 9, undefined)).toBeUndefined();
    g.close();
    denied.close();
  });

  it('writes small objects with awkward keys whole; a denied write is left to the SDK', async () => {
    const body = (k: string) => Buffer.from(`written ${k} `.repeat(40));
    const g = getter(s3.endpoint, bucket, { accessKeyId: s3.accessKey, secretAccessKey: s3.secretKey });
    for (const key of keys)
      expect(await g.putWhole(`w/${key}`, body(key), sha256(body(key)), undefined)).toBe(true);
    expect(await g.putWhole('w/empty', Buffer.alloc(0), sha256(''), undefined)).toBe(true);
    for (const key of [...keys, 'empty']) {
      const got = await adminClient(s3).send(new GetObjectCommand({ Bucket: bucket, Key: `w/${key}` }));
      const bytes = Buffer.from(await got.Body!.transformToByteArray());
      expect(bytes.equals(key === 'empty' ? Buffer.alloc(0) : body(key))).toBe(true);
      expect(got.ContentType).toBe('application/octet-stream'); // as the SDK stores it
    }
    const denied = getter(s3.endpoint, bucket, { accessKeyId: s3.accessKey, secretAccessKey: 'wrong' });
    expect(await denied.putWhole('w/denied', body('denied'), sha256(body('denied')), undefined)).toBe(false);
    const head = await adminClient(s3)
      .send(new HeadObjectCommand({ Bucket: bucket, Key: 'w/denied' }))
      .catch((e: unknown) => e);
    expect((head as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode).toBe(404);
    g.close();
    denied.close();
  });

  it('a remote with an endpoint reads through it; misses still end as the SDK reports them', async () => {
    const bytes = Buffer.from('direct path object\n');
    const oid = createHash('md5').update(bytes).digest('hex');
    const key = `files/md5/${oid.slice(0, 2)}/${oid.slice(2)}`;
    await adminClient(s3).send(new PutObjectCommand({ Bucket: bucket, Key: `r/${key}`, Body: bytes }));
    const { port, seen, close } = await recordingForwarder(s3.endpoint);
    try {
      const remote = await openRemote({
        name: 's3',
        url: `s3://${bucket}/r`,
        options: new Map([
          ['endpointurl', `http://127.0.0.1:${port}`],
          ['access_key_id', s3.accessKey],
          ['secret_access_key', s3.secretKey],
        ]),
      });
      const chunks: Buffer[] = [];
      for await (const c of await remote.get(key)) chunks.push(c as Buffer);
      expect(Buffer.concat(chunks).equals(bytes)).toBe(true);
      const reads = seen.filter((r) => r.path.includes('/r/files/'));
      expect(reads).toEqual([{ method: 'GET', path: `/${bucket}/r/${key}`, sdk: false }]);
      // The small-object path: the bytes in one direct request; too big for it is left to get.
      expect((await remote.getSmall?.(key, bytes.length))?.equals(bytes)).toBe(true);
      expect(await remote.getSmall?.(key, bytes.length - 1)).toBeUndefined();
      expect(await remote.getSmall?.('files/md5/00/0000000000000000000000000000ff', 100)).toBeUndefined();
      expect(seen.filter((r) => r.path.includes('/r/files/')).map((r) => r.sdk)).toEqual([
        false,
        false,
        false,
        false,
      ]);
      seen.length = 0;
      const err = await remote.get('files/md5/00/0000000000000000000000000000ff').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CpvError);
      expect((err as CpvError).code).toBe('E_REMOTE_NOT_FOUND');
      // Asked directly first, then through the SDK, which reported the miss.
      expect(seen.filter((r) => r.path.includes('/r/files/')).map((r) => r.sdk)).toEqual([false, true]);
    } finally {
      await close();
    }
  });

  it('a remote with an endpoint writes small objects through it, unless ACL or SSE options need the SDK', async () => {
    const { port, seen, close } = await recordingForwarder(s3.endpoint);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cpv-direct-put-'));
    try {
      const file = path.join(dir, 'obj');
      const bytes = Buffer.from('pushed the direct way\n');
      fs.writeFileSync(file, bytes);
      const options = (extra: Array<[string, string]>) =>
        new Map([
          ['endpointurl', `http://127.0.0.1:${port}`],
          ['access_key_id', s3.accessKey],
          ['secret_access_key', s3.secretKey],
          ...extra,
        ]);
      const plain = await openRemote({ name: 's3', url: `s3://${bucket}/p`, options: options([]) });
      const withAcl = await openRemote({
        name: 's3',
        url: `s3://${bucket}/a`,
        options: options([['acl', 'private']]),
      });
      // Over 1 MiB, the body's hash for the signature is taken on a worker thread.
      const bigFile = path.join(dir, 'big');
      const big = Buffer.alloc((2 << 20) + 3, 'big object ');
      fs.writeFileSync(bigFile, big);
      await plain.put('files/md5/aa/bb', file, bytes.length);
      await plain.put('files/md5/cc/dd', bigFile, big.length);
      await withAcl.put('files/md5/aa/bb', file, bytes.length);
      const writes = seen.filter((r) => r.method === 'PUT').map(({ path: p, sdk }) => ({ path: p, sdk }));
      expect(writes).toEqual([
        { path: `/${bucket}/p/files/md5/aa/bb`, sdk: false },
        { path: `/${bucket}/p/files/md5/cc/dd`, sdk: false },
        { path: `/${bucket}/a/files/md5/aa/bb?x-id=PutObject`, sdk: true },
      ]);
      const gotBig = await adminClient(s3).send(
        new GetObjectCommand({ Bucket: bucket, Key: 'p/files/md5/cc/dd' }),
      );
      expect(Buffer.from(await gotBig.Body!.transformToByteArray()).equals(big)).toBe(true);
      for (const prefix of ['p', 'a']) {
        const got = await adminClient(s3).send(
          new GetObjectCommand({ Bucket: bucket, Key: `${prefix}/files/md5/aa/bb` }),
        );
        expect(Buffer.from(await got.Body!.transformToByteArray()).equals(bytes)).toBe(true);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
      await close();
    }
  });
});

/**
 * A recording forwarder in front of the server: the SDK marks its requests with an invocation
 * id, the direct path does not.
 */
async function recordingForwarder(endpoint: string): Promise<{
  port: number;
  seen: Array<{ method: string; path: string; sdk: boolean }>;
  close: () => Promise<void>;
}> {
  const seen: Array<{ method: string; path: string; sdk: boolean }> = [];
  const target = new URL(endpoint);
  const forwarder = http.createServer((req, res) => {
    seen.push({
      method: req.method ?? '',
      path: req.url ?? '',
      sdk: req.headers['amz-sdk-invocation-id'] !== undefined,
    });
    const out = http.request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    req.pipe(out);
  });
  await new Promise<void>((r) => forwarder.listen(0, '127.0.0.1', r));
  return {
    port: (forwarder.address() as { port: number }).port,
    seen,
    close: async () => {
      forwarder.closeAllConnections();
      await new Promise((r) => forwarder.close(r));
    },
  };
}
