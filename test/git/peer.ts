/** The git CLI as a test peer, with a fixed identity and dates so cpv and git can write identical objects. */
import { spawnSync } from 'node:child_process';

export const IDENTITY = { name: 'Ada Lovelace', email: 'ada@example.com' };
/** 2024-01-02T03:04:05Z, written in UTC+01:00. */
export const WHEN = { timestamp: 1704164645, timezoneOffset: -60 };

export const peerEnv: NodeJS.ProcessEnv = {
  PATH: process.env.PATH,
  HOME: '/nonexistent',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_AUTHOR_NAME: IDENTITY.name,
  GIT_AUTHOR_EMAIL: IDENTITY.email,
  GIT_COMMITTER_NAME: IDENTITY.name,
  GIT_COMMITTER_EMAIL: IDENTITY.email,
  GIT_AUTHOR_DATE: '1704164645 +0100',
  GIT_COMMITTER_DATE: '1704164645 +0100',
};

export interface CliResult {
  status: number;
  stdout: string;
  stderr: string;
}

export function git(cwd: string, args: string[], env: NodeJS.ProcessEnv = {}): CliResult {
  const r = spawnSync('git', args, { cwd, encoding: 'utf8', env: { ...peerEnv, ...env } });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Runs git and returns stdout, throwing with stderr on failure. */
export function g(cwd: string, ...args: string[]): string {
  const r = git(cwd, args);
  if (r.status !== 0) throw new Error(`git ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

/** `git fsck --full --strict` output; throws if git reports any problem. */
export function fsckClean(cwd: string): string {
  const r = git(cwd, ['fsck', '--full', '--strict', '--no-dangling']);
  if (r.status !== 0 || /error|missing|broken|corrupt|bad/i.test(r.stdout + r.stderr)) {
    throw new Error(`git fsck found problems:\n${r.stdout}${r.stderr}`);
  }
  return r.stdout + r.stderr;
}
