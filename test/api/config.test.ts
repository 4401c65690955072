import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRepoConfig } from '../../src/api/repo-config.js';
import { configBool, configList, configString, parseConfig } from '../../src/dvcfile/config.js';
import { tempDir } from '../helpers/tmp.js';
import { loadVectors } from '../helpers/vectors.js';

describe('DVC config reading', () => {
  it('reads the DVC-written config vector', () => {
    const v = loadVectors().find((x) => x.id === 'dvcfile-config-written')!;
    const data = parseConfig(v.expect['.dvc/config'] as string, 'config');
    expect(configString(data, 'core', 'remote')).toBe('storage');
    expect(configBool(data, 'core', 'autostage')).toBe(true);
    // quoted value: a string, not a list
    expect(configString(data, 'cache', 'type')).toBe('reflink,hardlink');
    expect(configString(data, 'remote "storage"', 'url')).toBe('s3://mybucket/dvcstore');
    expect(configString(data, 'remote "storage"', 'grant_read')).toBe('id=a,id=b');
    const local = parseConfig(v.expect['.dvc/config.local'] as string, 'config.local');
    expect(configString(local, 'remote "storage"', 'secret_access_key')).toBe('abc"def');
  });

  it('accepts bare and quoted section names, comments, case, and comma lists', () => {
    const data = parseConfig(
      '# top\n[ Core ]\n    Remote = X # inline\n[remote "Hand"]\n  url = s3://b/p\n[cache]\n type = reflink, copy\n',
      'c',
    );
    expect(configString(data, 'core', 'remote')).toBe('X');
    expect(configString(data, 'remote "hand"', 'url')).toBe('s3://b/p');
    expect(configList(data, 'cache', 'type')).toEqual(['reflink', 'copy']);
    expect(configString(data, 'core', 'missing')).toBeUndefined();
  });

  it('names file and line for a broken line', () => {
    expect(() => parseConfig('[core]\nnot a pair\n', '.dvc/config')).toThrow(/\.dvc\/config:2/);
    expect(() => parseConfig('key = value\n', '.dvc/config')).toThrow(/\.dvc\/config:1/);
  });

  it('merges levels and resolves cache.dir against the file that sets it', () => {
    const repo = tempDir();
    const dvcDir = path.join(repo, '.dvc');
    fs.mkdirSync(dvcDir);
    fs.writeFileSync(path.join(dvcDir, 'config'), '[cache]\n    dir = ../../mycache\n    type = copy\n');
    fs.writeFileSync(path.join(dvcDir, 'config.local'), '[cache]\n    type = "hardlink,copy"\n');
    const cfg = loadRepoConfig(dvcDir);
    expect(cfg.cacheDir).toBe(path.resolve(dvcDir, '../../mycache'));
    expect(cfg.linkTypes).toEqual(['hardlink', 'copy']);
    expect(cfg.noScm).toBe(false);
  });

  it('rejects an unknown cache.type', () => {
    const repo = tempDir();
    fs.mkdirSync(path.join(repo, '.dvc'));
    fs.writeFileSync(path.join(repo, '.dvc/config'), '[cache]\n    type = teleport\n');
    expect(() => loadRepoConfig(path.join(repo, '.dvc'))).toThrow(/unknown cache.type 'teleport'/);
  });
});
