/** Identity lookup order and git's config/date formats. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { identityFromConfigText, parseGitDate, resolveIdentity } from '../../src/git/identity.js';
import { tempDir } from '../helpers/tmp.js';

describe('identity', () => {
  it('reads user.* and role-specific keys from config text, last value winning', () => {
    const text = [
      '[core]',
      '  name = not-this',
      '[user "sub"]',
      '  name = not-this-either',
      '[User]',
      '  name = First',
      '  name = "Second \\"Q\\" Person" ; a comment',
      '  email = s@example.com # comment',
      '[author]',
      '  email = author@example.com',
    ].join('\n');
    expect(identityFromConfigText(text, 'author')).toEqual({
      name: 'Second "Q" Person',
      email: 'author@example.com',
    });
    expect(identityFromConfigText(text, 'committer')).toEqual({
      name: 'Second "Q" Person',
      email: 's@example.com',
    });
  });

  it('parses GIT_*_DATE in raw and ISO forms', () => {
    expect(parseGitDate('1700000000 +0130')).toEqual({ timestamp: 1700000000, timezoneOffset: -90 });
    expect(parseGitDate('@1700000000 -0500')).toEqual({ timestamp: 1700000000, timezoneOffset: 300 });
    expect(parseGitDate('2024-01-02T03:04:05+02:00')).toEqual({
      timestamp: 1704157445,
      timezoneOffset: -120,
    });
    expect(parseGitDate('yesterday-ish')).toBeUndefined();
    expect(parseGitDate(undefined)).toBeUndefined();
  });

  it('prefers ~/.gitconfig over the XDG file, and falls back to $EMAIL for the address', () => {
    const home = tempDir();
    fs.mkdirSync(path.join(home, '.config', 'git'), { recursive: true });
    fs.writeFileSync(
      path.join(home, '.config', 'git', 'config'),
      '[user]\nname = Xdg\nemail = xdg@example.com\n',
    );
    fs.writeFileSync(path.join(home, '.gitconfig'), '[user]\nname = Home\n');
    const id = resolveIdentity('author', undefined, { env: { HOME: home } });
    expect([id.name, id.email]).toEqual(['Home', 'xdg@example.com']);
    const noFiles = { HOME: tempDir(), EMAIL: 'mail@example.com', GIT_AUTHOR_NAME: 'N' };
    expect(resolveIdentity('author', undefined, { env: noFiles }).email).toBe('mail@example.com');
  });

  it('rejects names git cannot store', () => {
    expect(() => resolveIdentity('author', { name: 'A <b>', email: 'x@y' }, { env: {} })).toThrowError(
      expect.objectContaining({ code: 'E_NO_IDENTITY' }),
    );
  });
});
