/**
 * Ctrl-C during `cpv push` of a large file to S3, as a user presses it: the built binary, a real
 * S3 server, SIGINT while a multipart upload is in flight. Exit 130, no multipart upload left
 * open on the server, no partial object, and the rerun completes.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adminClient,
  createBucket,
  deleteBucket,
  listKeys,
  type S3TestServer,
  s3TestServer,
} from '../helpers/s3.js';
import { gitRepo } from '../helpers/tmp.js';

const server = await s3TestServer();
const bin = path.resolve(import.meta.dirname, '../../dist/cli.js');

describe.runIf(server !== undefined)(`SIGINT during an S3 push (${server?.source})`, () => {
  const s3 = server as S3TestServer;
  let bucket: string;
  beforeAll(async () => {
    bucket = await createBucket(s3);
  });
  afterAll(async () => {
    if (bucket) await deleteBucket(s3, bucket);
  }, 300_000);

  const cpv = (cwd: string, ...args: string[]) => {
    const r = spawnSync(process.execPath, [bin, ...args], { cwd, encoding: 'utf8' });
    expect(r.status, `cpv ${args.join(' ')}: ${r.stderr}`).toBe(0);
    return r.stdout;
  };
  const openUploads = async () =>
    (await adminClient(s3).send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: 'big/' })))
      .Uploads ?? [];

  it('exits 130, leaves no multipart upload open, and the rerun completes', async () => {
    const dir = gitRepo();
    cpv(dir, 'init');
    const big = Buffer.alloc(96 << 20);
    for (let i = 0; i < big.length; i += 4096) big.writeUInt32LE(i, i);
    fs.writeFileSync(path.join(dir, 'weights.bin'), big);
    cpv(dir, 'add', 'weights.bin');
    cpv(dir, 'remote', 'add', '-d', 'store', `s3://${bucket}/big`);
    cpv(dir, 'remote', 'modify', 'store', 'endpointurl', s3.endpoint);
    cpv(dir, 'remote', 'modify', '--local', 'store', 'access_key_id', s3.accessKey);
    cpv(dir, 'remote', 'modify', '--local', 'store', 'secret_access_key', s3.secretKey);

    const child = spawn(process.execPath, [bin, 'push', '-j', '2'], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    // Interrupt once the server holds an open multipart upload of ours.
    let sawUpload = false;
    for (let i = 0; i < 600 && !sawUpload; i++) {
      sawUpload = (await openUploads()).length > 0;
      if (!sawUpload) await new Promise((r) => setTimeout(r, 50));
    }
    expect(sawUpload, 'the push never started a multipart upload').toBe(true);
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(stderr).toContain('interrupt');
    expect(await openUploads()).toEqual([]);
    expect(await listKeys(s3, bucket, 'big/')).toEqual([]);

    const rerun = spawnSync(process.execPath, [bin, 'push'], { cwd: dir, encoding: 'utf8' });
    expect(rerun.status, rerun.stderr).toBe(0);
    expect(rerun.stdout).toBe('1 file pushed\n');
    expect(cpv(dir, 'status', '-c')).toMatch(/in sync/);
    expect(await openUploads()).toEqual([]);
  }, 300_000);
});
