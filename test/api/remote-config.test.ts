import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  remoteAdd,
  remoteDefault,
  remoteList,
  remoteModify,
  remoteRemove,
  remoteRename,
  setRemoteDefault,
  unsetRemoteDefault,
} from '../../src/api/remote-config.js';
import { bareDvcRepo, isolateConfigEnv, read } from '../helpers/config-env.js';
import { tempDir } from '../helpers/tmp.js';

const env = isolateConfigEnv();
const config = (root: string) => read(path.join(root, '.dvc/config'));
const local = (root: string) => read(path.join(root, '.dvc/config.local'));

describe('cpv remote add', () => {
  it('adds, lower-cases the name, refuses an existing one unless forced (which drops its options)', () => {
    const root = bareDvcRepo();
    remoteAdd('Storage', 's3://b/p', { cwd: root });
    remoteModify('storage', 'region', 'us-east-1', { cwd: root });
    expect(() => remoteAdd('storage', 's3://b/q', { cwd: root })).toThrow(
      expect.objectContaining({ code: 'E_REMOTE_EXISTS', message: "remote 'storage' already exists" }),
    );
    expect(config(root)).toBe('[\'remote "storage"\']\n    url = s3://b/p\n    region = us-east-1\n');
    remoteAdd('storage', 's3://b/q', { cwd: root, force: true, default: true });
    expect(config(root)).toBe('[core]\n    remote = storage\n[\'remote "storage"\']\n    url = s3://b/q\n');
  });

  it('stores a relative local path relative to the config file, and absolute/url values as given', () => {
    const root = bareDvcRepo();
    const sub = path.join(root, 'a', 'b');
    fs.mkdirSync(sub, { recursive: true });
    remoteAdd('rel', '../../../store', { cwd: sub });
    remoteAdd('abs', '/srv/store', { cwd: sub });
    remoteAdd('home', '~/store', { cwd: sub });
    remoteAdd('file', 'file:///srv/x', { cwd: sub });
    expect(config(root)).toBe(
      '[\'remote "rel"\']\n    url = ../../store\n[\'remote "abs"\']\n    url = /srv/store\n' +
        '[\'remote "home"\']\n    url = ~/store\n[\'remote "file"\']\n    url = file:///srv/x\n',
    );
    expect(remoteList({ cwd: root })[0]).toEqual({
      name: 'rel',
      url: path.join(path.dirname(root), 'store'),
      isDefault: false,
    });
  });

  it('warns about a password inside a committed url', () => {
    const root = bareDvcRepo();
    const warned = remoteAdd('web', 'https://me:hunter2@host/dvc', { cwd: root });
    expect(warned.warnings).toEqual([
      'the url holds a password and .dvc/config is committed to git: put the url without it here and the password in .dvc/config.local (add --local).',
    ]);
    expect(remoteAdd('web2', 'https://me@host/dvc', { cwd: root }).warnings).toEqual([]);
    expect(remoteAdd('web3', 'https://me:pw@host/dvc', { cwd: root, level: 'local' }).warnings).toEqual([]);
  });

  it('names with quotes, brackets, # and dots survive the round trip', () => {
    const root = bareDvcRepo();
    for (const name of ['a]b', 'x#y', 'say"hi', 'my.remote', 'sp ace'])
      remoteAdd(name, `s3://b/${name.length}`, { cwd: root });
    expect(remoteList({ cwd: root }).map((r) => r.name)).toEqual([
      'a]b',
      'x#y',
      'say"hi',
      'my.remote',
      'sp ace',
    ]);
    expect(config(root)).toContain(`['remote "say"hi"']\n`);
    expect(() => remoteAdd(`it's`, 's3://b/q', { cwd: root })).toThrow(
      expect.objectContaining({ code: 'E_CONFIG_VALUE' }),
    );
    expect(() => remoteAdd(' ', 's3://b/q', { cwd: root })).toThrow(
      expect.objectContaining({ code: 'E_USAGE' }),
    );
  });

  it('refuses an unsupported url scheme, writing nothing', () => {
    const root = bareDvcRepo();
    expect(() => remoteAdd('x', 'gopher://host/p', { cwd: root })).toThrow(
      expect.objectContaining({ code: 'E_CONFIG_VALUE' }),
    );
    expect(config(root)).toBe('');
  });
});

