/**
 * The pieces of the remote layer that need no server: keys, the HEAD-versus-listing choice (on a
 * real directory remote, counting the calls it gets), retries, part sizes and the S3 options.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CpvError } from '../../src/errors.js';
import { listingPrefixes, oidsExist, shouldTraverse } from '../../src/remote/exists.js';
import { layoutPrefix, objectKey, oidOfKey, oidPrefixKey } from '../../src/remote/keys.js';
import { LocalRemote } from '../../src/remote/local.js';
import { isTransient, withRetry } from '../../src/remote/retry.js';
import { clientConfig, MIN_PART_SIZE, parseS3Url, partSizeFor } from '../../src/remote/s3.js';
import { tempDir } from '../helpers/tmp.js';

/** A directory remote that counts the existence checks and listings it serves. */
class CountingRemote extends LocalRemote {
  heads = 0;
  lists: string[] = [];
  override exists(key: string): Promise<boolean> {
    this.heads += 1;
    return super.exists(key);
  }
  override list(prefix: string): AsyncIterable<string> {
    this.lists.push(prefix);
    return super.list(prefix);
  }
}

const oid = (n: number, head = '') => head + n.toString(16).padStart(32 - head.length, '0');

function remoteWith(oids: string[]): CountingRemote {
  const root = tempDir('cpv-remote-');
  for (const o of oids) {
    const p = path.join(root, ...objectKey(o, 'md5').split('/'));
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, o);
  }
  return new CountingRemote('r', root);
}

describe('keys', () => {
  it('maps oids to DVC 3 and legacy keys and back', () => {
    const o = 'd41d8cd98f00b204e9800998ecf8427e';
    expect(objectKey(o, 'md5')).toBe('files/md5/d4/1d8cd98f00b204e9800998ecf8427e');
    expect(objectKey(`${o}.dir`, 'md5-dos2unix')).toBe('d4/1d8cd98f00b204e9800998ecf8427e.dir');
    expect(oidOfKey('files/md5/d4/1d8cd98f00b204e9800998ecf8427e', 'md5')).toBe(o);
    expect(oidOfKey('files/md5/d4/1d8cd98f00b204e9800998ecf8427e', 'md5-dos2unix')).toBeUndefined();
    expect(oidOfKey('files/md5/d4/.tmp-abc', 'md5')).toBeUndefined();
    expect(oidPrefixKey('000', 'md5')).toBe('files/md5/00/0');
    expect(layoutPrefix('md5-dos2unix')).toBe('');
    expect(() => objectKey('../../etc/passwd', 'md5')).toThrow(CpvError);
  });

  it('listing prefixes cover the layout without overlapping the other one', () => {
    expect(listingPrefixes('md5')).toHaveLength(16);
    const legacy = listingPrefixes('md5-dos2unix');
    expect(legacy).toContain('f0/');
    expect(legacy.some((p) => 'files/md5/00/x'.startsWith(p))).toBe(false);
    expect(legacy.filter((p) => 'e1/abc'.startsWith(p))).toHaveLength(1);
  });
});

describe('existence checks: HEAD per object or one listing, as DVC estimates', () => {
  it('weighs listing pages against checks (×5 above 500,000 objects)', () => {
    expect(shouldTraverse(10, 4096)).toBe(true);
    expect(shouldTraverse(3, 4096)).toBe(false);
    expect(shouldTraverse(500, 1_000_000)).toBe(false);
    expect(shouldTraverse(5000, 1_000_000)).toBe(true);
  });

  it('one object is checked directly', async () => {
    const remote = remoteWith([oid(1)]);
    expect(await oidsExist(remote, [oid(1)], 'md5', { jobs: 4 })).toEqual(new Set([oid(1)]));
    expect(remote.heads).toBe(1);
    expect(remote.lists).toEqual([]);
  });

  it('a few objects on a big remote are checked one by one; many are listed', async () => {
    // 300 objects under 00/: the estimate is 256 × 300 = 76,800 objects, 77 listing pages.
    const stored = Array.from({ length: 300 }, (_, i) => oid(i, '00'));
    const remote = remoteWith(stored);
    const few = [stored[5]!, oid(7, 'ab'), oid(8, 'cd')];
    expect(await oidsExist(remote, few, 'md5', { jobs: 4 })).toEqual(new Set([stored[5]]));
    expect(remote.lists).toEqual(['files/md5/00/']);
    expect(remote.heads).toBe(2); // the one seen in the estimate needs no check
    const many = remoteWith(stored);
    const wanted = [...stored.slice(0, 100), oid(1, 'ee')];
    expect((await oidsExist(many, wanted, 'md5', { jobs: 4 })).size).toBe(100);
    expect(many.heads).toBe(0);
    expect(many.lists).toEqual(['files/md5/00/', 'files/md5/']);
  });
});

