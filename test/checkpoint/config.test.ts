import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CPVConfig } from '../../src/api/checkpoint/cpv-config.js';
import { encodeOpenSshKeyPair } from '../../src/api/checkpoint/ssh-key.js';
import type { CpvError } from '../../src/errors.js';
import { startConnectProxy } from '../helpers/git-http-server.js';
import { tempDir } from '../helpers/tmp.js';
import { type GitHttpServer, startGitHttpServer } from './helpers/git-http-server.js';
import { createBucket, credentialsFile, denyWrites, listKeys, s3TestServer } from './helpers/s3.js';

const s3 = await s3TestServer();
const S3_ENDPOINT = s3?.endpoint ?? 'http://127.0.0.1:7480';
const fakeServer = { endpoint: S3_ENDPOINT, accessKey: 'k', secretKey: 's', source: 'none' };

const mode = (p: string) => fs.statSync(p).mode & 0o777;

function configIn(env: NodeJS.ProcessEnv = {}): CPVConfig {
  return new CPVConfig({ env: { CPV_HOME: path.join(tempDir('cpv-home-'), 'cpvhome'), ...env } });
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return (err as CpvError).code;
  }
  return undefined;
}

describe('CPVConfig file', () => {
  it('lives under CPV_HOME with a 0700 folder and a 0600 file, written without leftovers', () => {
    const cfg = configIn();
    expect(cfg.getConfig().exists).toBe(false);
    cfg.setupGitHttps({ username: 'alice', token: 'secret-token-1' });
    expect(cfg.path).toBe(path.join(cfg.home, 'config.json'));
    expect(mode(cfg.home)).toBe(0o700);
    expect(mode(cfg.path)).toBe(0o600);
    expect(fs.readdirSync(cfg.home)).toEqual(['config.json']);
    expect(cfg.getConfig().exists).toBe(true);
  });

  it('keeps earlier sections when another is set up', () => {
    const creds = credentialsFile(s3 ?? fakeServer);
    const cfg = configIn();
    cfg.setupAwsProfile({ credentialPath: creds, profile: 'cpvtest', bucket: 'b1', endpoint: S3_ENDPOINT });
    cfg.setupGitHttps({ token: 'secret-token-2', urlTemplate: 'https://git.example.com/{team}/{model}.git' });
    const shown = cfg.getConfig();
    expect(shown.aws).toEqual({
      bucket: 'b1',
      profile: 'cpvtest',
      credentialPath: creds,
      endpoint: S3_ENDPOINT,
    });
    expect(shown.git.urlTemplate).toBe('https://git.example.com/{team}/{model}.git');
  });

  it('redacts the token in getConfig but the file keeps it', () => {
    const cfg = configIn();
    cfg.setupGitHttps({ username: 'alice', token: 'secret-token-3' });
    expect(JSON.stringify(cfg.getConfig())).not.toContain('secret-token-3');
    expect(cfg.getConfig().git.token).toBe('***');
    expect(cfg.effective().git.token).toBe('secret-token-3');
    expect(fs.readFileSync(cfg.path, 'utf8')).toContain('secret-token-3');
  });

  it('lets environment variables override the file and says so', () => {
    const cfg = configIn({
      CPV_S3_BUCKET: 'from-env',
      CPV_GIT_TOKEN: 'env-token-9',
      CPV_STORAGE_DIR: '/srv/x',
    });
    cfg.setupAwsProfile({ bucket: 'from-file', region: 'eu-west-1' });
    const shown = cfg.getConfig();
    expect(shown.aws.bucket).toBe('from-env');
    expect(shown.aws.region).toBe('eu-west-1');
    expect(shown.sources['aws.bucket']).toBe('env');
    expect(shown.sources['aws.region']).toBe('file');
    expect(shown.git.token).toBe('***');
    expect(shown.storageDir).toBe('/srv/x');
  });

  it('refuses a corrupt file with a hint instead of overwriting it', () => {
    const cfg = configIn();
    fs.mkdirSync(cfg.home, { recursive: true });
    fs.writeFileSync(cfg.path, '{ not json');
    expect(codeOf(() => cfg.getConfig())).toBe('E_CONFIG_VALUE');
    expect(codeOf(() => cfg.setupLocalStorage('/tmp/x'))).toBe('E_CONFIG_VALUE');
    expect(fs.readFileSync(cfg.path, 'utf8')).toBe('{ not json');
  });
});

describe('setupAwsProfile', () => {
  it('rejects bad buckets, endpoints and missing profiles without writing', () => {
    const creds = credentialsFile(s3 ?? fakeServer);
    const cfg = configIn();
    expect(codeOf(() => cfg.setupAwsProfile({ bucket: 's3://b/x' }))).toBe('E_USAGE');
    expect(codeOf(() => cfg.setupAwsProfile({ bucket: 'b', endpoint: 'localhost:9000' }))).toBe('E_USAGE');
    expect(codeOf(() => cfg.setupAwsProfile({ bucket: 'b', credentialPath: creds, profile: 'nope' }))).toBe(
      'E_CONFIG_MISSING',
    );
    expect(codeOf(() => cfg.setupAwsProfile({ bucket: 'b', credentialPath: `${creds}.missing` }))).toBe(
      'E_CONFIG_MISSING',
    );
    expect(fs.existsSync(cfg.path)).toBe(false);
  });
});

