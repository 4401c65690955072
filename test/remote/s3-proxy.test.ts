/**
 * The S3 remote behind an HTTP proxy, as the AWS CLI and DVC honour one: with HTTP(S)_PROXY in the
 * environment every connection to the server is a CONNECT tunnel through the proxy, NO_PROXY
 * reaches the server directly, and a proxy that cannot be reached is one clear network error.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { text } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import { proxyAgents } from '../../src/proxy.js';
import { S3Remote } from '../../src/remote/s3.js';
import { selfSignedCert, startConnectProxy } from '../helpers/git-http-server.js';
import { createBucket, deleteBucket, s3TestServer } from '../helpers/s3.js';
import { tempDir } from '../helpers/tmp.js';

describe('proxy connection agents', () => {
  it('reach an HTTPS server through a CONNECT tunnel, verify its certificate, keep the tunnel alive', async () => {
    const cert = selfSignedCert(tempDir('cpv-tls-'));
    const server = https.createServer({ key: cert.key, cert: cert.cert }, (_req, res) => res.end('hello'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const proxy = await startConnectProxy();
    const get = (agent: https.Agent) =>
      new Promise<string>((resolve, reject) => {
        https
          .get({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
            let body = '';
            res.on('data', (d) => (body += d));
            res.on('end', () => resolve(body));
          })
          .on('error', reject);
      });
    const agents = (env: NodeJS.ProcessEnv, ca: string | undefined) =>
      proxyAgents(env, {
        http: { keepAlive: true },
        https: { keepAlive: true, ...(ca ? { ca } : {}) },
        timeoutMs: 2000,
      });
    try {
      const { httpsAgent } = agents({ HTTPS_PROXY: proxy.url }, cert.cert);
      expect(await get(httpsAgent)).toBe('hello');
      expect(await get(httpsAgent)).toBe('hello');
      expect(proxy.tunnels).toEqual([`127.0.0.1:${port}`]); // one tunnel, kept alive
      httpsAgent.destroy();
      // The certificate is checked against the server's name inside the tunnel: no CA, no connection.
      const untrusting = agents({ HTTPS_PROXY: proxy.url }, undefined).httpsAgent;
      await expect(get(untrusting)).rejects.toMatchObject({ code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
      untrusting.destroy();
      const direct = agents({ HTTPS_PROXY: proxy.url, NO_PROXY: '127.0.0.1' }, cert.cert).httpsAgent;
      expect(await get(direct)).toBe('hello');
      expect(proxy.tunnels.length).toBe(2);
      direct.destroy();
    } finally {
      await proxy.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

const s3 = await s3TestServer();

describe.runIf(s3 !== undefined)('S3 remote through an HTTP proxy', () => {
  it('tunnels every request through the proxy; NO_PROXY goes direct; a dead proxy is E_NETWORK', async () => {
    const server = s3!;
    const bucket = await createBucket(server);
    const proxy = await startConnectProxy();
    try {
      const options = new Map([
        ['endpointurl', server.endpoint],
        ['access_key_id', server.accessKey],
        ['secret_access_key', server.secretKey],
        ['connect_timeout', '2'],
      ]);
      const config = { name: 'store', url: `s3://${bucket}/p`, options };
      const content = crypto.randomBytes(64 * 1024).toString('hex');
      const src = path.join(tempDir('cpv-proxy-'), 'blob');
      fs.writeFileSync(src, content);
      const endpoint = new URL(server.endpoint);
      const authority = `${endpoint.hostname}:${endpoint.port || 80}`;

      const viaProxy = S3Remote.fromConfig(config, 2, { HTTP_PROXY: proxy.url });
      await viaProxy.put('ab/cdef', src, Buffer.byteLength(content));
      expect(await viaProxy.exists('ab/cdef')).toBe(true);
      expect(await text(await viaProxy.get('ab/cdef'))).toBe(content);
      expect(proxy.tunnels.length).toBeGreaterThan(0);
      expect(new Set(proxy.tunnels)).toEqual(new Set([authority]));

      const seen = proxy.tunnels.length;
      const direct = S3Remote.fromConfig(config, 2, { HTTP_PROXY: proxy.url, NO_PROXY: endpoint.hostname });
      expect(await direct.exists('ab/cdef')).toBe(true);
      expect(proxy.tunnels.length).toBe(seen);

      const dead = S3Remote.fromConfig(config, 2, { HTTP_PROXY: 'http://127.0.0.1:1' });
      await expect(dead.exists('ab/cdef')).rejects.toMatchObject({ code: 'E_NETWORK' });
      const socks = S3Remote.fromConfig(config, 2, { ALL_PROXY: 'socks5://127.0.0.1:1080' });
      const err = await socks.exists('ab/cdef').catch((e: unknown) => e);
      expect(String((err as Error).message)).toContain('only http:// proxies');
    } finally {
      await proxy.close();
      await deleteBucket(server, bucket);
    }
  });
});