describe('cpv remote modify', () => {
  it('puts secrets in config.local (mode 0600) silently and warns when they go to .dvc/config', () => {
    const root = bareDvcRepo();
    remoteAdd('s3r', 's3://bucket/p', { cwd: root });
    expect(remoteModify('s3r', 'access_key_id', 'AKID', { cwd: root, level: 'local' }).warnings).toEqual([]);
    expect(local(root)).toBe('[\'remote "s3r"\']\n    access_key_id = AKID\n');
    expect(fs.statSync(path.join(root, '.dvc/config.local')).mode & 0o777).toBe(0o600);
    const result = remoteModify('s3r', 'secret_access_key', 'SECRET', { cwd: root });
    expect(result.warnings).toHaveLength(1);
    expect(result.warnings[0]).toMatch(
      /^'secret_access_key' is a credential and \.dvc\/config is committed to git/,
    );
    // written anyway, as DVC does
    expect(config(root)).toContain('    secret_access_key = SECRET\n');
    expect(remoteModify('s3r', 'session_token', 'T', { cwd: root }).warnings).toHaveLength(1);
    expect(remoteModify('s3r', 'region', 'eu-west-1', { cwd: root }).warnings).toEqual([]);
  });

  it('unsets an option; refuses unknown remotes, unknown options and bad values', () => {
    const root = bareDvcRepo();
    remoteAdd('s', 's3://b/p', { cwd: root });
    remoteModify('s', 'jobs', '8', { cwd: root });
    remoteModify('s', 'jobs', undefined, { cwd: root, unset: true });
    expect(config(root)).toBe('[\'remote "s"\']\n    url = s3://b/p\n');
    expect(() => remoteModify('nope', 'region', 'x', { cwd: root })).toThrow(
      expect.objectContaining({ code: 'E_REMOTE_MISSING', message: "remote 'nope' doesn't exist" }),
    );
    expect(() => remoteModify('s', 'endpoint', 'http://x', { cwd: root })).toThrow(
      expect.objectContaining({ code: 'E_CONFIG_KEY', hint: "Did you mean 'endpointurl'?" }),
    );
    expect(() => remoteModify('s', 'read_timeout', 'soon', { cwd: root })).toThrow(
      expect.objectContaining({ code: 'E_CONFIG_VALUE', hint: 'Expected an integer.' }),
    );
    expect(() => remoteModify('s', 'url', undefined, { cwd: root, unset: true })).toThrow(
      expect.objectContaining({ code: 'E_CONFIG_MISSING' }),
    );
    expect(() => remoteModify('s', 'region', undefined, { cwd: root })).toThrow(
      expect.objectContaining({ code: 'E_USAGE' }),
    );
    expect(config(root)).toBe('[\'remote "s"\']\n    url = s3://b/p\n');
  });

  it('a remote of the global config can be modified in the repo', () => {
    const root = bareDvcRepo();
    remoteAdd('shared', 's3://team/store', { cwd: root, level: 'global' });
    remoteModify('shared', 'profile', 'team', { cwd: root, level: 'local' });
    expect(read(env.globalFile)).toBe('[\'remote "shared"\']\n    url = s3://team/store\n');
    expect(local(root)).toBe('[\'remote "shared"\']\n    profile = team\n');
  });
});

describe('cpv remote remove, rename, list, default', () => {
  it('remove drops the section and core.remote naming it, here and in config.local', () => {
    const root = bareDvcRepo();
    remoteAdd('a', 's3://b/a', { cwd: root, default: true });
    remoteAdd('b', 's3://b/b', { cwd: root });
    setRemoteDefault('a', { cwd: root, level: 'local' });
    remoteRemove('a', { cwd: root });
    expect(config(root)).toBe('[\'remote "b"\']\n    url = s3://b/b\n');
    expect(local(root)).toBe('\n');
    expect(() => remoteRemove('a', { cwd: root })).toThrow(
      expect.objectContaining({ code: 'E_REMOTE_MISSING' }),
    );
  });

  it('rename moves the remote after the others and follows core.remote in shadowing levels', () => {
    const root = bareDvcRepo();
    remoteAdd('a', 's3://b/a', { cwd: root, default: true });
    remoteAdd('b', 's3://b/b', { cwd: root });
    setRemoteDefault('a', { cwd: root, level: 'local' });
    remoteRename('A', 'Z', { cwd: root });
    expect(config(root)).toBe(
      '[core]\n    remote = z\n[\'remote "b"\']\n    url = s3://b/b\n[\'remote "z"\']\n    url = s3://b/a\n',
    );
    expect(local(root)).toBe('[core]\n    remote = z\n');
    expect(() => remoteRename('z', 'b', { cwd: root })).toThrow(
      expect.objectContaining({ code: 'E_REMOTE_EXISTS' }),
    );
    expect(() => remoteRename('q', 'r', { cwd: root })).toThrow(
      expect.objectContaining({ code: 'E_REMOTE_MISSING' }),
    );
  });

  it('list merges levels in order and marks the default; default gets, sets and unsets', () => {
    const root = bareDvcRepo();
    remoteAdd('g', '/srv/global', { cwd: root, level: 'global' });
    remoteAdd('r', 's3://b/r', { cwd: root, default: true });
    remoteModify('r', 'access_key_id', 'x', { cwd: root, level: 'local' });
    expect(remoteList({ cwd: root })).toEqual([
      { name: 'g', url: '/srv/global', isDefault: false },
      { name: 'r', url: 's3://b/r', isDefault: true },
    ]);
    expect(remoteList({ cwd: root, level: 'local' })).toEqual([
      { name: 'r', url: undefined, isDefault: false },
    ]);
    expect(remoteDefault({ cwd: root })).toBe('r');
    setRemoteDefault('g', { cwd: root, level: 'local' });
    expect(remoteDefault({ cwd: root })).toBe('g');
    expect(remoteDefault({ cwd: root, level: 'repo' })).toBe('r');
    expect(() => setRemoteDefault('nope', { cwd: root })).toThrow(
      expect.objectContaining({ code: 'E_REMOTE_MISSING' }),
    );
    unsetRemoteDefault({ cwd: root, level: 'local' });
    unsetRemoteDefault({ cwd: root });
    expect(config(root)).toBe('[\'remote "r"\']\n    url = s3://b/r\n');
    expect(() => remoteDefault({ cwd: root })).toThrow(expect.objectContaining({ code: 'E_CONFIG_MISSING' }));
  });

  it('works on the global config outside any repository', () => {
    const cwd = tempDir();
    remoteAdd('g', 's3://b/g', { cwd, level: 'global', default: true });
    expect(remoteList({ cwd })).toEqual([{ name: 'g', url: 's3://b/g', isDefault: true }]);
    expect(() => remoteAdd('x', 's3://b/x', { cwd })).toThrow(
      expect.objectContaining({ code: 'E_NOT_A_REPO' }),
    );
  });
});