describe('setupGitHttps', () => {
  it('needs a token and a template with known placeholders', () => {
    const cfg = configIn();
    expect(codeOf(() => cfg.setupGitHttps({ token: '' }))).toBe('E_USAGE');
    expect(codeOf(() => cfg.setupGitHttps({ token: 't', urlTemplate: 'https://h/{org}/{model}.git' }))).toBe(
      'E_CONFIG_VALUE',
    );
    expect(fs.existsSync(cfg.path)).toBe(false);
  });
});

describe('setupBitbucketSsh', () => {
  const ssh2 = createRequire(import.meta.url)('ssh2') as {
    utils: {
      parseKey(k: string):
        | {
            type: string;
            getPublicSSH(): Buffer;
            sign(d: Buffer): Buffer;
            verify(d: Buffer, s: Buffer): boolean;
          }
        | Error;
    };
  };

  it('writes an ed25519 key ssh2 and ssh-keygen both read, private 0600, and returns the public line', () => {
    const cfg = configIn();
    const result = cfg.setupBitbucketSsh({ keygenFilename: 'id_cpv', comment: 'me@test' });
    expect(result.privateKeyPath).toBe(path.join(cfg.home, 'id_cpv'));
    expect(mode(result.privateKeyPath)).toBe(0o600);
    expect(result.publicKey).toMatch(/^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI[A-Za-z0-9+/]{43} me@test$/);
    expect(fs.readFileSync(result.publicKeyPath, 'utf8')).toBe(`${result.publicKey}\n`);

    const key = ssh2.utils.parseKey(fs.readFileSync(result.privateKeyPath, 'utf8'));
    if (key instanceof Error) throw key;
    expect(key.type).toBe('ssh-ed25519');
    expect(key.getPublicSSH().toString('base64')).toBe(result.publicKey.split(' ')[1]);
    const data = Buffer.from('challenge');
    expect(key.verify(data, key.sign(data))).toBe(true);

    // The OpenSSH tool derives the same public key from our private key file.
    const derived = spawnSync('ssh-keygen', ['-y', '-f', result.privateKeyPath], { encoding: 'utf8' });
    expect(derived.status).toBe(0);
    expect(derived.stdout.trim().split(' ').slice(0, 2)).toEqual(result.publicKey.split(' ').slice(0, 2));

    expect(cfg.getConfig().git).toMatchObject({ transport: 'ssh', sshKeyPath: result.privateKeyPath });
  });

  it('refuses to replace an existing key unless forced', () => {
    const cfg = configIn();
    const first = cfg.setupBitbucketSsh({ keygenFilename: 'id_x' });
    expect(codeOf(() => cfg.setupBitbucketSsh({ keygenFilename: 'id_x' }))).toBe('E_USAGE');
    const second = cfg.setupBitbucketSsh({ keygenFilename: 'id_x', force: true });
    expect(second.publicKey).not.toBe(first.publicKey);
  });

  it('encodes a fixed key deterministically apart from the check words', () => {
    const seed = Buffer.alloc(32, 1);
    const pub = Buffer.alloc(32, 2);
    const a = encodeOpenSshKeyPair(seed, pub, 'c');
    expect(a.publicKey).toBe(
      `ssh-ed25519 ${Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from('ssh-ed25519'), Buffer.from([0, 0, 0, 32]), pub]).toString('base64')} c`,
    );
    const body = Buffer.from(a.privateKey.split('\n').slice(1, -2).join(''), 'base64');
    expect(body.subarray(0, 15).toString('binary')).toBe('openssh-key-v1\0');
  });
});

