/**
 * The Bitbucket-over-SSH path for real: `setupBitbucketSsh` makes the key, the key is registered
 * with a throwaway OpenSSH server on 127.0.0.1 (as a user registers it with the host), and two
 * machines push, clone, list and download over SSH with it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CPVConfig } from '../../src/api/checkpoint/cpv-config.js';
import { ModelsCheckpointsManage } from '../../src/api/checkpoint/models.js';
import type { CpvError } from '../../src/errors.js';
import { type Sshd, startSshd } from '../helpers/sshd.js';
import { gitCli, tempDir } from '../helpers/tmp.js';

/** Many round trips to real servers: allow for a loaded CI machine (2 cores shared by every suite). */
const SLOW = 180_000;

let sshd: Sshd;
let sshdDir: string;
let root: string;
beforeAll(async () => {
  sshdDir = tempDir('cpv-sshd-');
  sshd = await startSshd(sshdDir);
  root = tempDir('cpv-ssh-repos-');
});
afterAll(() => sshd?.stop());

function bare(name: string): string {
  const dir = path.join(root, `${name}.git`);
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  gitCli(path.dirname(dir), 'init', '-q', '--bare', '-b', 'main', path.basename(dir));
  return dir;
}

/** A machine whose key is made by setupBitbucketSsh and, if `register`, accepted by the server. */
function machine(storage: string, register: boolean): CPVConfig {
  const cfg = new CPVConfig({
    env: { CPV_HOME: tempDir('cpv-home-'), CPV_GIT_SSH_KNOWN_HOSTS: sshd.knownHosts, HOME: '/nonexistent' },
  });
  const { publicKey } = cfg.setupBitbucketSsh({
    keygenFilename: 'id_cpv',
    urlTemplate: `ssh://${sshd.user}@127.0.0.1:${sshd.port}${root}/{project}/{model}.git`,
  });
  if (register) fs.appendFileSync(path.join(sshdDir, 'authorized_keys'), `${publicKey}\n`);
  cfg.setupLocalStorage(storage);
  return cfg;
}

describe('checkpoints over SSH with a key from setupBitbucketSsh', { timeout: SLOW }, () => {
  it('A pushes over SSH; B clones, lists and downloads; an unregistered key is refused', async () => {
    const remote = bare('AI-Vision-model-checkpoints/resnet');
    const storage = tempDir('cpv-storage-');
    const a = new ModelsCheckpointsManage('vision', 'resnet', {
      workdir: tempDir('cpv-a-'),
      config: machine(storage, true),
    });
    await a.importModelInit();
    fs.writeFileSync(path.join(a.path, 'model.bin'), 'ssh-weights');
    await a.uploadModelCheckpoint({ metrics: { acc: 0.9 } });
    expect(await a.tagModelCheckpoint()).toBe('v1.0');
    expect(gitCli(remote, 'rev-parse', 'main').trim()).toBe(gitCli(a.path, 'rev-parse', 'HEAD').trim());
    expect(gitCli(remote, 'cat-file', '-t', 'v1.0')).toBe('tag\n');

    const b = new ModelsCheckpointsManage('vision', 'resnet', {
      workdir: tempDir('cpv-b-'),
      config: machine(storage, true),
    });
    expect(await b.readCheckpointTag()).toEqual(['v1.0']);
    const art = await b.downloadModelCheckpoint({ tag: 'v1.0' });
    expect(fs.readFileSync(path.join(art.path, 'model.bin'), 'utf8')).toBe('ssh-weights');

    const c = new ModelsCheckpointsManage('vision', 'resnet', {
      workdir: tempDir('cpv-c-'),
      config: machine(storage, false),
    });
    let err: CpvError | undefined;
    try {
      await c.readCheckpointTag();
    } catch (e) {
      err = e as CpvError;
    }
    expect(err?.code).toBe('E_AUTH');
    expect(fs.existsSync(c.path)).toBe(false);
  });
});
