/**
 * Write locks for one git repository, so cpv never corrupts a repo that another cpv (in this
 * process or another) or the git CLI is writing at the same time.
 *
 * isomorphic-git only serialises writes inside one process, and only per function. So every cpv
 * write takes, in this order:
 *   1. an in-process mutex per git directory (two async calls in one process queue up);
 *   2. `.git/cpv.lock`, created with O_EXCL and holding our pid, host and a nonce, so that other cpv
 *      processes queue up and a lock left by a killed process can be recognised and reclaimed;
 *   3. git's own lock files (`index.lock`, `refs/heads/main.lock`, ...) for exactly what the
 *      operation will change, created with O_EXCL the way git creates them. While we hold them the
 *      git CLI refuses to write the same files, and we refuse while it holds them.
 * Waiting is bounded: past `timeoutMs` the caller gets E_GIT_LOCKED naming the lock file.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CpvError, errnoCode } from '../errors.js';
import { tempPathFor } from '../fsutil.js';
import { pidAlive, removeIfSame } from '../pid-lock.js';

export interface LockOptions {
  /** How long to wait for a busy lock before failing with E_GIT_LOCKED. Default 15 s. */
  timeoutMs?: number;
  /**
   * Age after which a git lock file (`index.lock`, a ref's `.lock`) that no cpv process claims is
   * taken as left over by a killed git and removed. Default 10 minutes. git writes no owner into
   * its lock files, so age is the only evidence. A live git holds them for one command — under a
   * second for `add`, `commit` or `tag` without an editor — but `git commit` keeps `index.lock`
   * while the user's editor is open, so the threshold must be far longer than typing a message;
   * ten minutes leaves that margin and still lets unattended jobs recover the same day.
   */
  staleGitLockMs?: number;
}

const DEFAULT_TIMEOUT_MS = 15_000;
const DEFAULT_STALE_GIT_LOCK_MS = 10 * 60_000;
const CPV_LOCK = 'cpv.lock';
const RECLAIM_GUARD = 'cpv-reclaim.lock';

/** What `.git/cpv.lock` holds: enough to tell whether its owner is still alive. */
interface CpvLockInfo {
  pid: number;
  hostname: string;
  nonce: string;
  created: string;
  /**
   * git lock files this owner created and still holds, with their inode (to be sure they are its).
   * `ino: 0` marks a lock about to be created: recorded first, so an owner killed between creating
   * the file and recording its inode still leaves a trace (`since`: no earlier file is ours).
   */
  gitLocks: Array<{ file: string; ino: number; since?: number }>;
}

// ---------------------------------------------------------------- in-process mutex

const queues = new Map<string, Promise<void>>();

/** Runs `fn` after every earlier call with the same key has finished (keys: any absolute path). */
export async function withMutex<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const previous = queues.get(key) ?? Promise.resolve();
  let release!: () => void;
  const mine = new Promise<void>((resolve) => {
    release = resolve;
  });
  const tail = previous.then(() => mine);
  queues.set(key, tail);
  await previous;
  try {
    return await fn();
  } finally {
    release();
    if (queues.get(key) === tail) queues.delete(key);
  }
}

// ---------------------------------------------------------------- helpers

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function readLockInfo(file: string): CpvLockInfo | undefined {
  try {
    const info = JSON.parse(fs.readFileSync(file, 'utf8')) as CpvLockInfo;
    return typeof info.pid === 'number' && typeof info.nonce === 'string' ? info : undefined;
  } catch {
    return undefined;
  }
}