describe('validateCredentials against a real git smart-HTTP server', () => {
  let server: GitHttpServer;
  const template = () => `${server.base}{project}/{model}.git`;

  beforeAll(async () => {
    server = await startGitHttpServer();
    server.createRepo('AI-Vision-model-checkpoints/resnet');
  });
  afterAll(async () => {
    await server.close();
  });

  it('reports both services skipped when nothing is configured', async () => {
    const report = await configIn().validateCredentials();
    expect(report.s3).toMatchObject({ ok: true, skipped: true });
    expect(report.git).toMatchObject({ ok: true, skipped: true });
  });

  it('passes with a working token, fails a wrong one as E_AUTH without echoing it', async () => {
    const cfg = configIn();
    cfg.setupGitHttps({ username: server.username, token: server.token, urlTemplate: template() });
    expect((await cfg.validateCredentials()).git).toMatchObject({ ok: true, skipped: true });
    const report = await cfg.validateCredentials({ team: 'vision', model: 'resnet' });
    expect(report.git).toMatchObject({ ok: true });
    expect(report.git.detail).toContain('AI-Vision-model-checkpoints/resnet.git');

    cfg.setupGitHttps({ username: server.username, token: 'wrong-token-77', urlTemplate: template() });
    const bad = await cfg.validateCredentials({ team: 'vision', model: 'resnet' });
    expect(bad.git).toMatchObject({ ok: false, code: 'E_AUTH' });
    expect(JSON.stringify(bad)).not.toContain('wrong-token-77');
  });

  it('reports a missing repo and an unreachable host', async () => {
    const cfg = configIn();
    cfg.setupGitHttps({ username: server.username, token: server.token, urlTemplate: template() });
    const report = await cfg.validateCredentials({ team: 'vision', model: 'missing' });
    expect(report.git).toMatchObject({ ok: false, code: 'E_REMOTE_NOT_FOUND' });
    cfg.setupGitHttps({ token: 't', urlTemplate: 'http://127.0.0.1:9/{model}.git' });
    expect((await cfg.validateCredentials({ team: 'a', model: 'b' })).git).toMatchObject({
      ok: false,
      code: 'E_NETWORK',
    });
  });

  it('checks an SSH key is usable', async () => {
    const cfg = configIn();
    const { privateKeyPath } = cfg.setupBitbucketSsh({ keygenFilename: 'id_v' });
    expect((await cfg.validateCredentials()).git).toMatchObject({ ok: true });
    fs.writeFileSync(privateKeyPath, 'garbage');
    expect((await cfg.validateCredentials()).git).toMatchObject({ ok: false, code: 'E_CONFIG_VALUE' });
  });
});

describe.runIf(s3 !== undefined)(`validateCredentials against a real S3 server (${s3?.source})`, () => {
  const server = s3!;
  let bucket: string;
  let creds: string;

  beforeAll(async () => {
    bucket = await createBucket(server);
    creds = credentialsFile(server);
  });

  it('passes with working credentials and leaves no probe object behind', async () => {
    const cfg = configIn();
    cfg.setupAwsProfile({ credentialPath: creds, profile: 'cpvtest', bucket, endpoint: server.endpoint });
    const report = await cfg.validateCredentials();
    expect(report.s3).toMatchObject({ ok: true });
    expect(report.s3.detail).not.toContain('proxy');
    expect(await listKeys(server, bucket)).toEqual([]);
  });

  it('goes through the proxy the environment names, as transfers do', async () => {
    const proxy = await startConnectProxy();
    try {
      const cfg = configIn({ HTTP_PROXY: proxy.url });
      cfg.setupAwsProfile({ credentialPath: creds, profile: 'cpvtest', bucket, endpoint: server.endpoint });
      const report = await cfg.validateCredentials();
      expect(report.s3).toMatchObject({ ok: true });
      expect(report.s3.detail).toContain(`(through proxy ${new URL(proxy.url).host})`);
      expect(proxy.tunnels).toContain(new URL(server.endpoint).host);
      const dead = configIn({ HTTP_PROXY: 'http://127.0.0.1:1' });
      dead.setupAwsProfile({ credentialPath: creds, profile: 'cpvtest', bucket, endpoint: server.endpoint });
      expect((await dead.validateCredentials()).s3).toMatchObject({ ok: false, code: 'E_NETWORK' });
    } finally {
      await proxy.close();
    }
  });

  it('reports a wrong secret as E_AUTH', async () => {
    const cfg = configIn();
    cfg.setupAwsProfile({ credentialPath: creds, profile: 'wrong', bucket, endpoint: server.endpoint });
    expect((await cfg.validateCredentials()).s3).toMatchObject({ ok: false, code: 'E_AUTH' });
  });

  it('reports a missing bucket and an unreachable endpoint', async () => {
    const cfg = configIn();
    cfg.setupAwsProfile({
      credentialPath: creds,
      profile: 'cpvtest',
      bucket: 'no-such-bucket-cpv',
      endpoint: server.endpoint,
    });
    expect((await cfg.validateCredentials()).s3).toMatchObject({ ok: false, code: 'E_REMOTE_NOT_FOUND' });
    const down = configIn();
    down.setupAwsProfile({
      credentialPath: creds,
      profile: 'cpvtest',
      bucket,
      endpoint: 'http://127.0.0.1:9',
    });
    expect((await down.validateCredentials()).s3).toMatchObject({ ok: false, code: 'E_NETWORK' });
  });

  it('reports a bucket that denies writes as E_AUTH', async () => {
    const locked = await createBucket(server);
    await denyWrites(server, locked);
    const cfg = configIn();
    cfg.setupAwsProfile({
      credentialPath: creds,
      profile: 'cpvtest',
      bucket: locked,
      endpoint: server.endpoint,
    });
    expect((await cfg.validateCredentials()).s3).toMatchObject({ ok: false, code: 'E_AUTH' });
  });
});
