/**
 * Moving a model repo's DVC objects to and from its data remote.
 *
 * Interim implementation for the local-directory remote (the zero-configuration path): objects are
 * copied in DVC's remote layout (`files/md5/ab/cdef…`, 0444, temp + rename), directories' files
 * before their `.dir` manifest, exactly what `dvc push` leaves. It is to be replaced by the shared
 * push/fetch of `src/api/` (which also speaks S3) once that is committed; until then an S3 data
 * remote is refused with a clear error rather than silently left unpushed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { HashName } from '../../cache/hash.js';
import { ObjectStore } from '../../cache/odb.js';
import { DvcFile, hashNameOf } from '../../dvcfile/dvcfile.js';
import { parseManifest } from '../../dvcfile/manifest.js';
import { CpvError } from '../../errors.js';
import { tempPathFor } from '../../fsutil.js';
import { objectKey } from '../../remote/keys.js';
import { loadRepoConfig } from '../repo-config.js';
import type { DataRemote } from './dvc-remote.js';

interface ObjectRef {
  oid: string;
  hashName: HashName;
}

/** The objects one pointer (`.dvc` text) needs: files first, then the `.dir` manifest that lists them. */
function objectsOf(
  pointerText: string,
  source: string,
  odb: ObjectStore,
  manifests: 'cache' | 'skip',
): ObjectRef[] {
  const out: ObjectRef[] = [];
  for (const o of DvcFile.parse(pointerText, source).outs) {
    if (o.md5 === undefined) continue;
    const hashName = hashNameOf(o);
    if (o.md5.endsWith('.dir') && manifests === 'cache') {
      const text = fs.readFileSync(odb.pathFor(o.md5, hashName), 'utf8');
      for (const e of parseManifest(text, source)) out.push({ oid: e.md5, hashName });
    }
    out.push({ oid: o.md5, hashName });
  }
  return out;
}

function requireLocal(remote: DataRemote): string {
  if (remote.kind !== 'local') {
    throw new CpvError(
      'E_REMOTE_CONFIG',
      `data transfer to ${remote.url} is not available in this build yet`,
      {
        hint: 'Use a local storage directory (cpv setup --storage-dir) until S3 push/pull is integrated.',
      },
    );
  }
  return remote.url;
}

async function copyAtomic(src: string, dest: string, mode: number): Promise<void> {
  await fs.promises.mkdir(path.dirname(dest), { recursive: true });
  const tmp = tempPathFor(dest);
  try {
    await fs.promises.copyFile(src, tmp);
    await fs.promises.chmod(tmp, mode);
    await fs.promises.rename(tmp, dest);
  } catch (err) {
    await fs.promises.rm(tmp, { force: true });
    throw new CpvError('E_REMOTE_IO', `cannot copy ${src} to ${dest}: ${(err as Error).message}`, {
      hint: 'Check that the storage directory exists and is writable.',
      cause: err,
    });
  }
}

/** Uploads every object the given pointer files need and the remote lacks; returns how many were sent. */
export async function pushData(repoDir: string, remote: DataRemote, pointers: string[]): Promise<number> {
  const root = requireLocal(remote);
  const odb = new ObjectStore(loadRepoConfig(path.join(repoDir, '.dvc')).cacheDir);
  let sent = 0;
  for (const pointer of pointers) {
    const abs = path.join(repoDir, pointer);
    if (!fs.existsSync(abs)) continue;
    for (const ref of objectsOf(fs.readFileSync(abs, 'utf8'), pointer, odb, 'cache')) {
      const dest = path.join(root, objectKey(ref.oid, ref.hashName));
      if (fs.existsSync(dest)) continue;
      await copyAtomic(odb.pathFor(ref.oid, ref.hashName), dest, 0o444);
      sent++;
    }
  }
  return sent;
}

/** Downloads into the cache every object the given pointer texts need that the cache lacks. */
export async function fetchData(
  repoDir: string,
  remote: DataRemote,
  pointers: Array<{ name: string; text: string }>,
): Promise<number> {
  const root = requireLocal(remote);
  const odb = new ObjectStore(loadRepoConfig(path.join(repoDir, '.dvc')).cacheDir);
  let got = 0;
  const fetchOne = async (ref: ObjectRef): Promise<void> => {
    if ((await odb.check(ref.oid, ref.hashName)) === 'ok') return;
    const src = path.join(root, objectKey(ref.oid, ref.hashName));
    if (!fs.existsSync(src)) {
      throw new CpvError('E_REMOTE_NOT_FOUND', `object ${ref.oid} is missing from the data remote ${root}`, {
        hint: 'The checkpoint was committed without its data being pushed; push it from the machine that made it.',
      });
    }
    // Manifests go in through addBytes: addFileKnown files an object under its bare md5.
    if (ref.oid.endsWith('.dir')) await odb.addBytes(await fs.promises.readFile(src), ref.oid, ref.hashName);
    else await odb.addFileKnown(src, ref.oid, ref.hashName);
    got++;
  };
  for (const { name, text } of pointers) {
    // Manifests first: they say which files a directory needs.
    for (const ref of objectsOf(text, name, odb, 'skip')) await fetchOne(ref);
    for (const ref of objectsOf(text, name, odb, 'cache')) await fetchOne(ref);
  }
  return got;
}