/** Creates `file` holding `content` only if it does not exist: content is complete the moment it appears. */
function createExclusive(file: string, content: string): boolean {
  const tmp = tempPathFor(file);
  fs.writeFileSync(tmp, content);
  try {
    fs.linkSync(tmp, file); // link(2) fails with EEXIST like O_EXCL, but the file is never half-written
    return true;
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'EEXIST') return false;
    if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP') return createWithOpen(file, content);
    throw err;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/** O_EXCL create for filesystems without hard links; a reader may briefly see it empty (read as unknown). */
function createWithOpen(file: string, content: string): boolean {
  let fd: number;
  try {
    fd = fs.openSync(file, 'wx');
  } catch (err) {
    if (errnoCode(err) === 'EEXIST') return false;
    throw err;
  }
  try {
    fs.writeSync(fd, content);
  } finally {
    fs.closeSync(fd);
  }
  return true;
}

function ageMs(file: string): number {
  try {
    return Date.now() - fs.statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

/**
 * Runs `fn` holding `.git/cpv-reclaim.lock`, so only one process at a time judges and removes stale
 * locks: without it, two processes could both judge one lock stale and the slower one delete the
 * lock the faster one has just created. Returns false (without running `fn`) when another process
 * is reclaiming right now. A guard whose owner is dead, or one older than a minute (reclaiming
 * takes milliseconds), was left by a process killed mid-way and is removed.
 */
function withReclaimGuard(gitdir: string, fn: () => void): boolean {
  const guard = path.join(gitdir, RECLAIM_GUARD);
  if (!createExclusive(guard, `${process.pid} ${os.hostname()}`)) {
    const abandoned = (file: string) => ageMs(file) > 60_000 || guardOwnerDead(file);
    if (abandoned(guard)) removeIfSame(guard, abandoned);
    return false;
  }
  try {
    fn();
  } finally {
    fs.rmSync(guard, { force: true });
  }
  return true;
}

/** Whether the reclaim guard names a process on this host that no longer exists. */
function guardOwnerDead(file: string): boolean {
  let content: string;
  try {
    content = fs.readFileSync(file, 'utf8');
  } catch {
    return false;
  }
  const owner = /^(\d+) (.+)$/.exec(content);
  return owner !== null && owner[2] === os.hostname() && !pidAlive(Number(owner[1]));
}

function lockedError(lockFile: string, holder: string): CpvError {
  return new CpvError('E_GIT_LOCKED', `git repository is locked: ${lockFile} is held by ${holder}`, {
    hint: `wait for the other git or cpv command to finish; if none is running, delete ${lockFile}`,
  });
}

// ---------------------------------------------------------------- the lock

/** A held write lock on one repository. Obtain it through `withWriteLock`. */
export class RepoWriteLock {
  readonly gitdir: string;
  private readonly info: CpvLockInfo;
  private readonly cpvLockFile: string;
  private readonly options: Required<LockOptions>;

  private constructor(gitdir: string, info: CpvLockInfo, options: Required<LockOptions>) {
    this.gitdir = gitdir;
    this.info = info;
    this.cpvLockFile = path.join(gitdir, CPV_LOCK);
    this.options = options;
  }

  /** Takes `.git/cpv.lock`, waiting up to the timeout and reclaiming it from a dead process. */
  static async acquire(gitdir: string, options: Required<LockOptions>): Promise<RepoWriteLock> {
    const file = path.join(gitdir, CPV_LOCK);
    const info: CpvLockInfo = {
      pid: process.pid,
      hostname: os.hostname(),
      nonce: randomBytes(8).toString('hex'),
      created: new Date().toISOString(),
      gitLocks: [],
    };
    const deadline = Date.now() + options.timeoutMs;
    for (let attempt = 0; ; attempt++) {
      if (createExclusive(file, JSON.stringify(info))) return new RepoWriteLock(gitdir, info, options);
      const holder = readLockInfo(file);
      if (holder && holder.hostname === info.hostname && !pidAlive(holder.pid)) {
        if (withReclaimGuard(gitdir, () => RepoWriteLock.reclaim(gitdir, holder))) continue;
      } else if (!holder && ageMs(file) > options.staleGitLockMs) {
        // unreadable and old: not one of ours being written (that takes microseconds)
        const unreadable = (aside: string) =>
          readLockInfo(aside) === undefined && ageMs(aside) > options.staleGitLockMs;
        if (withReclaimGuard(gitdir, () => removeIfSame(file, unreadable))) continue;
      }
      if (Date.now() >= deadline) {
        const who = holder ? `cpv process ${holder.pid} on ${holder.hostname}` : 'an unknown process';
        throw lockedError(file, who);
      }
      await sleep(backoff(attempt));
    }
  }

  /** Removes a dead cpv's lock and the git lock files it recorded as its own. */
  private static reclaim(gitdir: string, dead: CpvLockInfo): void {
    removeIfSame(path.join(gitdir, CPV_LOCK), (aside) => {
      if (readLockInfo(aside)?.nonce !== dead.nonce) return false;
      for (const { file, ino, since } of dead.gitLocks) {
        const lockFile = path.join(gitdir, `${file}.lock`);
        // A pending entry (ino 0): the dead owner may have created the file just before dying;
        // a file at least as new as the intent, with no other cpv alive (we hold the reclaim
        // guard), is that one. An older file belongs to someone else and is left alone.
        const ours = (a: string) =>
          ino === 0
            ? since !== undefined && fs.statSync(a).mtimeMs >= since - 1000
            : fs.statSync(a).ino === ino;
        removeIfSame(lockFile, ours);
      }
      return true;
    });
  }

  /** Records which git locks we hold, so a cpv that finds us dead can remove exactly those. */
  private saveInfo(): void {
    const tmp = tempPathFor(this.cpvLockFile);
    fs.writeFileSync(tmp, JSON.stringify(this.info));
    fs.renameSync(tmp, this.cpvLockFile);
  }

  /**
   * Takes git's lock for `file` (relative to the git dir, e.g. `index` or `refs/heads/main`):
   * creates `<file>.lock` with O_EXCL, waiting while git (or anything else) holds it.
   */
  async lockGitFile(file: string): Promise<void> {
    if (this.info.gitLocks.some((l) => l.file === file)) return;
    const lockFile = path.join(this.gitdir, `${file}.lock`);
    fs.mkdirSync(path.dirname(lockFile), { recursive: true });
    const deadline = Date.now() + this.options.timeoutMs;
    for (let attempt = 0; ; attempt++) {
      const intent = { file, ino: 0, since: Date.now() };
      this.info.gitLocks.push(intent);
      this.saveInfo();
      try {
        const fd = fs.openSync(lockFile, 'wx');
        intent.ino = fs.fstatSync(fd).ino;
        delete (intent as { since?: number }).since;
        fs.closeSync(fd);
        this.saveInfo();
        return;
      } catch (err) {
        this.info.gitLocks.splice(this.info.gitLocks.indexOf(intent), 1);
        this.saveInfo();
        if (errnoCode(err) !== 'EEXIST') throw err;
      }
      if (ageMs(lockFile) > this.options.staleGitLockMs) {
        const stillOld = (aside: string) => ageMs(aside) > this.options.staleGitLockMs;
        if (withReclaimGuard(this.gitdir, () => removeIfSame(lockFile, stillOld))) continue;
      }
      if (Date.now() >= deadline) throw lockedError(lockFile, 'another git process');
      await sleep(backoff(attempt));
    }
  }

  /**
   * Writes `content` into a held git lock file and renames it over the file: exactly how git
   * updates a ref, so readers see the old value or the new one and the lock is released in one step.
   */
  commitGitFile(file: string, content: string): void {
    const held = this.info.gitLocks.findIndex((l) => l.file === file);
    if (held < 0) throw new Error(`internal: ${file}.lock is not held`);
    const lockFile = path.join(this.gitdir, `${file}.lock`);
    fs.writeFileSync(lockFile, content);
    fs.renameSync(lockFile, path.join(this.gitdir, file));
    // Forget it only after the rename: if we die in between, whoever reclaims finds no lock file
    // of that inode (the inode now lives on as the ref itself), so nothing wrong gets removed.
    this.info.gitLocks.splice(held, 1);
    this.saveInfo();
  }

  /**
   * Releases every git lock still held, then cpv.lock. The git lock files go first and cpv.lock
   * keeps listing them until it is removed itself: a process killed half-way leaves entries whose
   * files are gone (a reclaimer skips those) or still there (it removes them). Forgetting them
   * first would let a kill in between leave a git lock that no record claims, which then blocks
   * every writer until it is ten minutes old.
   */
  release(): void {
    for (const { file, ino } of this.info.gitLocks) {
      const lockFile = path.join(this.gitdir, `${file}.lock`);
      const st = fs.statSync(lockFile, { throwIfNoEntry: false });
      if (st?.ino === ino) fs.rmSync(lockFile, { force: true });
    }
    this.info.gitLocks = [];
    if (readLockInfo(this.cpvLockFile)?.nonce === this.info.nonce)
      fs.rmSync(this.cpvLockFile, { force: true });
  }
}

/** 10, 20, 40 ... ms, capped at 250 ms, with jitter so waiting processes do not retry in step. */
function backoff(attempt: number): number {
  return Math.min(250, 10 * 2 ** attempt) * (0.5 + Math.random());
}

/**
 * Runs `fn` holding the repository's write lock (in-process mutex, then `.git/cpv.lock`); `fn`
 * takes git's own locks for what it changes through `lock.lockGitFile`. Everything is released
 * when `fn` settles, also when it throws.
 */
export async function withWriteLock<T>(
  gitdir: string,
  fn: (lock: RepoWriteLock) => Promise<T>,
  options: LockOptions = {},
): Promise<T> {
  const resolved: Required<LockOptions> = {
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    staleGitLockMs: options.staleGitLockMs ?? DEFAULT_STALE_GIT_LOCK_MS,
  };
  return withMutex(fs.realpathSync(gitdir), async () => {
    const lock = await RepoWriteLock.acquire(gitdir, resolved);
    try {
      return await fn(lock);
    } finally {
      lock.release();
    }
  });
}