describe('retries', () => {
  const fail = (props: object) => Object.assign(new Error('boom'), props);

  it('classifies transient failures', () => {
    expect(isTransient(fail({ $metadata: { httpStatusCode: 503 } }))).toBe(true);
    expect(isTransient(fail({ name: 'SlowDown' }))).toBe(true);
    expect(isTransient(fail({ code: 'ECONNRESET' }))).toBe(true);
    expect(isTransient(fail({ $metadata: { httpStatusCode: 403 } }))).toBe(false);
    expect(isTransient(fail({ name: 'AbortError' }))).toBe(false);
    expect(isTransient(new CpvError('E_CACHE_CORRUPT', 'x'))).toBe(false);
  });

  it('retries transient errors with backoff, not permanent ones, and stops on abort', async () => {
    let calls = 0;
    const value = await withRetry(
      async () => {
        calls += 1;
        if (calls < 3) throw fail({ code: 'ECONNRESET' });
        return 'ok';
      },
      { baseDelayMs: 1 },
    );
    expect([value, calls]).toEqual(['ok', 3]);
    calls = 0;
    await expect(
      withRetry(
        async () => {
          calls += 1;
          throw fail({ $metadata: { httpStatusCode: 404 } });
        },
        { baseDelayMs: 1 },
      ),
    ).rejects.toThrow('boom');
    expect(calls).toBe(1);
    const controller = new AbortController();
    controller.abort();
    await expect(withRetry(async () => 'never', { signal: controller.signal })).rejects.toMatchObject({
      code: 'E_ABORTED',
    });
  });
});

describe('S3 settings', () => {
  it('part size keeps 5 TiB within 10,000 parts and never goes below 5 MiB', () => {
    expect(partSizeFor(1)).toBe(MIN_PART_SIZE);
    expect(partSizeFor(1024 ** 3)).toBe(MIN_PART_SIZE);
    const fiveTiB = 5 * 1024 ** 4;
    expect(Math.ceil(fiveTiB / partSizeFor(fiveTiB))).toBeLessThanOrEqual(10_000);
  });

  it('parses s3:// urls', () => {
    expect(parseS3Url('s3://bucket')).toEqual({ bucket: 'bucket', prefix: '' });
    expect(parseS3Url('s3://bucket/a/b/')).toEqual({ bucket: 'bucket', prefix: 'a/b/' });
    expect(() => parseS3Url('s3:///x')).toThrow(CpvError);
  });

  const config = (options: Record<string, string>) => ({
    name: 's3',
    url: 's3://b/p',
    options: new Map(Object.entries(options)),
  });

  it('maps DVC options onto the client', async () => {
    const cfg = clientConfig(
      config({
        endpointurl: 'http://127.0.0.1:7480',
        region: 'eu-west-1',
        access_key_id: 'AK',
        secret_access_key: 'SK',
        session_token: 'TOK',
        read_timeout: '5',
        connect_timeout: '2',
      }),
      8,
    );
    expect(cfg.endpoint).toBe('http://127.0.0.1:7480');
    expect(cfg.forcePathStyle).toBe(true);
    expect(cfg.region).toBe('eu-west-1');
    expect(cfg.requestChecksumCalculation).toBe('WHEN_REQUIRED');
    expect(cfg.credentials).toEqual({ accessKeyId: 'AK', secretAccessKey: 'SK', sessionToken: 'TOK' });
    expect(cfg.requestHandler).toMatchObject({ socketTimeout: 5000, connectionTimeout: 2000 });
    // Without keys the SDK's provider chain is used (a function), with the profile given.
    expect(typeof clientConfig(config({ profile: 'team' }), 8).credentials).toBe('function');
    expect(clientConfig(config({ endpointurl: 'minio:9000', use_ssl: 'false' }), 8).endpoint).toBe(
      'http://minio:9000',
    );
  });

  it('rejects contradictory or malformed options with a clear error', () => {
    const bad: Array<Record<string, string>> = [
      { access_key_id: 'only-one-half' },
      { read_timeout: 'soon' },
      { use_ssl: 'maybe', endpointurl: 'host' },
    ];
    for (const options of bad)
      expect(() => clientConfig(config(options), 8), JSON.stringify(options)).toThrow(CpvError);
  });
});
