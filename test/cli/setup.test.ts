/**
 * `cpv setup` and `cpv doctor` as a user runs them: the built binary, a private CPV_HOME, flags for
 * unattended use, and the wizard driven through a real terminal (tmux).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp.js';

const bin = path.resolve(import.meta.dirname, '../../dist/cli.js');

function cpv(home: string, ...args: string[]) {
  const env: NodeJS.ProcessEnv = { ...process.env, CPV_HOME: home };
  for (const k of Object.keys(env)) if (k.startsWith('CPV_') && k !== 'CPV_HOME') delete env[k];
  return spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env });
}

const readConfig = (home: string) => JSON.parse(fs.readFileSync(path.join(home, 'config.json'), 'utf8'));

describe('cpv setup (flags) and cpv doctor', () => {
  it('doctor on a fresh machine: every check passes or is skipped, exit 0', () => {
    const home = path.join(tempDir(), 'cpv');
    const r = cpv(home, 'doctor');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^✓ node: Node\.js \d+/m);
    expect(r.stdout).toMatch(/^- settings: .*does not exist/m);
    expect(r.stdout).toMatch(/^- S3: no S3 bucket configured/m);
    expect(r.stdout).toMatch(/^- git host: no git host configured/m);
  });

  it('writes the settings 0600 in a 0700 folder and doctor reports them', () => {
    const home = path.join(tempDir(), 'cpv');
    const data = path.join(tempDir(), 'store');
    const r = cpv(home, 'setup', '--storage-dir', data, '--name', 'Ada L', '--email', 'ada@example.com');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`Settings written to ${path.join(home, 'config.json')}`);
    expect(fs.statSync(home).mode & 0o777).toBe(0o700);
    expect(fs.statSync(path.join(home, 'config.json')).mode & 0o777).toBe(0o600);
    expect(readConfig(home)).toMatchObject({
      storageDir: data,
      identity: { name: 'Ada L', email: 'ada@example.com' },
    });
    const doctor = cpv(home, 'doctor', '--json');
    expect(doctor.status).toBe(0);
    const report = JSON.parse(doctor.stdout);
    expect(report.ok).toBe(true);
    expect(report.checks.identity.detail).toBe('Ada L <ada@example.com>');
    expect(report.checks.settings.detail).toMatch(/mode 600/);
  });

  it('doctor fails on a settings file others can read, with the chmod hint', () => {
    const home = path.join(tempDir(), 'cpv');
    expect(cpv(home, 'setup', '--storage-dir', tempDir()).status).toBe(0);
    fs.chmodSync(path.join(home, 'config.json'), 0o644);
    const r = cpv(home, 'doctor');
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^✗ settings: .* is readable by others \(mode 644\) \(hint: chmod 600 /m);
  });

  it('keeps the git token out of --json output and makes SSH keys 0600', () => {
    const home = path.join(tempDir(), 'cpv');
    const https = cpv(
      home,
      'setup',
      '--git-user',
      'ada',
      '--git-token',
      'tok-SECRET-123',
      '--url-template',
      'https://git.example.com/{team}/{model}.git',
      '--no-validate',
      '--json',
    );
    expect(https.status, https.stderr).toBe(0);
    expect(https.stdout).not.toContain('tok-SECRET-123');
    expect(JSON.parse(https.stdout).config.git).toMatchObject({ token: '***', username: 'ada' });

    const ssh = cpv(home, 'setup', '--git-ssh-key', 'id_cpv', '--no-validate');
    expect(ssh.status, ssh.stderr).toBe(0);
    expect(ssh.stdout).toMatch(/^ssh-ed25519 AAAA\S+ cpv@/m);
    expect(fs.statSync(path.join(home, 'id_cpv')).mode & 0o777).toBe(0o600);
    const again = cpv(home, 'setup', '--git-ssh-key', 'id_cpv', '--no-validate');
    expect(again.status).toBe(2);
    expect(again.stderr).toMatch(/^cpv: error: the key file .*id_cpv exists already\nhint: /);
  });

  it('bad input: S3 options without a bucket, a bad endpoint, no options off a terminal', () => {
    const home = path.join(tempDir(), 'cpv');
    const noBucket = cpv(home, 'setup', '--region', 'eu-west-1');
    expect(noBucket.status).toBe(2);
    expect(noBucket.stderr).toMatch(/^cpv: error: S3 options need --bucket\nhint: /);
    const badEndpoint = cpv(home, 'setup', '--bucket', 'b', '--endpoint', 'not a url');
    expect(badEndpoint.status).toBe(2);
    expect(badEndpoint.stderr).toMatch(/^cpv: error: invalid S3 endpoint 'not a url'/);
    const nothing = spawnSync(process.execPath, [bin, 'setup'], {
      encoding: 'utf8',
      env: { ...process.env, CPV_HOME: home },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    expect(nothing.status).toBe(2);
    expect(nothing.stderr).toMatch(/^cpv: error: nothing to set up/);
    expect(fs.existsSync(path.join(home, 'config.json'))).toBe(false);
  });
});

const hasTmux = spawnSync('tmux', ['-V']).status === 0;

describe.runIf(hasTmux || process.env.CI === 'true')('cpv setup wizard in a real terminal (tmux)', () => {
  const tmux = (...args: string[]) => {
    const r = spawnSync('tmux', args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`tmux ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  /** Waits until the pane shows `text`; returns the screen. */
  async function screenWith(session: string, text: string): Promise<string> {
    let screen = '';
    for (let i = 0; i < 400; i++) {
      screen = tmux('capture-pane', '-p', '-t', session);
      if (screen.includes(text)) return screen;
      await sleep(25);
    }
    throw new Error(`never saw "${text}"; screen:\n${screen}`);
  }

  it('asks storage, git host and identity, and saves the answers', async () => {
    const home = path.join(tempDir(), 'cpv');
    const store = path.join(tempDir(), 'store');
    const done = path.join(path.dirname(home), 'exit-code');
    const session = `cpv-setup-${process.pid}`;
    const cmd = `env -u CI -u GIT_AUTHOR_NAME -u GIT_AUTHOR_EMAIL CPV_HOME=${home} ${process.execPath} ${bin} setup; echo $? > ${done}; sleep 30`;
    tmux('new-session', '-d', '-s', session, '-x', '120', '-y', '40', cmd);
    try {
      await screenWith(session, 'Where should data and model files be stored?');
      // Without a bucket configured, the local directory is the preselected answer.
      tmux('send-keys', '-t', session, 'Enter');
      await screenWith(session, 'Directory for the data?');
      tmux('send-keys', '-t', session, '-l', store);
      tmux('send-keys', '-t', session, 'Enter');
      await screenWith(session, 'How do model repos reach their git host?');
      tmux('send-keys', '-t', session, 'Enter');
      await screenWith(session, 'Your name, for commits?');
      tmux('send-keys', '-t', session, '-l', 'Grace H');
      tmux('send-keys', '-t', session, 'Enter');
      await screenWith(session, 'Your email, for commits?');
      tmux('send-keys', '-t', session, '-l', 'grace@example.com');
      tmux('send-keys', '-t', session, 'Enter');
      const end = await screenWith(session, 'Run cpv doctor');
      expect(end).toContain(`Data goes to ${store}`);
      for (let i = 0; i < 200 && !fs.existsSync(done); i++) await sleep(25);
    } finally {
      spawnSync('tmux', ['kill-session', '-t', session]);
    }
    expect(fs.readFileSync(done, 'utf8').trim()).toBe('0');
    expect(readConfig(home)).toMatchObject({
      storageDir: store,
      identity: { name: 'Grace H', email: 'grace@example.com' },
    });
  }, 60_000);
});
