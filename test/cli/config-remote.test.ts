/**
 * `cpv config` and `cpv remote` end to end: in process through `main()` against the recorded DVC
 * outputs of the `config` fixture, and once through the built `dist/cli.js` for exit codes and streams.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { captureOutput } from '../../src/cli/output.js';
import { bareDvcRepo, isolateConfigEnv, read } from '../helpers/config-env.js';
import { tempDir } from '../helpers/tmp.js';
import { FIXTURES } from '../helpers/vectors.js';

const env = isolateConfigEnv();
const fixture = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'repos', 'config.json'), 'utf8'));
const dvc = (name: string) => fixture.commands[name] as { stdout: string; exit_code: number };

async function cpv(cwd: string, ...args: string[]) {
  const output = captureOutput();
  const code = await main(['--cwd', cwd, ...args], output);
  return { code, stdout: output.stdout, stderr: output.stderr };
}

/** The fixture's repository state after its last command, built through the CLI. */
async function fixtureRepo(): Promise<string> {
  const root = bareDvcRepo();
  const run = async (...args: string[]) => expect((await cpv(root, ...args)).code, args.join(' ')).toBe(0);
  await run('remote', 'add', '-d', 's3r', 's3://bucket/team/model');
  await run('remote', 'modify', 's3r', 'endpointurl', 'http://127.0.0.1:7480');
  await run('remote', 'modify', 's3r', 'region', 'us-east-1');
  await run('remote', 'modify', '--local', 's3r', 'access_key_id', 'AKIDEXAMPLE');
  await run('remote', 'modify', '--local', 's3r', 'secret_access_key', 'SECRETEXAMPLE');
  await run('remote', 'add', 'backup', '../backup-store');
  await run('config', 'core.autostage', 'true');
  await run('config', 'cache.type', 'hardlink,symlink');
  await run('remote', 'add', 'my.remote', 's3://bucket/dotted/path');
  await run('remote', 'modify', 'my.remote', 'region', 'eu-west-1');
  await run('remote', 'modify', 'backup', 'verify', 'true');
  fs.appendFileSync(
    path.join(root, '.dvc/config'),
    '[remote "handmade"]\n    url = s3://bucket/handmade\n    Region = US-WEST-2\n',
  );
  await run('remote', 'modify', 'handmade', 'profile', 'default');
  // DVC rewrites the hand-written section in its own style; cpv leaves those lines as they were
  const dvcStyle = `['remote "handmade"']\n    url = s3://bucket/handmade\n    region = US-WEST-2\n`;
  const handStyle = '[remote "handmade"]\n    url = s3://bucket/handmade\n    Region = US-WEST-2\n';
  expect(read(path.join(root, '.dvc/config'))).toBe(
    fixture.files['.dvc/config'].replace(dvcStyle, handStyle),
  );
  expect(read(path.join(root, '.dvc/config.local'))).toBe(fixture.files['.dvc/config.local']);
  return root;
}

