import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { getConfig, listConfig, parseOptionName, setConfig, unsetConfig } from '../../src/api/config-edit.js';
import { remoteAdd, remoteModify } from '../../src/api/remote-config.js';
import { configPathFor } from '../../src/api/repo-config.js';
import { bareDvcRepo, isolateConfigEnv, read } from '../helpers/config-env.js';
import { tempDir } from '../helpers/tmp.js';
import { FIXTURES, loadVectors } from '../helpers/vectors.js';

const env = isolateConfigEnv();

interface Step {
  name: string;
  files: Record<string, string | null>;
}
const fixture = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'repos', 'config.json'), 'utf8'));
const steps = new Map<string, Step>((fixture.expect.config_steps as Step[]).map((s) => [s.name, s]));
const files = (root: string) => ({
  '.dvc/config': read(path.join(root, '.dvc/config')),
  '.dvc/config.local': read(path.join(root, '.dvc/config.local')),
});

describe('config editing reproduces the files DVC writes', () => {
  it('the recorded `config` fixture, step by step (DVC 3.51.2)', () => {
    const root = bareDvcRepo();
    const cwd = root;
    const check = (step: string) => expect(files(root), step).toEqual(steps.get(step)!.files);
    remoteAdd('s3r', 's3://bucket/team/model', { cwd, default: true });
    check('remote_add_s3r');
    remoteModify('s3r', 'endpointurl', 'http://127.0.0.1:7480', { cwd });
    check('modify_endpointurl');
    remoteModify('s3r', 'region', 'us-east-1', { cwd });
    check('modify_region');
    remoteModify('s3r', 'access_key_id', 'AKIDEXAMPLE', { cwd, level: 'local' });
    check('modify_local_access_key_id');
    remoteModify('s3r', 'secret_access_key', 'SECRETEXAMPLE', { cwd, level: 'local' });
    check('modify_local_secret_access_key');
    remoteAdd('backup', '../backup-store', { cwd });
    check('remote_add_backup');
    setConfig('core.autostage', 'true', { cwd });
    check('config_autostage');
    setConfig('cache.type', 'hardlink,symlink', { cwd });
    check('config_cache_type');
    remoteAdd('my.remote', 's3://bucket/dotted/path', { cwd });
    check('remote_add_dotted');
    remoteModify('my.remote', 'region', 'eu-west-1', { cwd });
    check('modify_dotted');

    // Hand edits: DVC drops every comment on its next write; cpv keeps them and changes only the
    // line it edits, so the result is DVC's text plus the hand-written lines.
    const comment = '# Team DVC config (hand-written comment)\n';
    fs.writeFileSync(path.join(root, '.dvc/config'), steps.get('hand_comment')!.files['.dvc/config']!);
    remoteModify('backup', 'verify', 'true', { cwd });
    expect(read(path.join(root, '.dvc/config'))).toBe(
      comment + steps.get('modify_after_comment')!.files['.dvc/config'],
    );

    const handSection = steps.get('hand_section')!.files['.dvc/config']!;
    fs.writeFileSync(path.join(root, '.dvc/config'), handSection);
    remoteModify('handmade', 'profile', 'default', { cwd });
    expect(read(path.join(root, '.dvc/config'))).toBe(`${handSection}    profile = default\n`);
    // DVC's view of both texts is the same
    expect(listConfig({ cwd, level: 'repo' }).map((e) => `${e.name}=${e.value}`)).toEqual(
      fixture.commands.config_list_project.stdout
        .replaceAll('<top>', path.dirname(root))
        .trimEnd()
        .split('\n'),
    );
  });

  it('the shared vector dvcfile-config-written (DVC 3.64.0)', () => {
    const vector = loadVectors().find((v) => v.id === 'dvcfile-config-written')!;
    const root = bareDvcRepo();
    const cwd = root;
    remoteAdd('storage', 's3://mybucket/dvcstore', { cwd, default: true });
    remoteModify('storage', 'endpointurl', 'http://localhost:9000', { cwd });
    remoteModify('storage', 'jobs', '8', { cwd });
    remoteModify('storage', 'grant_read', 'id=a,id=b', { cwd });
    remoteModify('storage', 'access_key_id', 'AKIA123', { cwd, level: 'local' });
    remoteModify('storage', 'secret_access_key', 'abc"def', { cwd, level: 'local' });
    remoteAdd('localremote', '../relremote', { cwd });
    setConfig('core.autostage', 'true', { cwd });
    setConfig('cache.type', 'reflink,hardlink', { cwd });
    setConfig('cache.dir', '../mycache', { cwd });
    expect(files(root)).toEqual(vector.expect);
  });
});

