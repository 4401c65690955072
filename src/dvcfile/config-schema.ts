/**
 * Which config options exist and what values they take: DVC's schema (`dvc: dvc/config_schema.py`
 * `SCHEMA`, `REMOTE_SCHEMAS`), restated as small checks. A remote's options depend on its url
 * scheme (s3, local path, ssh, …), as in DVC's `ByUrl`.
 *
 * Two deliberate differences: `cache_regions` accepts `true`/`false` (DVC's schema demands a Python
 * bool, which no config file can hold, so DVC rejects every value), and a missing remote `url` is its
 * own error (`E_CONFIG_MISSING`) rather than a generic schema failure.
 */
import { CpvError } from '../errors.js';
import type { ConfigValue } from './config-value.js';

/** A value check: undefined when fine, else what was expected. */
type Check = (value: ConfigValue) => string | undefined;
type Schema = Readonly<Record<string, Check>>;

const str: Check = (v) => (Array.isArray(v) ? 'a single value, not a list' : undefined);
const bool: Check = (v) => (typeof v === 'string' && /^(true|false)$/i.test(v) ? undefined : 'true or false');
const INT = /^\s*[+-]?\d+(?:_\d+)*\s*$/;
const FLOAT = /^\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*$/;

function int(min?: number, max?: number): Check {
  const range = min === undefined ? '' : max === undefined ? ` ≥ ${min}` : ` between ${min} and ${max}`;
  return (v) => {
    if (typeof v !== 'string' || !INT.test(v)) return `an integer${range}`;
    const n = Number(v.replace(/_/g, ''));
    return (min !== undefined && n < min) || (max !== undefined && n > max)
      ? `an integer${range}`
      : undefined;
  };
}

const nonNegativeFloat: Check = (v) =>
  typeof v === 'string' && FLOAT.test(v) && Number(v) >= 0 ? undefined : 'a number ≥ 0';

function choices(...allowed: string[]): Check {
  return (v) =>
    typeof v === 'string' && allowed.includes(v.toLowerCase()) ? undefined : `one of ${allowed.join(', ')}`;
}

const LINK_TYPES = ['reflink', 'hardlink', 'symlink', 'copy'];
const linkTypes: Check = (v) => {
  const types = Array.isArray(v) ? v : v.split(',').map((t) => t.trim());
  return types.every((t) => LINK_TYPES.includes(t)) ? undefined : `link types among ${LINK_TYPES.join(', ')}`;
};

const REMOTE_COMMON: Schema = {
  url: str,
  checksum_jobs: int(1),
  jobs: int(1),
  worktree: bool,
  no_traverse: bool,
  version_aware: bool,
};
const LOCAL_COMMON: Schema = {
  type: linkTypes,
  protected: bool,
  shared: choices('group'),
  slow_link_warning: bool,
  verify: bool,
};
const HTTP_COMMON: Schema = {
  auth: choices('basic', 'digest', 'custom'),
  custom_auth_header: str,
  user: str,
  password: str,
  ask_password: bool,
  ssl_verify: str,
  method: str,
  connect_timeout: nonNegativeFloat,
  read_timeout: nonNegativeFloat,
  verify: bool,
};
const WEBDAV_COMMON: Schema = {
  user: str,
  password: str,
  ask_password: bool,
  token: str,
  custom_auth_header: str,
  cert_path: str,
  key_path: str,
  timeout: int(),
  ssl_verify: str,
  verify: bool,
};

