/**
 * Creating a repository the way `git init` does. isomorphic-git's own init writes a `[core]`
 * section tuned for browsers (`filemode = false`, `symlinks = false`, `ignorecase = true`), with
 * which the git CLI would then ignore executable bits, check symlinks out as plain files and match
 * paths case-insensitively. Here the filesystem is probed as git probes it, and only what differs
 * from git's defaults is written.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CpvError } from '../errors.js';
import { writeFileAtomic } from '../fsutil.js';

export interface FsTraits {
  filemode: boolean;
  symlinks: boolean;
  ignorecase: boolean;
}

/** What the filesystem holding `gitdir` supports (gitdir must exist). */
export function probeFilesystem(gitdir: string): FsTraits {
  const name = `.cpv-probe-${process.pid}`;
  const probe = path.join(gitdir, name);
  const traits: FsTraits = { filemode: true, symlinks: true, ignorecase: false };
  try {
    fs.writeFileSync(probe, '');
    fs.chmodSync(probe, 0o755);
    traits.filemode = (fs.statSync(probe).mode & 0o111) !== 0;
    traits.ignorecase = fs.existsSync(path.join(gitdir, name.toUpperCase()));
    try {
      fs.symlinkSync('target', `${probe}-link`);
      traits.symlinks = fs.lstatSync(`${probe}-link`).isSymbolicLink();
    } catch {
      traits.symlinks = false;
    }
  } finally {
    fs.rmSync(probe, { force: true });
    fs.rmSync(`${probe}-link`, { force: true });
  }
  return traits;
}

/** The `[core]` section `git init` writes for a non-bare repository on such a filesystem. */
export function coreSection(traits: FsTraits): string {
  const lines = [
    '[core]',
    '\trepositoryformatversion = 0',
    `\tfilemode = ${traits.filemode}`,
    '\tbare = false',
    '\tlogallrefupdates = true',
  ];
  if (!traits.symlinks) lines.push('\tsymlinks = false');
  if (traits.ignorecase) lines.push('\tignorecase = true');
  return `${lines.join('\n')}\n`;
}

/** `git init -b <branch>` in `root` (which must not have `.git` yet). */
export function initRepository(root: string, defaultBranch: string): void {
  const gitdir = path.join(root, '.git');
  try {
    fs.mkdirSync(root, { recursive: true });
    fs.mkdirSync(gitdir);
    for (const sub of ['hooks', 'info', 'objects/info', 'objects/pack', 'refs/heads', 'refs/tags']) {
      fs.mkdirSync(path.join(gitdir, sub), { recursive: true });
    }
    writeFileAtomic(path.join(gitdir, 'config'), coreSection(probeFilesystem(gitdir)));
    writeFileAtomic(path.join(gitdir, 'HEAD'), `ref: refs/heads/${defaultBranch}\n`);
  } catch (err) {
    fs.rmSync(gitdir, { recursive: true, force: true });
    throw new CpvError('E_IO', `cannot create a git repository in ${root}: ${(err as Error).message}`, {
      hint: 'check that the directory is writable',
    });
  }
}

/** Replaces the `[core]` section isomorphic-git wrote (after a clone) with git's. */
export function repairCoreSection(gitdir: string): void {
  const file = path.join(gitdir, 'config');
  const text = fs.readFileSync(file, 'utf8');
  const start = text.search(/^\[core\]\s*$/m);
  if (start < 0) return;
  const rest = text.slice(start + 1);
  const next = rest.search(/^\[/m);
  const end = next < 0 ? text.length : start + 1 + next;
  writeFileAtomic(file, text.slice(0, start) + coreSection(probeFilesystem(gitdir)) + text.slice(end));
}
