/**
 * The CLI end to end: in-process through `main()` (fast, covered) and once as a real process from
 * the built `dist/cli.js` (exit codes and streams as a user sees them).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { captureOutput } from '../../src/cli/output.js';
import { gitRepo, materialise, tempDir } from '../helpers/tmp.js';
import { loadVectors } from '../helpers/vectors.js';

const behaviour = loadVectors().find((v) => v.id === 'behaviour-status-push-pull-output')!;
const expected = behaviour.expect as Record<string, string>;

async function cpv(cwd: string, ...args: string[]) {
  const output = captureOutput();
  const code = await main(['--cwd', cwd, ...args], output);
  return { code, stdout: output.stdout, stderr: output.stderr };
}

describe('cpv CLI (in process)', () => {
  it('init, add, status: DVC texts for clean, modified, deleted and not in cache', async () => {
    const dir = gitRepo();
    materialise(dir, behaviour.tree);
    expect((await cpv(dir, 'init')).stdout).toBe(
      'Initialized DVC repository.\n\nYou can now commit the changes to git.\n',
    );
    const add = await cpv(dir, 'add', 'foo', 'bar', 'data');
    expect(add.code).toBe(0);
    expect(add.stdout).toContain('\tgit add .gitignore foo.dvc bar.dvc data.dvc\n');
    expect(await cpv(dir, 'status')).toEqual({
      code: 0,
      stdout: 'Data and pipelines are up to date.\n',
      stderr: '',
    });
    expect((await cpv(dir, 'status', '--json')).stdout).toBe('{}\n');

    fs.chmodSync(path.join(dir, 'bar'), 0o644);
    fs.writeFileSync(path.join(dir, 'bar'), 'bar2');
    fs.chmodSync(path.join(dir, 'data/a'), 0o644);
    fs.writeFileSync(path.join(dir, 'data/a'), 'a2');
    expect((await cpv(dir, 'status')).stdout).toBe(expected.local_modified_text);
    expect((await cpv(dir, 'status', '--json')).stdout).toBe(`${expected.local_modified_json}\n`);
    expect((await cpv(dir, 'status', '-q')).code).toBe(1);

    fs.rmSync(path.join(dir, 'data'), { recursive: true });
    expect((await cpv(dir, 'status', '--json', 'data.dvc')).stdout).toBe(`${expected.local_deleted_json}\n`);

    fs.rmSync(path.join(dir, '.dvc/cache/files/md5/ac/bd18db4cc2f85cedef654fccc4a4d8'));
    expect((await cpv(dir, 'status', 'foo.dvc')).stdout).toBe(expected.local_not_in_cache_text);
  });

  it('prints no git hint in a --no-scm repository, as DVC (there is nothing to git add)', async () => {
    const dir = tempDir();
    materialise(dir, { 'model.bin': 'weights', 'data/a': 'a' });
    expect((await cpv(dir, 'init', '--no-scm')).code).toBe(0);
    expect(await cpv(dir, 'add', 'model.bin', 'data')).toEqual({ code: 0, stdout: '', stderr: '' });
    fs.chmodSync(path.join(dir, 'model.bin'), 0o644);
    fs.writeFileSync(path.join(dir, 'model.bin'), 'weights v2');
    expect(await cpv(dir, 'commit', '-f', 'model.bin.dvc')).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(await cpv(dir, 'move', 'data', 'inputs')).toEqual({ code: 0, stdout: '', stderr: '' });
    expect((await cpv(dir, 'remove', 'inputs.dvc')).stdout).toBe('');
    expect(fs.existsSync(path.join(dir, '.gitignore'))).toBe(false);
  });

  it('prints nothing-tracked text, warns on empty data and escapes non-ASCII in JSON', async () => {
    const dir = gitRepo();
    await cpv(dir, 'init');
    expect((await cpv(dir, 'status')).stdout).toBe(
      'There are no data or pipelines tracked in this project yet.\n',
    );
    fs.writeFileSync(path.join(dir, 'café'), '');
    const add = await cpv(dir, 'add', 'café');
    expect(add.stderr).toBe("WARNING: 'café' is empty.\n");
    fs.rmSync(path.join(dir, 'café'));
    expect((await cpv(dir, 'status', '--json')).stdout).toBe(
      '{"caf\\u00e9.dvc": [{"changed outs": {"caf\\u00e9": "deleted"}}]}\n',
    );
  });

  it('one-line errors with a hint and exit 1; usage errors exit 2', async () => {
    const dir = gitRepo();
    await cpv(dir, 'init');
    const missing = await cpv(dir, 'add', 'nope');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^cpv: error: path 'nope' does not exist\nhint: .+\n$/);
    const noArgs = await cpv(dir, 'add');
    expect(noArgs.code).toBe(2);
    expect(noArgs.stderr).toMatch(/^cpv: error: missing required argument 'targets'/);
    const typo = await cpv(dir, 'stauts');
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/^cpv: error: unknown command 'stauts'\n\(Did you mean status\?\)/);
    const badFlag = await cpv(dir, 'add', '--bogus', 'x');
    expect(badFlag.code).toBe(2);
    expect(badFlag.stderr).toMatch(/^cpv: error: unknown option '--bogus'/);
    expect((await cpv(dir, 'init')).stderr).toMatch(/^cpv: error: .*exists\nhint: .*cpv init -f/);
    const notRepo = await cpv(tempDir(), 'status');
    expect(notRepo.code).toBe(1);
    expect(notRepo.stderr).toMatch(/not inside of a DVC repository/);
  });

  it('init -q prints nothing', async () => {
    const dir = gitRepo();
    expect(await cpv(dir, 'init', '-q')).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(fs.existsSync(path.join(dir, '.dvc', 'config'))).toBe(true);
  });

  it('--version and --help exit 0', async () => {
    const pkg = JSON.parse(fs.readFileSync(path.resolve(import.meta.dirname, '../../package.json'), 'utf8'));
    const v = await cpv('.', '--version');
    expect(v).toEqual({ code: 0, stdout: `${pkg.version}\n`, stderr: '' });
    const help = await cpv('.', '--help');
    expect(help.code).toBe(0);
    for (const cmd of ['add', 'status', 'push', 'gc', 'model', 'release']) {
      const sub = await cpv('.', cmd, '--help');
      expect(sub.code).toBe(0);
      expect(sub.stdout).toMatch(new RegExp(`\\nExamples:\\n {2}cpv ${cmd}\\b`));
    }
    expect(help.stdout).toMatch(/init[\s\S]*add[\s\S]*status/);
    expect(help.stdout).toMatch(
      /Exit codes:\n {2}0 +success\n {2}1 .*\n {2}2 +usage error.*\n {2}130 +interrupted/,
    );
  });
});

describe('cpv CLI (built binary)', () => {
  const bin = path.resolve(import.meta.dirname, '../../dist/cli.js');

  it('runs init/add/status as a process with the documented exit codes', () => {
    expect(fs.existsSync(bin), 'dist/cli.js is missing: run npm run build (npm test does it first)').toBe(
      true,
    );
    const dir = gitRepo();
    fs.writeFileSync(path.join(dir, 'model.bin'), 'weights');
    const run = (...args: string[]) =>
      spawnSync(process.execPath, [bin, ...args], { cwd: dir, encoding: 'utf8' });
    expect(run('init').status).toBe(0);
    expect(run('add', 'model.bin').status).toBe(0);
    const status = run('status', '--json');
    expect(status.status).toBe(0);
    expect(status.stdout).toBe('{}\n');
    const bad = run('add', 'missing.bin');
    expect(bad.status).toBe(1);
    expect(bad.stderr.split('\n')[0]).toBe("cpv: error: path 'missing.bin' does not exist");
    expect(run('--nonsense').status).toBe(2);
  });
});