/** Options by remote url scheme; '' is a local path (or `file://`). */
const REMOTE_SCHEMAS: Readonly<Record<string, Schema>> = {
  '': { ...LOCAL_COMMON, ...REMOTE_COMMON },
  s3: {
    region: str,
    profile: str,
    credentialpath: str,
    configpath: str,
    endpointurl: str,
    access_key_id: str,
    secret_access_key: str,
    session_token: str,
    listobjects: bool,
    use_ssl: bool,
    allow_anonymous_login: bool,
    ssl_verify: str,
    sse: str,
    sse_kms_key_id: str,
    sse_customer_algorithm: str,
    sse_customer_key: str,
    acl: str,
    grant_read: str,
    grant_read_acp: str,
    grant_write_acp: str,
    grant_full_control: str,
    cache_regions: bool,
    read_timeout: int(),
    connect_timeout: int(),
    verify: bool,
    ...REMOTE_COMMON,
  },
  gs: {
    projectname: str,
    credentialpath: str,
    endpointurl: str,
    verify: bool,
    allow_anonymous_login: bool,
    ...REMOTE_COMMON,
  },
  ssh: {
    type: linkTypes,
    port: int(),
    user: str,
    password: str,
    ask_password: bool,
    passphrase: str,
    ask_passphrase: bool,
    keyfile: str,
    timeout: int(),
    gss_auth: bool,
    allow_agent: bool,
    max_sessions: int(),
    verify: bool,
    ...REMOTE_COMMON,
  },
  hdfs: { user: str, kerb_ticket: str, replication: int(), ...REMOTE_COMMON },
  webhdfs: {
    kerberos: bool,
    kerberos_principal: str,
    proxy_to: str,
    ssl_verify: str,
    token: str,
    use_https: bool,
    user: str,
    password: str,
    data_proxy_target: str,
    verify: bool,
    ...REMOTE_COMMON,
  },
  azure: {
    connection_string: str,
    sas_token: str,
    account_name: str,
    account_key: str,
    tenant_id: str,
    client_id: str,
    client_secret: str,
    allow_anonymous_login: bool,
    exclude_environment_credential: bool,
    exclude_visual_studio_code_credential: bool,
    exclude_shared_token_cache_credential: bool,
    exclude_managed_identity_credential: bool,
    verify: bool,
    timeout: int(),
    read_timeout: int(),
    connection_timeout: int(),
    ...REMOTE_COMMON,
  },
  oss: { oss_key_id: str, oss_key_secret: str, oss_endpoint: str, verify: bool, ...REMOTE_COMMON },
  gdrive: {
    profile: str,
    gdrive_use_service_account: bool,
    gdrive_client_id: str,
    gdrive_client_secret: str,
    gdrive_user_credentials_file: str,
    gdrive_service_account_user_email: str,
    gdrive_service_account_json_file_path: str,
    gdrive_trash_only: bool,
    gdrive_acknowledge_abuse: bool,
    verify: bool,
    ...REMOTE_COMMON,
  },
  http: { ...HTTP_COMMON, ...REMOTE_COMMON },
  https: { ...HTTP_COMMON, ...REMOTE_COMMON },
  webdav: { ...WEBDAV_COMMON, ...REMOTE_COMMON },
  webdavs: { ...WEBDAV_COMMON, ...REMOTE_COMMON },
};

/** Plain sections. `feature` takes any key (DVC drops unknown ones with a warning). */
const SECTIONS: Readonly<Record<string, Schema | 'any'>> = {
  core: {
    remote: str,
    checksum_jobs: int(1),
    interactive: bool,
    analytics: bool,
    hardlink_lock: bool,
    no_scm: bool,
    autostage: bool,
    experiments: bool,
    check_update: bool,
    site_cache_dir: str,
    machine: str,
  },
  cache: {
    local: str,
    s3: str,
    gs: str,
    hdfs: str,
    webhdfs: str,
    ssh: str,
    azure: str,
    dir: str,
    ...LOCAL_COMMON,
  },
  state: { dir: str, row_limit: int(1), row_cleanup_quota: int(0, 100) },
  index: { dir: str },
  feature: 'any',
  plots: { html_template: str, auto_open: bool, out_dir: str },
  exp: {
    code: str,
    data: str,
    models: str,
    metrics: str,
    params: str,
    plots: str,
    live: str,
    auto_push: bool,
    git_remote: str,
  },
  parsing: { bool: choices('store_true', 'boolean_optional'), list: choices('nargs', 'append') },
  hydra: { enabled: bool, config_dir: str, config_module: str, config_name: str, plugins_path: str },
  studio: { token: str, url: str, repo_url: str, offline: bool },
};

const MACHINE: Schema = {
  cloud: choices('aws', 'azure'),
  region: choices('us-west', 'us-east', 'eu-west', 'eu-north'),
  image: str,
  spot: bool,
  spot_price: nonNegativeFloat,
  instance_hdd_size: int(),
  instance_type: str,
  instance_gpu: str,
  ssh_private: str,
  startup_script: str,
  setup_script: str,
};
const DB: Schema = { url: str, username: str, password: str };

/** Options that hold a path, relative to the directory of the config file setting them. */
export const PATH_OPTIONS: Readonly<Record<string, readonly string[]>> = {
  cache: ['dir'],
  remote: [
    'url',
    'gdrive_user_credentials_file',
    'gdrive_service_account_json_file_path',
    'credentialpath',
    'configpath',
    'keyfile',
    'cert_path',
    'key_path',
  ],
  machine: ['startup_script', 'setup_script'],
};

/** Options holding credentials: they belong in `config.local`, not the committed `.dvc/config`. */
export const SECRET_OPTIONS: ReadonlySet<string> = new Set([
  'access_key_id',
  'secret_access_key',
  'session_token',
  'sse_customer_key',
  'password',
  'passphrase',
  'token',
  'account_key',
  'sas_token',
  'connection_string',
  'client_secret',
  'gdrive_client_secret',
  'oss_key_id',
  'oss_key_secret',
]);