describe('cpv config: get, set, unset, list', () => {
  it('reads the most specific level, or the one asked for, with path values made absolute', () => {
    const root = bareDvcRepo();
    const cwd = path.join(root, 'sub');
    fs.mkdirSync(cwd);
    setConfig('cache.dir', '../../cache-here', { cwd });
    expect(read(path.join(root, '.dvc/config'))).toBe('[cache]\n    dir = ../../cache-here\n');
    setConfig('cache.dir', '', { cwd, level: 'local' });
    expect(read(path.join(root, '.dvc/config.local'))).toBe('[cache]\n    dir = ""\n');
    unsetConfig('cache.dir', { cwd, level: 'local' });
    setConfig('core.remote', 'global-one', { cwd, level: 'global' });
    setConfig('core.remote', 'local-one', { cwd, level: 'local' });
    expect(getConfig('core.remote', { cwd })).toEqual({
      name: 'core.remote',
      value: 'local-one',
      level: 'local',
      origin: '.dvc/config.local',
    });
    expect(getConfig('core.remote', { cwd, level: 'global' })).toMatchObject({
      value: 'global-one',
      origin: env.globalFile,
    });
    expect(getConfig('CACHE.DIR', { cwd }).value).toBe(path.join(path.dirname(root), 'cache-here'));
    expect(read(env.globalFile)).toBe('[core]\n    remote = global-one\n');
  });

  it('lists each level in turn, named sections first, as dvc config --list', () => {
    const root = bareDvcRepo();
    fs.mkdirSync(path.dirname(env.systemFile), { recursive: true });
    fs.writeFileSync(env.systemFile, '[core]\n    check_update = false\n');
    fs.writeFileSync(
      path.join(root, '.dvc/config'),
      '[core]\n    remote = s\n[\'remote "s"\']\n    url = s3://b/p\n[cache]\n    type = reflink, copy\n',
    );
    expect(listConfig({ cwd: root }).map((e) => `${e.origin}\t${e.name}=${e.value}`)).toEqual([
      `${env.systemFile}\tcore.check_update=false`,
      '.dvc/config\tremote.s.url=s3://b/p',
      '.dvc/config\tcore.remote=s',
      '.dvc/config\tcache.type=reflink,copy',
    ]);
    expect(listConfig({ cwd: root, level: 'local' })).toEqual([]);
  });

  it('unset removes the option and refuses one that is not set', () => {
    const root = bareDvcRepo();
    setConfig('core.autostage', 'true', { cwd: root });
    setConfig('core.check_update', 'false', { cwd: root });
    expect(unsetConfig('core.autostage', { cwd: root }).changed).toBe(true);
    expect(read(path.join(root, '.dvc/config'))).toBe('[core]\n    check_update = false\n');
    expect(() => unsetConfig('core.autostage', { cwd: root })).toThrow(
      expect.objectContaining({
        code: 'E_CONFIG_MISSING',
        message: "option 'autostage' doesn't exist in section 'core'",
      }),
    );
    expect(() => unsetConfig('cache.dir', { cwd: root })).toThrow(
      expect.objectContaining({ code: 'E_CONFIG_MISSING', message: "section 'cache' doesn't exist" }),
    );
    expect(() => unsetConfig('remote.nope.url', { cwd: root })).toThrow(
      expect.objectContaining({ code: 'E_REMOTE_MISSING' }),
    );
    expect(() => getConfig('core.remote', { cwd: root })).toThrow(
      expect.objectContaining({ code: 'E_CONFIG_MISSING' }),
    );
    expect(() => getConfig('remote.nope.url', { cwd: root })).toThrow(
      expect.objectContaining({ code: 'E_REMOTE_MISSING' }),
    );
  });

  it('refuses unknown keys and bad values and leaves the file untouched', () => {
    const root = bareDvcRepo();
    const file = path.join(root, '.dvc/config');
    fs.writeFileSync(file, '# mine\n[core]\n    autostage = true\n');
    const before = read(file);
    expect(() => setConfig('core.autostag', 'true', { cwd: root })).toThrow(
      expect.objectContaining({ code: 'E_CONFIG_KEY', hint: "Did you mean 'autostage'?" }),
    );
    expect(() => setConfig('core.autostage', 'maybe', { cwd: root })).toThrow(
      expect.objectContaining({ code: 'E_CONFIG_VALUE', hint: 'Expected true or false.' }),
    );
    expect(() => setConfig('remote.x.region', 'us-east-1', { cwd: root })).toThrow(
      expect.objectContaining({
        code: 'E_CONFIG_MISSING',
        message: "remote 'x' has no url (in .dvc/config)",
      }),
    );
    expect(() => setConfig('bogus.key', '1', { cwd: root })).toThrow(
      expect.objectContaining({ code: 'E_CONFIG_KEY' }),
    );
    expect(() => setConfig('remote.my.remote.url', 's3://b', { cwd: root })).toThrow(
      expect.objectContaining({ code: 'E_USAGE' }),
    );
    expect(() => setConfig('core.remote', `x'''y"""z`, { cwd: root })).toThrow(
      expect.objectContaining({ code: 'E_CONFIG_VALUE' }),
    );
    expect(read(file)).toBe(before);
    expect(fs.readdirSync(path.join(root, '.dvc'))).toEqual(['config']);
  });

  it('config remote.<name>.<option> creates and edits remotes; warns about secrets and cache.type', () => {
    const root = bareDvcRepo();
    expect(setConfig('remote.s3.url', 's3://b/p', { cwd: root }).warnings).toEqual([]);
    const secret = setConfig('remote.s3.secret_access_key', 'xyz', { cwd: root });
    expect(secret.warnings).toEqual([
      "'secret_access_key' is a credential and .dvc/config is committed to git: keep it in .dvc/config.local instead (add --local) and remove it from .dvc/config.",
    ]);
    expect(setConfig('remote.s3.secret_access_key', 'xyz', { cwd: root, level: 'local' }).warnings).toEqual(
      [],
    );
    expect(setConfig('cache.type', 'copy', { cwd: root }).warnings[0]).toMatch(/cache.type/);
    expect(parseOptionName('db.main.url')).toMatchObject({ section: 'db "main"', key: 'url', kind: 'db' });
  });

  it('outside a repository only the global and system levels exist', () => {
    const cwd = tempDir();
    expect(() => setConfig('core.autostage', 'true', { cwd })).toThrow(
      expect.objectContaining({ code: 'E_NOT_A_REPO' }),
    );
    setConfig('core.autostage', 'true', { cwd, level: 'system' });
    expect(read(env.systemFile)).toBe('[core]\n    autostage = true\n');
    expect(getConfig('core.autostage', { cwd })).toMatchObject({ level: 'system', origin: env.systemFile });
    expect(listConfig({ cwd }).map((e) => e.level)).toEqual(['system']);
  });
});

describe.runIf(process.platform === 'linux')(
  "global and system config paths (DVC's dirs.py via platformdirs)",
  () => {
    it('honours DVC_*_CONFIG_DIR, then XDG_CONFIG_HOME / XDG_CONFIG_DIRS, ignoring blank values', () => {
      expect(configPathFor('global', '')).toBe(env.globalFile);
      expect(configPathFor('system', '')).toBe(env.systemFile);
      process.env.XDG_CONFIG_HOME = '  ';
      expect(configPathFor('global', '')).toBe(path.join(process.env.HOME!, '.config', 'dvc', 'config'));
      process.env.DVC_GLOBAL_CONFIG_DIR = '/opt/dvc-global';
      expect(configPathFor('global', '')).toBe('/opt/dvc-global/config');
      process.env.DVC_SYSTEM_CONFIG_DIR = '';
      process.env.XDG_CONFIG_DIRS = '/etc/one:/etc/two';
      expect(configPathFor('system', '')).toBe('/etc/one/dvc/config');
      delete process.env.XDG_CONFIG_DIRS;
      expect(configPathFor('system', '')).toBe('/etc/xdg/dvc/config');
      expect(configPathFor('local', '/r/.dvc')).toBe('/r/.dvc/config.local');
    });
  },
);
