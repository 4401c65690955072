/**
 * The S3 remote against a real server (see test/helpers/s3.ts for which one): round trips of
 * files, directories, empty files, a multipart file over 100 MiB and 5,000 small files; one clear
 * error for bad credentials, a missing bucket, a wrong endpoint and a server gone mid-transfer;
 * objects altered on the server detected on pull; multipart uploads never left behind.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import {
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addTargets } from '../../src/api/add.js';
import { cloudStatus } from '../../src/api/cloud-status.js';
import { initRepo } from '../../src/api/init.js';
import { pull } from '../../src/api/pull.js';
import { push } from '../../src/api/push.js';
import { repoStatus } from '../../src/api/status.js';
import { main } from '../../src/cli/main.js';
import { captureOutput } from '../../src/cli/output.js';
import { CpvError } from '../../src/errors.js';
import { openRemote } from '../../src/remote/index.js';
import { S3Remote } from '../../src/remote/s3.js';
import {
  adminClient,
  createBucket,
  deleteBucket,
  listKeys,
  type S3TestServer,
  s3TestServer,
} from '../helpers/s3.js';
import { gitCli, gitRepo, tempDir } from '../helpers/tmp.js';

const server = await s3TestServer();
const MiB = 1024 * 1024;

describe.runIf(server !== undefined)(`S3 remote (${server?.source})`, () => {
  const s3 = server as S3TestServer;
  let bucket: string;

  beforeAll(async () => {
    bucket = await createBucket(s3);
  });
  afterAll(async () => {
    if (bucket !== undefined) await deleteBucket(s3, bucket);
  }, 300_000);

  /** Repo A tracking `tree`, its default remote `s3://<bucket>/<prefix>`, committed. */
  async function repoA(
    tree: Record<string, string | Buffer>,
    prefix: string,
    opts: { endpoint?: string; secret?: string; bucket?: string } = {},
  ): Promise<string> {
    const a = gitRepo();
    for (const [rel, content] of Object.entries(tree)) {
      fs.mkdirSync(path.dirname(path.join(a, rel)), { recursive: true });
      fs.writeFileSync(path.join(a, rel), content);
    }
    await initRepo(a);
    await addTargets([...new Set(Object.keys(tree).map((k) => k.split('/')[0]!))], { cwd: a });
    fs.writeFileSync(
      path.join(a, '.dvc', 'config'),
      `[core]\n    remote = s3\n['remote "s3"']\n    url = s3://${opts.bucket ?? bucket}/${prefix}\n` +
        `    endpointurl = ${opts.endpoint ?? s3.endpoint}\n`,
    );
    fs.writeFileSync(
      path.join(a, '.dvc', 'config.local'),
      `['remote "s3"']\n    access_key_id = ${s3.accessKey}\n    secret_access_key = ${opts.secret ?? s3.secretKey}\n`,
    );
    gitCli(a, 'add', '-A');
    gitCli(a, 'commit', '-q', '-m', 'data');
    return a;
  }

  /** A clone of A with A's config.local (credentials are not committed). */
  function cloneOf(a: string): string {
    const b = path.join(tempDir('cpv-s3-clone-'), 'b');
    gitCli(path.dirname(b), 'clone', '-q', a, b);
    fs.copyFileSync(path.join(a, '.dvc', 'config.local'), path.join(b, '.dvc', 'config.local'));
    return b;
  }

  async function rejection(p: Promise<unknown>): Promise<CpvError> {
    const err = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CpvError);
    return err as CpvError;
  }

  const md5 = (bytes: Buffer) => createHash('md5').update(bytes).digest('hex');

  it('round trip of files, directories and empty files, in DVC key layout', async () => {
    const tree = {
      'model.bin': 'weights',
      'data/a.txt': 'alpha',
      'data/sub/b.txt': 'bravo',
      'data/empty': '',
    };
    const a = await repoA(tree, 'team/store');
    const out = captureOutput();
    expect(await main(['--cwd', a, 'push'], out)).toBe(0);
    expect(out.stdout).toBe('5 files pushed\n');
    const keys = (await listKeys(s3, bucket, 'team/store/')).map((k) => k.slice('team/store/'.length));
    const cacheKeys: string[] = [];
    const visit = (d: string, rel: string) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        if (e.isDirectory()) visit(path.join(d, e.name), `${rel}${e.name}/`);
        else cacheKeys.push(rel + e.name);
      }
    };
    visit(path.join(a, '.dvc', 'cache'), '');
    expect(keys.sort()).toEqual(cacheKeys.sort());

    expect((await cloudStatus([], { cwd: a })).status).toEqual({});
    const b = cloneOf(a);
    const result = await pull([], { cwd: b });
    expect(result.fetched).toBe(5);
    for (const [rel, text] of Object.entries(tree))
      expect(fs.readFileSync(path.join(b, rel), 'utf8')).toBe(text);
    expect((await repoStatus([], { cwd: b })).stages).toEqual({});
  });

  it('a file over 100 MiB goes up in parts and comes back intact', async () => {
    const block = Buffer.alloc(MiB);
    const big = Buffer.alloc(101 * MiB + 12_345);
    for (let i = 0; i * MiB < big.length; i++) {
      block.fill(i % 251);
      block.writeUInt32BE(i, 0);
      block.copy(big, i * MiB);
    }
    const a = await repoA({ 'big.bin': big }, 'big');
    let bytes = 0;
    await push([], { cwd: a, jobs: 4, onProgress: (p) => (bytes = p.bytesDone) });
    expect(bytes).toBe(big.length);
    const oid = md5(big);
    const head = await adminClient(s3).send(
      new HeadObjectCommand({ Bucket: bucket, Key: `big/files/md5/${oid.slice(0, 2)}/${oid.slice(2)}` }),
    );
    expect(head.ContentLength).toBe(big.length);
    expect(head.ETag).toMatch(/-\d+"$/); // a multipart upload's ETag ends in -<parts>
    const b = cloneOf(a);
    await pull([], { cwd: b });
    expect(md5(fs.readFileSync(path.join(b, 'big.bin')))).toBe(oid);
  });

  it('5,000 small files round trip', async () => {
    const tree: Record<string, string> = {};
    for (let i = 0; i < 5000; i++) tree[`many/d${i % 50}/f${i}.txt`] = `small file number ${i}\n`;
    const a = await repoA(tree, 'many');
    expect((await push([], { cwd: a, jobs: 16 })).pushed).toBe(5001);
    expect((await push([], { cwd: a })).pushed).toBe(0);
    const b = cloneOf(a);
    expect((await pull([], { cwd: b, jobs: 16 })).fetched).toBe(5001);
    expect(fs.readFileSync(path.join(b, 'many/d7/f4007.txt'), 'utf8')).toBe('small file number 4007\n');
    expect((await repoStatus([], { cwd: b })).stages).toEqual({});
  }, 600_000); // the server sets the pace: a one-OSD Ceph on a busy 2-core box does ~60 PUT/s

  it('an object altered on the server is detected on pull and not cached', async () => {
    const a = await repoA({ 'data/x.txt': 'original', 'data/y.txt': 'other' }, 'altered');
    await push([], { cwd: a });
    const oid = md5(Buffer.from('original'));
    await adminClient(s3).send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: `altered/files/md5/${oid.slice(0, 2)}/${oid.slice(2)}`,
        Body: 'tampered',
      }),
    );
    const b = cloneOf(a);
    const out = captureOutput();
    expect(await main(['--cwd', b, 'pull'], out)).toBe(1);
    expect(out.stderr).toContain('data/x.txt');
    expect(out.stderr).toContain('corrupt');
    expect(fs.existsSync(path.join(b, '.dvc', 'cache', 'files', 'md5', oid.slice(0, 2), oid.slice(2)))).toBe(
      false,
    );
  });

  it('bad credentials, a missing bucket and a wrong endpoint each give one clear error', async () => {
    const tree = { 'f.txt': 'x' };
    const cases: Array<[Parameters<typeof repoA>[2], string, RegExp]> = [
      [{ secret: 'wrong-secret' }, 'E_AUTH', /access denied/],
      [{ bucket: `${bucket}-missing` }, 'E_REMOTE_NOT_FOUND', /does not exist/],
      [{ endpoint: 'http://127.0.0.1:9' }, 'E_NETWORK', /cannot reach/],
    ];
    for (const [opts, code, message] of cases) {
      const a = await repoA(tree, 'errors', opts);
      const err = await rejection(push([], { cwd: a }));
      expect(err.code, code).toBe(code);
      expect(err.message).toMatch(message);
      const out = captureOutput();
      expect(await main(['--cwd', a, 'push'], out)).toBe(1);
      expect(out.stderr.split('\n').filter((l) => l.startsWith('cpv: error'))).toHaveLength(1);
      expect(out.stdout).toBe('');
    }
  });

  it('a server gone mid-transfer ends in one error; the rerun finishes', async () => {
    // A TCP relay in front of the server, closed while the push runs.
    const sockets = new Set<net.Socket>();
    const target = new URL(s3.endpoint);
    const relay = net.createServer((client) => {
      const upstream = net.connect(Number(target.port || 80), target.hostname);
      sockets.add(client).add(upstream);
      client.pipe(upstream).pipe(client);
      const drop = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', drop);
      upstream.on('error', drop);
    });
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
    const port = (relay.address() as net.AddressInfo).port;
    const tree: Record<string, string> = {};
    for (let i = 0; i < 300; i++) tree[`gone/f${i}.txt`] = `file ${i}\n`.repeat(200);
    const a = await repoA(tree, 'gone', { endpoint: `http://127.0.0.1:${port}` });
    let cut = false;
    const err = await rejection(
      push([], {
        cwd: a,
        jobs: 4,
        onProgress: (p) => {
          if (!cut && p.objectsDone >= 50) {
            cut = true;
            relay.close();
            for (const s of sockets) s.destroy();
          }
        },
      }),
    );
    expect(['E_NETWORK', 'E_TRANSFER_INCOMPLETE', 'E_REMOTE_IO']).toContain(err.code);
    expect(err.message.split('\n')).toHaveLength(1);
    const partial = await listKeys(s3, bucket, 'gone/');
    expect(partial.some((k) => k.endsWith('.dir'))).toBe(false);
    // Point the repo at the server itself and push again: only the rest goes up.
    const config = path.join(a, '.dvc', 'config');
    fs.writeFileSync(config, fs.readFileSync(config, 'utf8').replace(`127.0.0.1:${port}`, target.host));
    const again = await push([], { cwd: a });
    expect(again.pushed).toBe(301 - partial.length);
    expect(await listKeys(s3, bucket, 'gone/')).toHaveLength(301);
  });

  it('a cancelled multipart upload is aborted, and stale ones are cleaned up', async () => {
    const big = Buffer.alloc(40 * MiB, 7);
    const a = await repoA({ 'cancel.bin': big }, 'cancel');
    const controller = new AbortController();
    const err = await rejection(
      push([], {
        cwd: a,
        jobs: 2,
        signal: controller.signal,
        onProgress: (p) => {
          if (p.bytesDone >= 10 * MiB) controller.abort();
        },
      }),
    );
    expect(err.code).toBe('E_ABORTED');
    const uploads = async () =>
      (await adminClient(s3).send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: 'cancel/' })))
        .Uploads ?? [];
    // In-flight parts may land just after the abort; the clean-up must still leave none.
    for (let i = 0; i < 50 && (await uploads()).length > 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(await uploads()).toEqual([]);

    // An upload left by a killed process is swept before the key is uploaded again.
    await adminClient(s3).send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'cancel/leftover' }));
    const remote = await openRemote({
      name: 's3',
      url: `s3://${bucket}/cancel`,
      options: new Map([
        ['endpointurl', s3.endpoint],
        ['access_key_id', s3.accessKey],
        ['secret_access_key', s3.secretKey],
      ]),
    });
    expect(remote).toBeInstanceOf(S3Remote);
    expect(await (remote as S3Remote).abortStaleUploads('', 0)).toBe(1);
    expect(await uploads()).toEqual([]);
    expect((await push([], { cwd: a })).pushed).toBe(1);
  });

  it('a multipart upload left by a killed push is resumed from its intact parts', async () => {
    const size = 12 * MiB + 5; // three 5 MiB parts
    const bytes = Buffer.alloc(size);
    for (let i = 0; i < size; i += 4096) bytes.writeUInt32BE(i, i);
    const file = path.join(tempDir('cpv-s3-resume-'), 'object');
    fs.writeFileSync(file, bytes);
    const oid = md5(bytes);
    const key = `files/md5/${oid.slice(0, 2)}/${oid.slice(2)}`;
    const admin = adminClient(s3);
    const started = async () =>
      (await admin.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: `resume/${key}` })))
        .UploadId!;
    const older = await started(); // a second leftover, to be aborted
    const uploadId = await started();
    const part = (PartNumber: number, Body: Buffer) =>
      admin.send(
        new UploadPartCommand({ Bucket: bucket, Key: `resume/${key}`, UploadId: uploadId, PartNumber, Body }),
      );
    await part(1, bytes.subarray(0, 5 * MiB)); // intact
    await part(2, Buffer.alloc(5 * MiB, 1)); // torn: wrong bytes
    // part 3 never arrived

    const client = adminClient(s3);
    const sent: string[] = [];
    const send = client.send.bind(client);
    client.send = ((command: { constructor: { name: string } }, options?: unknown) => {
      sent.push(command.constructor.name);
      return send(command as never, options as never);
    }) as typeof client.send;
    const remote = new S3Remote({ name: 's3', url: `s3://${bucket}/resume`, client, jobs: 2 });
    await remote.put(key, file, size);
    expect(sent).not.toContain('CreateMultipartUploadCommand');
    expect(sent.filter((name) => name === 'UploadPartCommand')).toHaveLength(2); // parts 2 and 3 only
    const chunks: Buffer[] = [];
    for await (const chunk of await remote.get(key)) chunks.push(chunk as Buffer);
    expect(md5(Buffer.concat(chunks))).toBe(oid);
    const left = await admin.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: 'resume/' }));
    expect((left.Uploads ?? []).map((u) => u.UploadId)).not.toContain(older);
    expect(left.Uploads ?? []).toEqual([]);
  });
});
