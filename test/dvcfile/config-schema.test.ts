import { describe, expect, it } from 'vitest';
import type { ConfigValue } from '../../src/dvcfile/config.js';
import { remoteKind, type SourcedConfig, validateConfig } from '../../src/dvcfile/config-schema.js';

function config(sections: Record<string, Record<string, ConfigValue>>): SourcedConfig {
  return new Map(
    Object.entries(sections).map(([name, values]) => [
      name,
      new Map(Object.entries(values).map(([k, value]) => [k, { value, origin: '.dvc/config' }])),
    ]),
  );
}

const problem = (sections: Record<string, Record<string, ConfigValue>>) => {
  try {
    validateConfig(config(sections));
  } catch (err) {
    const e = err as { code: string; message: string; hint: string };
    return { code: e.code, message: e.message, hint: e.hint };
  }
  return undefined;
};

describe("config schema (DVC's config_schema.py)", () => {
  it('accepts what DVC accepts', () => {
    expect(
      problem({
        core: { remote: 'storage', autostage: 'TRUE', no_scm: 'True', checksum_jobs: '4' },
        cache: { type: ['reflink', 'copy'], dir: '../c', shared: 'Group', slow_link_warning: 'false' },
        'remote "storage"': {
          url: 's3://bucket/p',
          endpointurl: 'http://127.0.0.1:7480',
          jobs: '8',
          read_timeout: '30',
          ssl_verify: '/etc/ca.pem',
          grant_read: 'id=a,id=b',
          cache_regions: 'false',
        },
        'remote "local"': { url: '../../store', type: 'hardlink,copy', verify: 'true' },
        'remote "files"': { url: 'file:///srv/dvc', jobs: '2' },
        'remote "web"': { url: 'https://host/p', auth: 'basic', connect_timeout: '2.5' },
        'remote "alias"': { url: 'remote://storage/sub', anything: 'goes' },
        'machine "m"': { cloud: 'aws', spot_price: '0.5' },
        'db "d"': { url: 'x', password: 'p' },
        feature: { whatever: 'x' },
        state: { row_cleanup_quota: '50' },
      }),
    ).toBeUndefined();
  });

  it('names unknown options with a did-you-mean hint or the list of options', () => {
    expect(problem({ 'remote "s"': { url: 's3://b', endpoint_url: 'x' } })).toEqual({
      code: 'E_CONFIG_KEY',
      message: "unknown option 'endpoint_url' in remote 's' (in .dvc/config)",
      hint: "Did you mean 'endpointurl'?",
    });
    const far = problem({ core: { zzzzzzzz: '1' } })!;
    expect(far.code).toBe('E_CONFIG_KEY');
    expect(far.hint).toMatch(/^Options of \[core\]: analytics, autostage, /);
    // an s3-only option on a local remote
    expect(problem({ 'remote "l"': { url: '/srv/x', region: 'us-east-1' } })?.code).toBe('E_CONFIG_KEY');
    expect(problem({ nonsense: { a: '1' } })).toMatchObject({
      code: 'E_CONFIG_KEY',
      message: 'unknown config section [nonsense] (in .dvc/config)',
    });
    expect(problem({ remote: { url: 'x' } })?.hint).toMatch(/needs a name/);
  });

  it('rejects values of the wrong type, saying what was expected', () => {
    expect(problem({ 'remote "s"': { url: 's3://b', jobs: 'many' } })).toEqual({
      code: 'E_CONFIG_VALUE',
      message: "remote 's': jobs = 'many' is invalid (in .dvc/config)",
      hint: 'Expected an integer ≥ 1.',
    });
    expect(problem({ 'remote "s"': { url: 's3://b', jobs: '0' } })?.code).toBe('E_CONFIG_VALUE');
    expect(problem({ core: { autostage: 'yes' } })?.hint).toBe('Expected true or false.');
    expect(problem({ cache: { type: 'teleport' } })?.code).toBe('E_CONFIG_VALUE');
    expect(problem({ cache: { shared: 'world' } })?.hint).toBe('Expected one of group.');
    expect(problem({ 'remote "s"': { url: 's3://b', region: ['a', 'b'] } })?.hint).toMatch(/not a list/);
    expect(problem({ state: { row_cleanup_quota: '101' } })?.code).toBe('E_CONFIG_VALUE');
    expect(problem({ 'remote "w"': { url: 'http://h/p', read_timeout: '-1' } })?.code).toBe('E_CONFIG_VALUE');
    expect(problem({ 'remote "x"': { url: 'foo://bucket/p' } })).toMatchObject({
      code: 'E_CONFIG_VALUE',
      message: "remote 'x': unsupported URL type foo:// (in .dvc/config)",
    });
  });

  it('reports a remote without url as missing', () => {
    expect(problem({ 'remote "s"': { region: 'x' } })).toMatchObject({
      code: 'E_CONFIG_MISSING',
      message: "remote 's' has no url (in .dvc/config)",
    });
  });

  it("picks the remote type as Python's urlparse does", () => {
    expect(remoteKind('s3://bucket/prefix')).toBe('s3');
    expect(remoteKind('S3://bucket')).toBe('s3');
    expect(remoteKind('../store')).toBe('');
    expect(remoteKind('/abs/store')).toBe('');
    expect(remoteKind('file:///srv/x')).toBe('');
    expect(remoteKind('c:/data')).toBe('');
    expect(remoteKind('ssh://user@host:22/p')).toBe('ssh');
  });
});