describe('cpv remote / cpv config print what DVC prints', () => {
  it('remote list, remote default, config --list (all levels, --project, --show-origin, --local), single keys', async () => {
    const root = await fixtureRepo();
    const top = path.dirname(root);
    const same = async (args: string[], name: string) => {
      const r = await cpv(root, ...args);
      expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }, name).toEqual({
        code: 0,
        stdout: dvc(name).stdout.replaceAll('<top>', top),
        stderr: '',
      });
    };
    // DVC >= 3.59.2 (the version dvc-compat follows) marks the default remote; the fixture's 3.51.2 did not
    expect((await cpv(root, 'remote', 'list')).stdout).toBe(
      dvc('remote_list')
        .stdout.replaceAll('<top>', top)
        .replace('s3://bucket/team/model\n', 's3://bucket/team/model\t(default)\n'),
    );
    await same(['remote', 'default'], 'remote_default');
    await same(['config', '--list'], 'config_list');
    await same(['config', '--list', '--project'], 'config_list_project');
    await same(['config', '--list', '--project', '--show-origin'], 'config_list_project_show_origin');
    await same(['config', '--list', '--local'], 'config_list_local');
    await same(['config', 'remote.s3r.url'], 'config_get_s3r_url');
    await same(['config', 'core.autostage'], 'config_get_autostage');
    await same(['config', 'cache.type'], 'config_get_cache_type');
    expect((await cpv(root, 'config', '--show-origin', 'core.remote')).stdout).toBe('.dvc/config\ts3r\n');
    // DVC crashes here (exit 255); cpv lists the remote with an empty url
    expect((await cpv(root, 'remote', 'list', '--local')).stdout).toBe('s3r\t\n');
  });

  it('remote add -d prints what DVC prints; secrets in .dvc/config warn on stderr', async () => {
    const root = bareDvcRepo();
    expect(await cpv(root, 'remote', 'add', '-d', 'S3R', 's3://bucket/team/model')).toEqual({
      code: 0,
      stdout: dvc('remote_add_s3r').stdout,
      stderr: '',
    });
    const secret = await cpv(root, 'remote', 'modify', 's3r', 'secret_access_key', 'x');
    expect(secret.code).toBe(0);
    expect(secret.stdout).toBe('');
    expect(secret.stderr).toMatch(
      /^WARNING: 'secret_access_key' is a credential and \.dvc\/config is committed to git: /,
    );
    expect(secret.stderr.split('\n')).toHaveLength(2);
    expect(read(path.join(root, '.dvc/config'))).toContain('secret_access_key = x');
    expect((await cpv(root, 'remote', 'modify', '--local', 's3r', 'secret_access_key', 'x')).stderr).toBe('');
    expect((await cpv(root, 'remote', 'modify', '-u', 's3r', 'secret_access_key')).code).toBe(0);
    expect(read(path.join(root, '.dvc/config'))).toBe(
      '[core]\n    remote = s3r\n[\'remote "s3r"\']\n    url = s3://bucket/team/model\n',
    );
  });

  it('rename, default, remove and --global through the CLI', async () => {
    const root = bareDvcRepo();
    expect((await cpv(root, 'remote', 'add', '--global', 'g', 's3://b/g')).code).toBe(0);
    expect((await cpv(root, 'remote', 'add', 'a', '/srv/a')).code).toBe(0);
    expect((await cpv(root, 'remote', 'default', 'a')).code).toBe(0);
    expect((await cpv(root, 'remote', 'rename', 'a', 'b')).code).toBe(0);
    expect((await cpv(root, 'remote', 'list')).stdout).toBe('g\ts3://b/g\nb\t/srv/a\t(default)\n');
    expect((await cpv(root, 'remote', 'default', '--unset')).code).toBe(0);
    expect((await cpv(root, 'remote', 'remove', 'b')).code).toBe(0);
    expect(read(path.join(root, '.dvc/config'))).toBe('\n');
    expect((await cpv(root, 'config', '--global', '--list')).stdout).toBe('remote.g.url=s3://b/g\n');
    expect(read(env.globalFile)).toBe('[\'remote "g"\']\n    url = s3://b/g\n');
  });

  it('refusals: one error line and a hint on stderr, exit 1; usage mistakes exit 2', async () => {
    const root = bareDvcRepo();
    await cpv(root, 'remote', 'add', 's', 's3://b/p');
    const cases: Array<[string[], number, RegExp]> = [
      [
        ['remote', 'add', 's', 's3://b/q'],
        1,
        /^cpv: error: remote 's' already exists\nhint: Use -f\/--force/,
      ],
      [['remote', 'modify', 'x', 'region', 'r'], 1, /^cpv: error: remote 'x' doesn't exist\nhint: /],
      [
        ['remote', 'modify', 's', 'regoin', 'r'],
        1,
        /^cpv: error: unknown option 'regoin' in remote 's' \(in \.dvc\/config\)\nhint: Did you mean 'region'\?\n$/,
      ],
      [
        ['remote', 'modify', 's', 'jobs', 'lots'],
        1,
        /^cpv: error: remote 's': jobs = 'lots' is invalid .*\nhint: Expected an integer ≥ 1\.\n$/,
      ],
      [['remote', 'remove', 'nope'], 1, /^cpv: error: remote 'nope' doesn't exist in /],
      [['remote', 'rename', 's', 's'], 1, /already exists/],
      [['remote', 'default'], 1, /^cpv: error: no default remote set\nhint: /],
      [['remote', 'default', 'nope'], 1, /^cpv: error: remote 'nope' doesn't exist/],
      [['config', 'remote.s.region'], 1, /^cpv: error: option 'region' doesn't exist in remote 's'\nhint: /],
      [['config', 'core.autostage', 'perhaps'], 1, /hint: Expected true or false\.\n$/],
      [['config', '--unset', 'core.remote'], 1, /^cpv: error: section 'core' doesn't exist\n/],
      [
        ['config', 'remote.my.remote.url'],
        2,
        /^cpv: error: 'remote\.my\.remote\.url' is not an option name\nhint: /,
      ],
      [['config'], 2, /^cpv: error: an option name is required\n/],
      [['config', '-l', 'core.remote'], 2, /^cpv: error: -l\/--list cannot be used/],
      [['config', '--show-origin', 'core.remote', 'x'], 2, /^cpv: error: --show-origin cannot be used/],
      [['config', '--unset', 'core.remote', 'x'], 2, /^cpv: error: --unset takes no value/],
      [['remote', 'modify', 's', 'region'], 2, /^cpv: error: no value given for 'region'/],
      [['remote', 'list', '--local', '--global'], 2, /cannot be used with option/],
    ];
    const before = read(path.join(root, '.dvc/config'));
    for (const [args, code, stderr] of cases) {
      const r = await cpv(root, ...args);
      expect({ args, code: r.code, stdout: r.stdout }).toEqual({ args, code, stdout: expect.any(String) });
      expect(r.stderr, args.join(' ')).toMatch(stderr);
    }
    expect(read(path.join(root, '.dvc/config'))).toBe(before);
    const outside = tempDir();
    const r = await cpv(outside, 'remote', 'add', 'x', 's3://b/x');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^cpv: error: not inside a DVC repository/);
  });
});

describe('the repository DVC wrote (fixtures/dvc/repos/config.tar.gz)', () => {
  it('cpv reads it as DVC did and edits it like DVC, only its own line changing', async () => {
    const top = tempDir();
    execFileSync('tar', ['-xzf', path.join(FIXTURES, 'repos', 'config.tar.gz'), '-C', top]);
    const root = path.join(top, 'config', 'repo');
    const list = await cpv(root, 'config', '--list');
    expect(list.stdout).toBe(dvc('config_list').stdout.replaceAll('<top>', path.join(top, 'config')));
    expect((await cpv(root, 'remote', 'default')).stdout).toBe(dvc('remote_default').stdout);
    const before = read(path.join(root, '.dvc/config'))!;
    expect((await cpv(root, 'remote', 'modify', 'backup', 'jobs', '4')).code).toBe(0);
    expect(read(path.join(root, '.dvc/config'))).toBe(
      before.replace('    verify = true\n', '    verify = true\n    jobs = 4\n'),
    );
  });
});

describe('the built CLI (dist/cli.js)', () => {
  const cli = path.resolve(import.meta.dirname, '../../dist/cli.js');
  it('exit codes and streams as a user sees them', () => {
    expect(fs.existsSync(cli), 'run `npm run build` first').toBe(true);
    const root = bareDvcRepo();
    const spawnEnv = {
      ...process.env,
      XDG_CONFIG_HOME: path.dirname(path.dirname(env.globalFile)),
      NO_COLOR: '1',
    };
    const run = (...args: string[]) =>
      spawnSync(process.execPath, [cli, ...args], { cwd: root, env: spawnEnv, encoding: 'utf8' });
    let r = run('remote', 'add', '-d', 'st', '../store');
    expect([r.status, r.stdout, r.stderr]).toEqual([0, "Setting 'st' as a default remote.\n", '']);
    r = run('remote', 'modify', 'st', 'password', 'pw');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^cpv: error: unknown option 'password' in remote 'st'/);
    r = run('config', 'remote.st.url');
    expect([r.status, r.stdout]).toEqual([0, `${path.join(path.dirname(root), 'store')}\n`]);
    r = run('config', 'not-a-name');
    expect(r.status).toBe(2);
    expect(read(path.join(root, '.dvc/config'))).toBe(
      '[core]\n    remote = st\n[\'remote "st"\']\n    url = ../../store\n',
    );
  });
});
