/**
 * gc safety: `gc` and `add` started at the same moment, again and again — the object `add` just
 * stored must survive (both take the repository lock, so gc sees the new .dvc file or runs first);
 * and a gc that keeps git scopes (-a, -T, -A) never removes what those scopes still reference.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { gitCli, gitRepo } from '../helpers/tmp.js';
import { record } from './tally.js';

const ROUNDS = Number(process.env.CPV_GC_ROUNDS ?? (process.env.CI ? 20 : 8));
const bin = path.resolve(import.meta.dirname, '../../dist/cli.js');
let cases = 0;
let failures = 0;
afterAll(() => record('gc safety', { cases, failures }));

function run(cwd: string, ...args: string[]): Promise<{ status: number | null; stderr: string }> {
  const child = spawn(process.execPath, [bin, ...args], { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  return new Promise((resolve) => child.on('close', (status) => resolve({ status, stderr })));
}

function cpv(cwd: string, ...args: string[]): string {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cpv ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

const md5 = (text: string) => crypto.createHash('md5').update(text).digest('hex');
const objectPath = (dir: string, oid: string) =>
  path.join(dir, '.dvc', 'cache', 'files', 'md5', oid.slice(0, 2), oid.slice(2));

describe('gc and add at the same time', () => {
  it(`keeps every newly added object (${ROUNDS} rounds)`, async () => {
    const dir = gitRepo();
    cpv(dir, 'init');
    for (let round = 0; round < ROUNDS; round++) {
      // Garbage for gc to chew on: an old version of a tracked file.
      fs.writeFileSync(path.join(dir, 'old.txt'), `old ${round}`);
      cpv(dir, 'add', 'old.txt');
      fs.rmSync(path.join(dir, 'old.txt.dvc'));
      const text = `new file of round ${round}`;
      fs.writeFileSync(path.join(dir, `new${round}.txt`), text);
      const [add, gc] = await Promise.all([run(dir, 'add', `new${round}.txt`), run(dir, 'gc', '-w', '-f')]);
      expect(add.status, add.stderr).toBe(0);
      expect(gc.status, gc.stderr).toBe(0);
      cases++;
      const kept = fs.existsSync(objectPath(dir, md5(text)));
      if (!kept) failures++;
      expect(kept, `round ${round}: the object add stored was removed by gc`).toBe(true);
    }
    expect(JSON.parse(cpv(dir, 'status', '--json'))).toEqual({});
  }, 600_000);
});

describe('gc keeps what a kept git scope references', () => {
  it('-a keeps other branches, -T keeps tags, -A keeps every commit; -w alone keeps only the workspace', () => {
    const dir = gitRepo();
    cpv(dir, 'init');
    const version = (name: string) => {
      fs.rmSync(path.join(dir, 'm.bin'), { force: true });
      fs.writeFileSync(path.join(dir, 'm.bin'), name);
      cpv(dir, 'add', 'm.bin');
      gitCli(dir, 'add', '-A');
      gitCli(dir, 'commit', '-qm', name);
      return md5(name);
    };
    const first = version('first commit only'); // reachable only through history
    const tagged = version('tagged');
    gitCli(dir, 'tag', 'v1');
    gitCli(dir, 'checkout', '-q', '-b', 'side');
    const side = version('side branch');
    gitCli(dir, 'checkout', '-q', 'main');
    cpv(dir, 'checkout', '-f');
    const head = version('main head');
    const present = (oid: string) => fs.existsSync(objectPath(dir, oid));

    cpv(dir, 'gc', '-w', '-a', '-T', '-A', '-f');
    cases++;
    expect([first, tagged, side, head].map(present)).toEqual([true, true, true, true]);
    cpv(dir, 'gc', '-w', '-a', '-T', '-f');
    cases++;
    expect([first, tagged, side, head].map(present)).toEqual([false, true, true, true]);
    cpv(dir, 'gc', '-w', '-T', '-f');
    cases++;
    expect([tagged, side, head].map(present)).toEqual([true, false, true]);
    cpv(dir, 'gc', '-w', '-f');
    cases++;
    expect([tagged, head].map(present)).toEqual([false, true]);
    expect(JSON.parse(cpv(dir, 'status', '--json'))).toEqual({});
  });
});
