/**
 * The terminal-facing parts of the CLI: when colour and progress bars are on, how errors read,
 * shell completion, and Ctrl-C. Progress bars are checked in a real pseudo-terminal (tmux).
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { reportError } from '../../src/cli/errors.js';
import { main } from '../../src/cli/main.js';
import { captureOutput } from '../../src/cli/output.js';
import { createProgress, NO_PROGRESS } from '../../src/cli/progress.js';
import { colorWanted, progressWanted, uiSettings } from '../../src/cli/ui.js';
import { CpvError } from '../../src/errors.js';
import { gitRepo, tempDir } from '../helpers/tmp.js';

const bin = path.resolve(import.meta.dirname, '../../dist/cli.js');

describe('colour and progress settings', () => {
  it('colour: NO_COLOR wins, then FORCE_COLOR, then the terminal', () => {
    expect(colorWanted({ NO_COLOR: '1', FORCE_COLOR: '1' }, true)).toBe(false);
    expect(colorWanted({ NO_COLOR: '' }, true)).toBe(true);
    expect(colorWanted({ FORCE_COLOR: '1' }, false)).toBe(true);
    expect(colorWanted({ FORCE_COLOR: '0' }, true)).toBe(false);
    expect(colorWanted({}, false)).toBe(false);
  });

  it('progress: only on a terminal, never under CI, --json or -q', () => {
    expect(progressWanted({}, true, {})).toBe(true);
    expect(progressWanted({}, false, {})).toBe(false);
    expect(progressWanted({ CI: 'true' }, true, {})).toBe(false);
    expect(progressWanted({ CI: 'false' }, true, {})).toBe(true);
    expect(progressWanted({}, true, { json: true })).toBe(false);
    expect(progressWanted({}, true, { quiet: true })).toBe(false);
  });

  it('an Output that is not a terminal gets no bars', async () => {
    const out = captureOutput();
    const ui = uiSettings(out, {}, {});
    expect(ui).toEqual({ json: false, quiet: false, verbose: false, color: false, progress: false });
    expect(await createProgress(out, ui)).toBe(NO_PROGRESS);
  });
});

describe('error reports', () => {
  it('one line, a hint, the stack only when verbose', () => {
    const err = new CpvError('E_TARGET_MISSING', "path 'x' does not exist\nsecond line", {
      hint: 'Check it.',
    });
    const plain = captureOutput();
    expect(reportError(err, plain)).toBe(1);
    expect(plain.stderr).toBe("cpv: error: path 'x' does not exist\nhint: Check it.\n");
    const verbose = captureOutput();
    reportError(err, verbose, { verbose: true });
    expect(verbose.stderr).toMatch(/^cpv: error: .*\nhint: Check it\.\nCpvError: [\s\S]*?\n\s+at /);
    const colored = captureOutput();
    reportError(err, colored, { color: true });
    expect(colored.stderr).toContain('\u001b[31merror\u001b[39m');
  });

  it('unexpected errors say so and exit 1; aborts exit 130', () => {
    const out = captureOutput();
    expect(reportError(new TypeError('boom'), out)).toBe(1);
    expect(out.stderr).toMatch(/^cpv: error: unexpected error: boom\nhint: this is a bug/);
    const abort = new AbortController();
    abort.abort();
    const aborted = captureOutput();
    expect(reportError(abort.signal.reason, aborted)).toBe(130);
    expect(reportError(new CpvError('E_ABORTED', 'stopped'), aborted)).toBe(130);
  });

  it('usage errors for a bad shell name exit 2', async () => {
    const out = captureOutput();
    expect(await main(['completion', 'fish'], out)).toBe(2);
    expect(out.stderr).toMatch(/^cpv: error: unknown shell 'fish'\nhint: Use one of: bash, zsh/);
  });

  it('-v anywhere on the line adds the stack to an error', async () => {
    const dir = tempDir();
    const out = captureOutput();
    expect(await main(['--cwd', dir, 'status', '-v'], out)).toBe(1);
    expect(out.stderr).toMatch(/^cpv: error: you are not inside of a DVC repository.*\nhint: .*\n.*CpvError/);
  });
});

describe('shell completion', () => {
  function completeWith(script: string, words: string[]): string[] {
    // Drive the generated function the way bash does: COMP_WORDS/COMP_CWORD in, COMPREPLY out.
    const driver = `${script}
COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}
_cpv_complete; printf '%s\\n' "\${COMPREPLY[@]}"`;
    const r = spawnSync('bash', ['-c', driver], { encoding: 'utf8', cwd: tempDir() });
    expect(r.status, r.stderr).toBe(0);
    return r.stdout.split('\n').filter(Boolean).sort();
  }

  it('bash: completes commands, then the flags of the command typed', async () => {
    const out = captureOutput();
    expect(await main(['completion', 'bash'], out)).toBe(0);
    expect(completeWith(out.stdout, ['cpv', 'sta'])).toEqual(['status']);
    expect(completeWith(out.stdout, ['cpv', 'status', '--js'])).toEqual(['--json']);
    expect(completeWith(out.stdout, ['cpv', 'init', '--'])).toEqual(
      ['--force', '--help', '--no-scm', '--quiet', '--subdir'].sort(),
    );
  });

  it('zsh: a #compdef script that zsh can parse', async () => {
    const out = captureOutput();
    expect(await main(['completion', 'zsh'], out)).toBe(0);
    expect(out.stdout.startsWith('#compdef cpv\n')).toBe(true);
    expect(out.stdout).toContain('complete -F _cpv_complete cpv');
    const r = spawnSync('bash', ['-n'], { input: out.stdout, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
  });
});

const hasTmux = spawnSync('tmux', ['-V']).status === 0;

describe.runIf(hasTmux || process.env.CI === 'true')('progress bars in a real terminal (tmux)', () => {
  function tmux(...args: string[]): string {
    const r = spawnSync('tmux', args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`tmux ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  }

  /** Runs `cpv add` in a detached tmux pane; returns every screen seen until it exits. */
  function addInTerminal(dir: string, extraEnv: string, extraArgs: string): Promise<string> {
    return cpvInTerminal(dir, extraEnv, `add data ${extraArgs}`);
  }

  async function cpvInTerminal(dir: string, extraEnv: string, args: string): Promise<string> {
    const session = `cpv-ui-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    const done = path.join(dir, '.done');
    fs.rmSync(done, { force: true });
    const cmd = `cd ${dir} && env -u CI ${extraEnv} ${process.execPath} ${bin} ${args}; echo $? > ${done}; sleep 30`;
    tmux('new-session', '-d', '-s', session, '-x', '120', '-y', '20', cmd);
    const screens: string[] = [];
    try {
      for (let i = 0; i < 600 && !fs.existsSync(done); i++) {
        screens.push(tmux('capture-pane', '-p', '-t', session));
        await new Promise((r) => setTimeout(r, 25));
      }
      screens.push(tmux('capture-pane', '-p', '-t', session));
    } finally {
      spawnSync('tmux', ['kill-session', '-t', session]);
    }
    expect(fs.readFileSync(done, 'utf8').trim()).toBe('0');
    return screens.join('\n----\n');
  }

  async function repoWithFiles(): Promise<string> {
    const dir = gitRepo();
    fs.mkdirSync(path.join(dir, 'data'));
    for (let i = 0; i < 3000; i++) fs.writeFileSync(path.join(dir, 'data', `f${i}`), `file ${i}`);
    expect(spawnSync(process.execPath, [bin, 'init'], { cwd: dir }).status).toBe(0);
    return dir;
  }

  it('draws a bar for the files hashed, and none under CI or -q', async () => {
    const withBar = await addInTerminal(await repoWithFiles(), '', '');
    expect(withBar).toMatch(/data\s+[█░]+\s+100% 3000\/3000 files/);
    const underCi = await addInTerminal(await repoWithFiles(), 'CI=true', '');
    expect(underCi).not.toMatch(/[█░]/);
    expect(underCi).toContain('git add');
    const quiet = await addInTerminal(await repoWithFiles(), '', '-q');
    expect(quiet).not.toMatch(/[█░]/);
  }, 60_000);

  it('draws a bar of bytes for a push, and none with --json', async () => {
    const dir = gitRepo();
    fs.writeFileSync(path.join(dir, 'big.bin'), Buffer.alloc(64 << 20, 1));
    const run = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { cwd: dir }).status;
    expect(run('init')).toBe(0);
    expect(run('add', 'big.bin')).toBe(0);
    expect(run('remote', 'add', '-d', 'store', path.join(tempDir(), 'remote'))).toBe(0);
    const json = await cpvInTerminal(dir, '', 'push --json');
    expect(json).not.toMatch(/[█░]/);
    fs.rmSync(path.join(dir, '.dvc', 'tmp', 'cpv-state.log'), { force: true });
    const other = path.join(tempDir(), 'remote2');
    expect(run('remote', 'add', '-d', '-f', 'store', other)).toBe(0);
    const bar = await cpvInTerminal(dir, '', 'push');
    expect(bar).toMatch(/Pushing\s+[█░]+\s+100% 64\.0 MiB\/64\.0 MiB/);
    expect(bar).toContain('1 file pushed');
  }, 60_000);
});

describe('Ctrl-C', () => {
  it('the first SIGINT aborts the run: exit 130 and nothing half-written', async () => {
    const dir = gitRepo();
    fs.mkdirSync(path.join(dir, 'data'));
    for (let i = 0; i < 20_000; i++) fs.writeFileSync(path.join(dir, 'data', `f${i}`), `file ${i}`);
    expect(spawnSync(process.execPath, [bin, 'init'], { cwd: dir }).status).toBe(0);
    const child = spawn(process.execPath, [bin, 'add', 'data'], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    // Interrupt once the workers are busy (the lock file appears when add starts its work).
    const lock = path.join(dir, '.dvc', 'tmp', 'lock');
    for (let i = 0; i < 400 && !fs.existsSync(lock); i++) await new Promise((r) => setTimeout(r, 5));
    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(130);
    expect(stderr).toContain('interrupt');
    expect(fs.existsSync(path.join(dir, 'data.dvc'))).toBe(false);
    // Every object that made it into the cache is complete: its name is its hash.
    const status = spawnSync(process.execPath, [bin, 'add', 'data'], { cwd: dir, encoding: 'utf8' });
    expect(status.status, status.stderr).toBe(0);
    expect(fs.existsSync(path.join(dir, 'data.dvc'))).toBe(true);
  }, 60_000);
});
