/**
 * The workspace commands through the CLI (in-process `main()`): flags reach the API, output is
 * DVC's, refusals are one `error:` line plus a hint and a non-zero exit, nothing half-done.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { captureOutput } from '../../src/cli/output.js';
import { gitCli, gitRepo, materialise, tempDir } from '../helpers/tmp.js';
import { FIXTURES } from '../helpers/vectors.js';

async function run(cwd: string, ...args: string[]) {
  const output = captureOutput();
  const code = await main(['--cwd', cwd, ...args], output);
  return { code, stdout: output.stdout, stderr: output.stderr };
}

async function repoWithData(): Promise<string> {
  const dir = gitRepo();
  materialise(dir, { 'model.bin': 'weights', 'data/a.txt': 'alpha', 'data/b.txt': 'bravo' });
  expect((await run(dir, 'init')).code).toBe(0);
  expect((await run(dir, 'add', 'model.bin', 'data')).code).toBe(0);
  return dir;
}

function unpack(name: string): string {
  const top = tempDir(`cpv-cli-${name}-`);
  const r = spawnSync('tar', ['-xzpf', path.join(FIXTURES, 'repos', `${name}.tar.gz`), '-C', top]);
  if (r.status !== 0) throw new Error(String(r.stderr));
  return path.join(top, name, 'repo');
}

describe('workspace commands via the CLI', () => {
  it('checkout prints DVC-style change lines; a refusal names the files and --force', async () => {
    const dir = await repoWithData();
    fs.rmSync(path.join(dir, 'data'), { recursive: true });
    const ok = await run(dir, 'checkout');
    expect(ok).toMatchObject({ code: 0, stdout: 'A       data/\n' });
    fs.writeFileSync(path.join(dir, 'model.bin'), 'unsaved');
    const refused = await run(dir, 'checkout', 'model.bin');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('model.bin');
    expect(refused.stderr).toContain('--force');
    expect(fs.readFileSync(path.join(dir, 'model.bin'), 'utf8')).toBe('unsaved');
    expect(await run(dir, 'checkout', '-f', 'model.bin')).toMatchObject({
      code: 0,
      stdout: 'M       model.bin\n',
    });
    expect(await run(dir, 'checkout', '--relink', '-q')).toMatchObject({ code: 0, stdout: '' });
  });

  it('commit refuses changes without a terminal or -f, then prints the git hint', async () => {
    const dir = await repoWithData();
    fs.writeFileSync(path.join(dir, 'data/a.txt'), 'changed');
    const refused = await run(dir, 'commit');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/unable to commit changed 'data\.dvc'/);
    const ok = await run(dir, 'commit', '-f');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('\tgit add data.dvc\n');
    expect((await run(dir, 'status', '--json')).stdout).toBe('{}\n');
  });

  it('move and remove keep .dvc and .gitignore consistent; remove prints nothing', async () => {
    const dir = await repoWithData();
    const moved = await run(dir, 'move', 'model.bin', 'model-v1.bin');
    expect(moved.code).toBe(0);
    expect(moved.stdout).toContain('model-v1.bin.dvc');
    expect(fs.readFileSync(path.join(dir, '.gitignore'), 'utf8')).toBe('/data\n/model-v1.bin\n');
    expect(await run(dir, 'remove', 'model-v1.bin.dvc')).toMatchObject({ code: 0, stdout: '', stderr: '' });
    expect(fs.readFileSync(path.join(dir, '.gitignore'), 'utf8')).toBe('/data\n');
    expect((await run(dir, 'remove', 'data')).code).toBe(2); // a usage error: not a .dvc file
    expect(await run(dir, 'remove', '--outs', 'data.dvc')).toMatchObject({ code: 0 });
    expect(fs.existsSync(path.join(dir, 'data'))).toBe(false);
  });

  it('diff and ls print what DVC printed on the history fixture', async () => {
    const repo = unpack('history');
    const json = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'repos', 'history.json'), 'utf8'));
    expect((await run(repo, 'diff', 'v1.0', 'v1.1')).stdout).toBe(json.commands.diff_text_v1_0_v1_1.stdout);
    expect((await run(repo, 'diff', '--json', '--show-hash', 'v1.0', 'v1.1')).stdout).toBe(
      json.commands.diff_json_show_hash_v1_0_v1_1.stdout,
    );
    expect((await run(repo, 'ls', '--json', 'exp')).stdout).toBe(json.commands.ls_json_rev_exp.stdout);
    const text = (await run(repo, 'ls')).stdout;
    expect(text.trim().split('\n')).toHaveLength(5);
    expect((await run(repo, 'diff', 'nope')).code).toBe(1);
  });

  it('gc: no scope is a usage error; no terminal and no -f refuses; -f and --dry print DVC lines', async () => {
    const repo = unpack('history');
    const json = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'repos', 'history.json'), 'utf8'));
    const noScope = await run(repo, 'gc', '-f');
    expect(noScope.code).toBe(2);
    expect(noScope.stderr).toContain('needs to be set');
    const refused = await run(repo, 'gc', '-w');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('8 objects');
    const dry = await run(repo, 'gc', '-w', '--dry');
    expect(dry.stdout).toMatch(/^Would remove 8 objects/);
    const done = await run(repo, 'gc', '-T', '-f');
    expect(done.stdout).toBe(json.commands.gc_T.stdout);
    expect(done.stderr).toBe(json.commands.gc_T.stderr);
    gitCli(repo, 'status', '--porcelain');
  });
});