/** The scheme DVC picks a remote's schema by: Python `urlparse`; no netloc means a local path. */
export function remoteKind(url: string): string {
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):(.*)$/s.exec(url);
  if (scheme === null) return '';
  const rest = scheme[2]!;
  const netloc = rest.startsWith('//') ? /^\/\/([^/?#]*)/.exec(rest)![1]! : '';
  return netloc === '' ? '' : scheme[1]!.toLowerCase();
}

/** A key and value with the file that set it, for errors that say where to look. */
export interface SourcedValue {
  value: ConfigValue;
  origin: string;
}
export type SourcedConfig = Map<string, Map<string, SourcedValue>>;

/** Checks a merged config; throws the first problem as E_CONFIG_KEY / E_CONFIG_VALUE / E_CONFIG_MISSING. */
export function validateConfig(config: SourcedConfig): void {
  for (const [section, values] of config) {
    const schema = schemaFor(section, values);
    if (schema === 'any') continue;
    for (const [key, { value, origin }] of values) checkOption(section, schema, key, value, origin);
  }
}

function schemaFor(section: string, values: Map<string, SourcedValue>): Schema | 'any' {
  const named = /^(remote|machine|db) "(.*)"$/s.exec(section);
  if (named === null) {
    const schema = SECTIONS[section];
    if (schema !== undefined) return schema;
    const origin = values.values().next().value?.origin;
    throw new CpvError('E_CONFIG_KEY', `unknown config section [${section}]${where(origin)}`, {
      hint: ['remote', 'machine', 'db'].includes(section)
        ? `A ${section} section needs a name: ['${section} "<name>"'].`
        : `Known sections: ${[...Object.keys(SECTIONS), 'remote "<name>"'].join(', ')}.`,
    });
  }
  const [, kind, name] = named;
  if (kind === 'machine') return MACHINE;
  if (kind === 'db') return DB;
  const url = values.get('url');
  if (url === undefined) {
    const origin = values.values().next().value?.origin;
    throw new CpvError('E_CONFIG_MISSING', `remote '${name}' has no url${where(origin)}`, {
      hint: `Set one with \`cpv remote modify ${name} url <url>\`, or remove the remote's section.`,
    });
  }
  const scheme = typeof url.value === 'string' ? remoteKind(url.value) : '';
  const schema = REMOTE_SCHEMAS[scheme];
  if (schema === undefined) {
    if (scheme === 'remote') return 'any'; // `remote://other/path` takes any other remote's options
    throw new CpvError(
      'E_CONFIG_VALUE',
      `remote '${name}': unsupported URL type ${scheme}://${where(url.origin)}`,
      {
        hint: `Supported: ${Object.keys(REMOTE_SCHEMAS)
          .filter((s) => s !== '')
          .map((s) => `${s}://`)
          .join(', ')}, or a local path.`,
      },
    );
  }
  return schema;
}

function checkOption(section: string, schema: Schema, key: string, value: ConfigValue, origin: string): void {
  const check = Object.hasOwn(schema, key) ? schema[key] : undefined;
  const label = describeSection(section);
  if (check === undefined) {
    const near = closest(key, Object.keys(schema));
    throw new CpvError('E_CONFIG_KEY', `unknown option '${key}' in ${label}${where(origin)}`, {
      hint: near
        ? `Did you mean '${near}'?`
        : `Options of ${label}: ${Object.keys(schema).sort().join(', ')}.`,
    });
  }
  const expected = check(value);
  if (expected !== undefined) {
    const shown = Array.isArray(value) ? value.join(', ') : value;
    throw new CpvError('E_CONFIG_VALUE', `${label}: ${key} = '${shown}' is invalid${where(origin)}`, {
      hint: `Expected ${expected}.`,
    });
  }
}

function describeSection(section: string): string {
  const named = /^(remote|machine|db) "(.*)"$/s.exec(section);
  return named ? `${named[1]} '${named[2]}'` : `[${section}]`;
}

function where(origin: string | undefined): string {
  return origin === undefined ? '' : ` (in ${origin})`;
}

/** The known name nearest to `key`, if it is close enough to be a likely typo or a shortening. */
function closest(key: string, names: string[]): string | undefined {
  const extended = names.filter((n) => key.length >= 3 && (n.startsWith(key) || key.startsWith(n)));
  if (extended.length === 1) return extended[0];
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(key.length / 3)) + 1;
  for (const name of names) {
    const d = editDistance(key, name);
    if (d < bestDistance) {
      best = name;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row.push(Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + cost));
    }
    prev = row;
  }
  return prev[b.length]!;
}
