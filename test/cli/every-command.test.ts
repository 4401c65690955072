/**
 * Every command through the built binary, as a user runs it, one after another on one repository:
 * exit codes, the JSON shapes where a command has `--json`, and DVC's texts where they are fixed.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { gitCli, gitRepo, tempDir } from '../helpers/tmp.js';

const bin = path.resolve(import.meta.dirname, '../../dist/cli.js');

describe('every command, spawned', () => {
  it('runs the DVC-compatible set and the checkpoint set with their documented exit codes and JSON', () => {
    const dir = gitRepo();
    const home = path.join(tempDir(), 'home');
    const env = { ...process.env, CPV_HOME: home, GIT_AUTHOR_NAME: 'T', GIT_AUTHOR_EMAIL: 't@example.com' };
    const run = (...args: string[]) =>
      spawnSync(process.execPath, [bin, ...args], { cwd: dir, encoding: 'utf8', env });
    const ok = (...args: string[]) => {
      const r = run(...args);
      expect(r.status, `cpv ${args.join(' ')}: ${r.stderr}`).toBe(0);
      return r.stdout;
    };
    const json = (...args: string[]) => JSON.parse(ok(...args));

    fs.mkdirSync(path.join(dir, 'data'));
    fs.writeFileSync(path.join(dir, 'data', 'a.txt'), 'a\n');
    fs.writeFileSync(path.join(dir, 'data', 'b.txt'), 'b\n');
    fs.writeFileSync(path.join(dir, 'model.bin'), 'weights');

    expect(ok('init')).toBe('Initialized DVC repository.\n\nYou can now commit the changes to git.\n');
    expect(ok('add', 'data', 'model.bin')).toContain('git add');
    expect(json('status', '--json')).toEqual({});
    ok('config', 'core.autostage', 'true');
    expect(ok('config', 'core.autostage')).toBe('true\n');
    ok('remote', 'add', '-d', 'store', path.join(tempDir(), 'remote'));
    expect(ok('remote', 'list')).toMatch(/^store\t.*remote/);
    expect(json('push', '--json')).toMatchObject({ pushed: 4 });
    expect(ok('status', '-c')).toMatch(/in sync/);
    gitCli(dir, 'add', '-A');
    gitCli(dir, 'commit', '-qm', 'v1');

    // A change, then diff / commit / ls.
    fs.chmodSync(path.join(dir, 'data', 'a.txt'), 0o644);
    fs.writeFileSync(path.join(dir, 'data', 'a.txt'), 'a2\n');
    expect(json('status', '--json')).toEqual({ 'data.dvc': [{ 'changed outs': { data: 'modified' } }] });
    expect(json('diff', '--json')).toMatchObject({ modified: [{ path: 'data/' }, { path: 'data/a.txt' }] });
    expect(run('commit', 'data.dvc').status).toBe(1); // asks; no terminal, so it refuses
    ok('commit', '-f', 'data.dvc');
    const listed = json('ls', '--json') as Array<{ path: string }>;
    expect(listed.map((e) => e.path).sort()).toEqual(['data/a.txt', 'data/b.txt', 'model.bin']);

    // Workspace restore, transfers, gc.
    fs.rmSync(path.join(dir, 'data'), { recursive: true, force: true });
    expect(ok('checkout')).toMatch(/^M\s+data\/?\n|^A\s+data/m);
    expect(json('push', '--json')).toMatchObject({ pushed: 2 });
    fs.rmSync(path.join(dir, '.dvc', 'cache'), { recursive: true, force: true });
    expect(json('fetch', '--json')).toMatchObject({ fetched: 4 });
    fs.rmSync(path.join(dir, 'model.bin'));
    expect(json('pull', '--json')).toMatchObject({ added: 1 });
    expect(ok('gc', '-w', '-f')).toMatch(/Removed|No unused/);
    expect(json('status', '--json')).toEqual({});

    // Rename and stop tracking.
    ok('move', 'model.bin', 'weights.bin');
    expect(fs.existsSync(path.join(dir, 'weights.bin.dvc'))).toBe(true);
    ok('remove', 'weights.bin.dvc');
    expect(fs.existsSync(path.join(dir, 'weights.bin.dvc'))).toBe(false);
    expect(fs.existsSync(path.join(dir, 'weights.bin'))).toBe(true);

    // Settings, checks, and the checkpoint commands.
    ok('setup', '--storage-dir', path.join(tempDir(), 'storage'));
    expect(json('doctor', '--json').ok).toBe(true);
    const work = tempDir();
    const w = ['--workdir', work];
    expect(json('model', 'init', 'team/net', '--data', path.join(dir, 'data'), ...w, '--json')).toMatchObject(
      {
        team: 'team',
        model: 'net',
      },
    );
    fs.writeFileSync(path.join(work, 'net', 'model.bin'), 'w1');
    expect(json('model', 'upload', 'team/net', '--metrics', '{"acc":0.9}', ...w, '--json')).toMatchObject({
      changed: true,
    });
    expect(json('model', 'tag', 'team/net', ...w, '--json')).toEqual({ tag: 'v1.0' });
    expect(json('data', 'tag', 'team/net', ...w, '--json')).toEqual({ tag: 'data-v1.0' });
    expect(json('model', 'versions', 'team/net', ...w, '--json')).toHaveLength(1);
    expect(json('data', 'info', 'team/net', ...w, '--json')).toMatchObject({ namespace: 'data' });
    expect(json('release', 'info', 'team/net', ...w, '--json').releases).toEqual([
      { version: 'v1.0', modelTag: 'v1.0', dataTag: 'data-v1.0' },
    ]);
    expect(json('model', 'compare', 'team/net', 'v1.0', 'v1.0', ...w, '--json').changedFiles).toEqual([]);
    expect(ok('completion', 'bash')).toContain('complete -F _cpv_complete cpv');

    // Usage errors exit 2, failures exit 1.
    expect(run('checkout', '--no-such-flag').status).toBe(2);
    expect(run('model', 'tag', 'team/net', 'v1.0', ...w).status).toBe(1);
    expect(run('pull', 'no/such/path').status).toBe(1);
  }, 300_000);
});
