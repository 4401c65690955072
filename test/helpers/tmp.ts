/** Temp directories for tests, removed after each test file. */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll } from 'vitest';

const made: string[] = [];
afterAll(() => {
  for (const dir of made) fs.rmSync(dir, { recursive: true, force: true });
});

export function tempDir(prefix = 'cpv-test-'): string {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), prefix)));
  made.push(dir);
  return dir;
}

/** Runs the git CLI as a test peer (never used by cpv itself). */
export function gitCli(cwd: string, ...args: string[]): string {
  const r = spawnSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 'Test',
      GIT_AUTHOR_EMAIL: 'test@example.com',
      GIT_COMMITTER_NAME: 'Test',
      GIT_COMMITTER_EMAIL: 'test@example.com',
    },
  });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/** A fresh `git init` directory. */
export function gitRepo(): string {
  const dir = tempDir();
  gitCli(dir, 'init', '-q', '-b', 'main');
  return dir;
}

export type TreeContent =
  | string
  | null
  | { base64: string }
  | { text: string; mode?: string }
  | { gen: Array<{ base64: string; repeat?: number }> }
  | { symlink: string };

/** Materialises a `dvc-vectors.json` style tree under `root`. */
export function materialise(root: string, tree: Record<string, TreeContent>): void {
  for (const [rel, content] of Object.entries(tree)) {
    const p = path.join(root, rel);
    if (rel.endsWith('/') && content === null) {
      fs.mkdirSync(p, { recursive: true });
      continue;
    }
    fs.mkdirSync(path.dirname(p), { recursive: true });
    if (typeof content === 'string') fs.writeFileSync(p, Buffer.from(content, 'utf8'));
    else if (content === null) throw new Error(`null content for ${rel}`);
    else if ('base64' in content) fs.writeFileSync(p, Buffer.from(content.base64, 'base64'));
    else if ('text' in content) {
      fs.writeFileSync(p, content.text);
      if (content.mode) fs.chmodSync(p, Number.parseInt(content.mode, 8));
    } else if ('gen' in content) {
      const parts = content.gen.flatMap((g) =>
        Array<Buffer>(g.repeat ?? 1).fill(Buffer.from(g.base64, 'base64')),
      );
      fs.writeFileSync(p, Buffer.concat(parts));
    } else fs.symlinkSync(content.symlink, p);
  }
}

/** Every file under `dir` (relative posix paths → mode and content hex-free summary), for before/after checks. */
export function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const visit = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const abs = path.join(d, e.name);
      const rel = path.relative(dir, abs).split(path.sep).join('/');
      if (e.name === '.git') continue;
      if (e.isDirectory()) {
        out[`${rel}/`] = 'dir';
        visit(abs);
      } else if (e.isSymbolicLink()) out[rel] = `-> ${fs.readlinkSync(abs)}`;
      else {
        const st = fs.statSync(abs);
        out[rel] = `${(st.mode & 0o777).toString(8)} ${fs.readFileSync(abs).toString('base64')}`;
      }
    }
  };
  visit(dir);
  return out;
}
