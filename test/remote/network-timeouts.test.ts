/**
 * Timeouts and retries against silent or broken peers, with real servers behind the fault proxy:
 * - S3: read_timeout bounds how long a socket may stay silent — a request that never gets an
 *   answer and a body that stops mid-stream both end in one E_NETWORK error naming the option;
 * - retries are not multiplied: a request the SDK already retried is not retried again;
 * - git over HTTP: a response body that stops mid-stream fails the request itself (before
 *   isomorphic-git could act on half of it) with a network error.
 */
import * as crypto from 'node:crypto';
import { EventEmitter } from 'node:events';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CpvError } from '../../src/errors.js';
import { makeHttpClient } from '../../src/git/http.js';
import { isTransient, withRetry } from '../../src/remote/retry.js';
import { clientConfig, S3Remote } from '../../src/remote/s3.js';
import { type FaultProxy, startFaultProxy } from '../helpers/fault-proxy.js';
import { adminClient, createBucket, deleteBucket, type S3TestServer, s3TestServer } from '../helpers/s3.js';

const sdkError = (props: Record<string, unknown>) => Object.assign(new Error('boom'), props);

describe('retry classification', () => {
  it('judges a network CpvError by its cause, and never retries what the SDK retried already', () => {
    const reset = sdkError({ code: 'ECONNRESET' });
    expect(isTransient(new CpvError('E_NETWORK', 'x', { cause: reset }))).toBe(true);
    expect(isTransient(new CpvError('E_NETWORK', 'x'))).toBe(false);
    expect(isTransient(new CpvError('E_REMOTE_IO', 'x', { cause: reset }))).toBe(false);
    const retried = sdkError({ name: 'TimeoutError', $metadata: { attempts: 5 } });
    expect(isTransient(retried)).toBe(false);
    expect(isTransient(new CpvError('E_NETWORK', 'x', { cause: retried }))).toBe(false);
    expect(isTransient(sdkError({ name: 'TimeoutError', $metadata: { attempts: 1 } }))).toBe(true);
  });

  it('withRetry gives up at once on an error the SDK already retried', async () => {
    let calls = 0;
    const op = async () => {
      calls++;
      throw sdkError({ name: 'TimeoutError', $metadata: { attempts: 5 } });
    };
    await expect(withRetry(op, { baseDelayMs: 1 })).rejects.toThrow('boom');
    expect(calls).toBe(1);
  });
});

describe('S3 client settings', () => {
  it('read_timeout is a socket inactivity limit, not a whole-request one', () => {
    const options = new Map([
      ['read_timeout', '7'],
      ['connect_timeout', '3'],
    ]);
    const cfg = clientConfig({ name: 'store', url: 's3://b', options }, 4);
    expect(cfg.requestHandler).toMatchObject({ socketTimeout: 7000, connectionTimeout: 3000 });
    // requestTimeout bounds a whole transfer and only logs when exceeded: not set at all.
    expect(cfg.requestHandler).not.toHaveProperty('requestTimeout');
  });
});

const s3 = await s3TestServer();

describe.runIf(s3 !== undefined)('S3 remote against a silent server', () => {
  const server = s3 as S3TestServer;
  let bucket: string;
  let proxy: FaultProxy;
  const bytes = crypto.randomBytes(3 * 1024 * 1024);

  beforeAll(async () => {
    bucket = await createBucket(server);
    await adminClient(server).send(new PutObjectCommand({ Bucket: bucket, Key: 'p/blob', Body: bytes }));
    proxy = await startFaultProxy(server.endpoint);
  });
  afterAll(async () => {
    await proxy?.close();
    if (bucket) await deleteBucket(server, bucket);
  });

  function remote(): S3Remote {
    const options = new Map([
      ['endpointurl', proxy.url],
      ['access_key_id', server.accessKey],
      ['secret_access_key', server.secretKey],
      ['read_timeout', '1'],
      ['connect_timeout', '1'],
    ]);
    return S3Remote.fromConfig({ name: 'store', url: `s3://${bucket}/p`, options }, 2);
  }

  it('the abort signal of a transfer may carry a listener per request in flight without a warning', async () => {
    const signal = new AbortController().signal;
    expect(EventEmitter.getMaxListeners(signal)).toBe(10);
    expect(await remote().exists('blob', { signal })).toBe(true);
    // 2 jobs: (2 + 2)² is under the floor of 64.
    expect(EventEmitter.getMaxListeners(signal)).toBe(64);
  });

  it('an abort cancels a request in flight at once; each signal is honoured on its own', async () => {
    const r = remote();
    expect(await r.exists('blob')).toBe(true);
    proxy.setFaults({ stallRate: 1, stallAfterBytes: [0, 0] });
    const cancelled = new AbortController();
    const t0 = performance.now();
    const pending = r.exists('blob', { signal: cancelled.signal });
    setTimeout(() => cancelled.abort(), 200);
    await expect(pending).rejects.toMatchObject({ code: 'E_ABORTED' });
    expect(performance.now() - t0).toBeLessThan(900); // well before read_timeout (1 s) could end it
    proxy.setFaults({});
    proxy.unstall();
    // Requests on another signal (a client of their own) and on none are unaffected.
    expect(await r.exists('blob', { signal: new AbortController().signal })).toBe(true);
    expect(await r.exists('blob')).toBe(true);
  }, 60_000);

  it('a body that stops mid-stream ends in E_NETWORK naming read_timeout', async () => {
    const r = remote();
    expect(await r.exists('blob')).toBe(true); // the bucket check passes before the stall
    proxy.setFaults({ stallRate: 1, stallAfterBytes: [100_000, 1_000_000] });
    const t0 = performance.now();
    const body = await r.get('blob');
    const read = (async () => {
      for await (const _ of body) {
        // drain
      }
    })();
    await expect(read).rejects.toMatchObject({
      code: 'E_NETWORK',
      message: expect.stringMatching(/stopped answering \(no data for 1 s, read_timeout\)/),
    });
    // One silent second per try of the range (no retry round on top of the SDK's), plus slack.
    expect(performance.now() - t0).toBeLessThan(15_000);
    proxy.setFaults({});
    proxy.unstall();
  }, 60_000);

  it('a request never answered ends in E_NETWORK after the SDK tries, not a hang', async () => {
    const r = remote();
    proxy.setFaults({ stallRate: 1, stallAfterBytes: [0, 0] });
    const t0 = performance.now();
    await expect(r.exists('blob')).rejects.toMatchObject({
      code: 'E_NETWORK',
      message: expect.stringMatching(/read_timeout/),
    });
    // 5 tries of 1 s each and the SDK's short backoffs.
    expect(performance.now() - t0).toBeLessThan(15_000);
    proxy.setFaults({});
    proxy.unstall();
  }, 60_000);
});

describe('git HTTP client against a server that stops mid-body', () => {
  let server: http.Server;
  let url: string;
  beforeAll(async () => {
    server = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/x-git-upload-pack-result' });
      res.write(Buffer.alloc(64 * 1024, 1)); // then silence, connection open
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/repo.git/git-upload-pack`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('the request fails with ETIMEDOUT before any of the body is handed on', async () => {
    const client = makeHttpClient({ timeoutMs: 500, env: {} });
    const t0 = performance.now();
    await expect(client.request({ url, method: 'POST', body: [Buffer.from('0000')] })).rejects.toMatchObject({
      code: 'ETIMEDOUT',
    });
    expect(performance.now() - t0).toBeLessThan(5_000);
  });
});
