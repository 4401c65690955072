/**
 * Who a commit or tag is by, found the way git finds it: explicit options, then the
 * `GIT_AUTHOR_*` / `GIT_COMMITTER_*` environment, then `author.*`/`committer.*` and `user.*` from
 * the repo's `.git/config`, then from the user's global config (`$GIT_CONFIG_GLOBAL`, or
 * `$XDG_CONFIG_HOME/git/config` and `~/.gitconfig`), then `$EMAIL` for the address.
 * isomorphic-git reads only the repo's config, hence the small reader here. (`include.path` is
 * not followed: an identity kept only in an included file needs the env or an explicit option.)
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CpvError } from '../errors.js';

export interface Identity {
  name: string;
  email: string;
  /** Seconds since the epoch; default now (or `GIT_<ROLE>_DATE`). */
  timestamp?: number;
  /** Minutes, as `Date.getTimezoneOffset` gives them (UTC+2 is -120); default the local zone. */
  timezoneOffset?: number;
}

export type Role = 'author' | 'committer';
type Partial2 = { name?: string | undefined; email?: string | undefined };

/**
 * `name`/`email` for `role` from one git config file's text: `<role>.name` beats `user.name`
 * (git >= 2.22), and within one key the last value wins, as in git.
 */
export function identityFromConfigText(text: string, role: Role): Partial2 {
  const found: Record<string, string> = {};
  let section = '';
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/^\s+/, '');
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[\s*([A-Za-z0-9.-]+)(\s+"[^"]*")?\s*\]/.exec(line);
    if (header) {
      // `[user "x"]` is a subsection git does not read identities from
      section = header[2] ? '' : (header[1] ?? '').toLowerCase();
      continue;
    }
    if (section !== 'user' && section !== role) continue;
    const kv = /^([A-Za-z][A-Za-z0-9-]*)\s*=\s*(.*)$/.exec(line);
    const key = (kv?.[1] ?? '').toLowerCase();
    if (kv && (key === 'name' || key === 'email')) found[`${section}.${key}`] = unquote(kv[2] ?? '');
  }
  return {
    name: found[`${role}.name`] ?? found['user.name'],
    email: found[`${role}.email`] ?? found['user.email'],
  };
}

/** A config value without its comment and surrounding quotes (escapes \" \\ \n \t handled). */
function unquote(raw: string): string {
  let out = '';
  let quoted = false;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (c === '\\') {
      const n = raw[++i];
      out += n === 'n' ? '\n' : n === 't' ? '\t' : (n ?? '');
    } else if (c === '"') quoted = !quoted;
    else if (!quoted && (c === '#' || c === ';')) break;
    else out += c;
  }
  return out.trim();
}

function readConfig(file: string, role: Role): Partial2 {
  try {
    return identityFromConfigText(fs.readFileSync(file, 'utf8'), role);
  } catch {
    return {};
  }
}

/** The global config files git reads, highest precedence first. */
function globalConfigFiles(env: NodeJS.ProcessEnv): string[] {
  if (env.GIT_CONFIG_GLOBAL !== undefined) return env.GIT_CONFIG_GLOBAL ? [env.GIT_CONFIG_GLOBAL] : [];
  const home = env.HOME ?? os.homedir();
  const xdg = env.XDG_CONFIG_HOME || path.join(home, '.config');
  return [path.join(home, '.gitconfig'), path.join(xdg, 'git', 'config')];
}

/** `GIT_*_DATE` in git's internal form (`[@]<seconds> <+hhmm>`) or ISO 8601; undefined if unset/unreadable. */
export function parseGitDate(
  value: string | undefined,
): { timestamp: number; timezoneOffset: number } | undefined {
  if (!value) return undefined;
  const raw = /^@?(\d+)(?:\s+([+-])(\d\d)(\d\d))?$/.exec(value.trim());
  if (raw) {
    const minutes = raw[2] ? Number(raw[3]) * 60 + Number(raw[4]) : 0;
    return { timestamp: Number(raw[1]), timezoneOffset: raw[2] === '-' ? minutes : -minutes };
  }
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) return undefined;
  const zone = /([+-])(\d\d):?(\d\d)$/.exec(value.trim());
  const minutes = zone ? Number(zone[2]) * 60 + Number(zone[3]) : 0;
  return { timestamp: Math.floor(ms / 1000), timezoneOffset: zone?.[1] === '-' ? minutes : -minutes };
}

/**
 * Resolves the identity for `role` in the repository whose git directory is `gitdir` (optional).
 * Throws E_NO_IDENTITY when no name or email is found anywhere.
 */
export function resolveIdentity(
  role: Role,
  given: Partial<Identity> | undefined,
  options: { env?: NodeJS.ProcessEnv; gitdir?: string } = {},
): Required<Identity> {
  const env = options.env ?? process.env;
  const upper = role.toUpperCase();
  const layers: Partial2[] = [
    given ?? {},
    { name: env[`GIT_${upper}_NAME`], email: env[`GIT_${upper}_EMAIL`] },
    options.gitdir ? readConfig(path.join(options.gitdir, 'config'), role) : {},
    ...globalConfigFiles(env).map((f) => readConfig(f, role)),
    { email: env.EMAIL },
  ];
  const name = layers.find((l) => l.name)?.name;
  const email = layers.find((l) => l.email)?.email;
  if (!name || !email) {
    throw new CpvError('E_NO_IDENTITY', `no ${role} identity: git user.name and user.email are not set`, {
      hint: `set GIT_${upper}_NAME and GIT_${upper}_EMAIL, or run: git config user.name "Your Name" && git config user.email you@example.com`,
    });
  }
  if (/[<>\n]/.test(name) || /[<>\n]/.test(email)) {
    throw new CpvError('E_NO_IDENTITY', `the ${role} name or email contains '<', '>' or a newline`, {
      hint: 'git cannot store such an identity; fix user.name / user.email',
    });
  }
  const now = new Date();
  const date = parseGitDate(env[`GIT_${upper}_DATE`]);
  return {
    name,
    email,
    timestamp: given?.timestamp ?? date?.timestamp ?? Math.floor(now.getTime() / 1000),
    timezoneOffset: given?.timezoneOffset ?? date?.timezoneOffset ?? now.getTimezoneOffset(),
  };
}
