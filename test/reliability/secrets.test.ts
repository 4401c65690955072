/**
 * Secrets stay secret: credentials live only in 0600 files outside git, never in tracked files,
 * `.git/config`, error messages or `--json` output — checked with real servers (S3, git over
 * HTTPS with basic auth) and marker strings searched for everywhere cpv writes.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bareRepo, type GitHttpServer, startGitHttpServer } from '../helpers/git-http-server.js';
import { createBucket, deleteBucket, type S3TestServer, s3TestServer } from '../helpers/s3.js';
import { gitCli, gitRepo, tempDir } from '../helpers/tmp.js';
import { record } from './tally.js';

const bin = path.resolve(import.meta.dirname, '../../dist/cli.js');
const SECRET = 'sEcReT-marker-7f3a9c';
const TOKEN = 'tOkEn-marker-41d2be';

let cases = 0;
let failures = 0;
afterAll(() => record('secrets', { cases, failures }));

function cpv(cwd: string, env: NodeJS.ProcessEnv, ...args: string[]) {
  return spawnSync(process.execPath, [bin, ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, GIT_AUTHOR_NAME: 'T', GIT_AUTHOR_EMAIL: 't@example.com', ...env },
  });
}

/**
 * The same, without blocking: the git server of these tests runs in this process, so it can only
 * answer while the test waits asynchronously.
 */
function cpvAsync(cwd: string, env: NodeJS.ProcessEnv, ...args: string[]) {
  const child = spawn(process.execPath, [bin, ...args], {
    cwd,
    env: { ...process.env, GIT_AUTHOR_NAME: 'T', GIT_AUTHOR_EMAIL: 't@example.com', ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  return new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (status) => resolve({ status, stdout, stderr })),
  );
}

/** Every file under `dir` (and its .git) whose bytes contain `marker`, except the allowed ones. */
function filesContaining(dir: string, marker: string, allowed: (rel: string) => boolean): string[] {
  const hits: string[] = [];
  for (const rel of fs.readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    const abs = path.join(dir, rel);
    const st = fs.lstatSync(abs);
    if (!st.isFile() || allowed(rel)) continue;
    if (fs.readFileSync(abs).includes(marker)) hits.push(rel);
  }
  return hits;
}

function expectNoLeak(where: string, text: string, ...markers: string[]) {
  cases++;
  for (const m of markers) {
    if (text.includes(m)) failures++;
    expect(text, `${where} leaks a secret`).not.toContain(m);
  }
}

describe('DVC remote credentials', () => {
  it('a secret set with --local lands in .dvc/config.local (0600, git-ignored) and nowhere else', () => {
    const dir = gitRepo();
    expect(cpv(dir, {}, 'init').status).toBe(0);
    expect(cpv(dir, {}, 'remote', 'add', '-d', 'store', 's3://bucket/prefix').status).toBe(0);
    const r = cpv(dir, {}, 'remote', 'modify', '--local', 'store', 'secret_access_key', SECRET);
    expect(r.status, r.stderr).toBe(0);
    expectNoLeak('remote modify output', r.stdout + r.stderr, SECRET);
    const local = path.join(dir, '.dvc', 'config.local');
    expect(fs.statSync(local).mode & 0o777).toBe(0o600);
    expect(spawnSync('git', ['check-ignore', '-q', '.dvc/config.local'], { cwd: dir }).status).toBe(0);
    expect(filesContaining(dir, SECRET, (rel) => rel === path.join('.dvc', 'config.local'))).toEqual([]);
    gitCli(dir, 'add', '-A');
    expect(gitCli(dir, 'ls-files')).not.toContain('config.local');
  });

  it('a secret written to the committed .dvc/config gets a warning', () => {
    const dir = gitRepo();
    cpv(dir, {}, 'init');
    cpv(dir, {}, 'remote', 'add', '-d', 'store', 's3://bucket/prefix');
    const r = cpv(dir, {}, 'remote', 'modify', 'store', 'secret_access_key', SECRET);
    cases++;
    expect(r.stderr).toMatch(/WARNING: .*secret_access_key.*config\.local|--local/);
  });
});

const s3 = await s3TestServer();

describe.runIf(s3 !== undefined)('S3 errors never show the secret key', () => {
  const server = s3 as S3TestServer;
  let bucket: string;
  beforeAll(async () => {
    bucket = await createBucket(server);
  });
  afterAll(async () => {
    if (bucket) await deleteBucket(server, bucket);
  });

  it('a push with a wrong secret fails with one clear line, and the secret is in no output', () => {
    const dir = gitRepo();
    cpv(dir, {}, 'init');
    fs.writeFileSync(path.join(dir, 'model.bin'), 'weights');
    expect(cpv(dir, {}, 'add', 'model.bin').status).toBe(0);
    cpv(dir, {}, 'remote', 'add', '-d', 'store', `s3://${bucket}/p`);
    cpv(dir, {}, 'remote', 'modify', 'store', 'endpointurl', server.endpoint);
    cpv(dir, {}, 'remote', 'modify', '--local', 'store', 'access_key_id', server.accessKey);
    cpv(dir, {}, 'remote', 'modify', '--local', 'store', 'secret_access_key', SECRET);
    for (const args of [['push'], ['push', '-v'], ['status', '-c', '--json'], ['push', '--json']]) {
      const r = cpv(dir, {}, ...args);
      expect(r.status, args.join(' ')).not.toBe(0);
      expectNoLeak(`cpv ${args.join(' ')}`, r.stdout + r.stderr, SECRET);
    }
  });
});

describe('git host tokens', () => {
  let server: GitHttpServer;
  let root: string;
  beforeAll(async () => {
    root = tempDir();
    server = await startGitHttpServer({ root, auth: { username: 'ada', password: TOKEN } });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('a model pushed over HTTPS keeps the token out of the repo, .git/config, outputs and JSON', async () => {
    bareRepo(root, 'resnet');
    const work = tempDir();
    const home = path.join(tempDir(), 'home');
    const env = { CPV_HOME: home, CPV_GIT_TOKEN: TOKEN };
    const setup = cpv(
      work,
      env,
      'setup',
      '--storage-dir',
      path.join(work, 'storage'),
      '--git-user',
      'ada',
      '--url-template',
      `${server.url}/{model}.git`,
      '--no-validate',
      '--json',
    );
    expect(setup.status, setup.stderr).toBe(0);
    expectNoLeak('setup --json', setup.stdout + setup.stderr, TOKEN);
    expect(fs.statSync(path.join(home, 'config.json')).mode & 0o777).toBe(0o600);

    const outputs: string[] = [];
    const run = async (...args: string[]) => {
      const r = await cpvAsync(work, env, ...args);
      outputs.push(r.stdout, r.stderr);
      expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(0);
    };
    fs.mkdirSync(path.join(work, 'src'));
    fs.writeFileSync(path.join(work, 'src', 'a.csv'), 'x\n');
    await run('model', 'init', 'vision/resnet', '--data', path.join(work, 'src'));
    fs.writeFileSync(path.join(work, 'resnet', 'model.bin'), 'w');
    await run('model', 'upload', 'vision/resnet', '--metrics', '{"loss":1}', '-v', '--json');
    await run('model', 'tag', 'vision/resnet', '--json');
    await run('model', 'info', 'vision/resnet', '--json');
    await run('doctor', '--json', '--team', 'vision', '--model', 'resnet');
    expectNoLeak('command outputs', outputs.join('\n'), TOKEN);

    // The server got the pushes, authenticated.
    expect(server.requests.some((r) => r.method === 'POST' && r.authorized)).toBe(true);
    cases++;
    const leaks = filesContaining(work, TOKEN, () => false);
    if (leaks.length > 0) failures++;
    expect(leaks, 'files holding the token').toEqual([]);
    expect(fs.readFileSync(path.join(work, 'resnet', '.git', 'config'), 'utf8')).not.toContain('ada:');
  });

  it('a wrong token fails with a clear error that does not echo it', async () => {
    bareRepo(root, 'other');
    const work = tempDir();
    const env = { CPV_HOME: path.join(tempDir(), 'home'), CPV_GIT_TOKEN: `${TOKEN}-wrong` };
    cpv(
      work,
      env,
      'setup',
      '--storage-dir',
      path.join(work, 's'),
      '--git-user',
      'ada',
      '--url-template',
      `${server.url}/{model}.git`,
      '--no-validate',
    );
    const r = await cpvAsync(work, env, 'doctor', '--team', 'vision', '--model', 'other');
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^✗ git host: /m);
    expectNoLeak('doctor with a wrong token', r.stdout + r.stderr, TOKEN);
  });
});
