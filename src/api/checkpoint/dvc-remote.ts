/**
 * The data remote of a model repo, written into its DVC config so plain `dvc pull` works there
 * too: `.dvc/config` gets the default remote `storage` and where it points (committed, shared by
 * every clone); `.dvc/config.local` (git-ignored) gets this machine's settings for it, which win.
 * No secret is written to either: AWS keys stay in the AWS credentials file.
 *
 * Both files are edited, not replaced: whatever else a user keeps there (`cache.type`, another
 * remote, comments, a `jobs` option of `storage` itself) survives every checkpoint operation.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigDocument } from '../../dvcfile/config.js';
import { writeFileAtomic } from '../../fsutil.js';
import type { AwsSettings } from './config-file.js';

export const DATA_REMOTE_NAME = 'storage';
const REMOTE_SECTION = `remote "${DATA_REMOTE_NAME}"`;

export interface DataRemote {
  /** `s3://bucket/team/model` or an absolute directory. */
  url: string;
  kind: 's3' | 'local';
  aws?: AwsSettings;
}

type Options = Array<[key: string, value: string | undefined]>;

/** Where the storage is: the same in both files (another machine may reach it differently). */
function locationOptions(remote: DataRemote): Options {
  return [
    ['url', remote.url],
    ['endpointurl', remote.aws?.endpoint],
    ['region', remote.aws?.region],
  ];
}

/** Machine-only settings: the AWS profile and the credentials file path. */
function machineOptions(remote: DataRemote): Options {
  return [
    ['profile', remote.aws?.profile],
    ['credentialpath', remote.aws?.credentialPath],
  ];
}

/** Sets each option that has a value and removes each that has none. */
function applyOptions(doc: ConfigDocument, section: string, options: Options): void {
  for (const [key, value] of options) {
    if (value === undefined || value === '') doc.unset(section, key);
    else doc.set(section, key, value);
  }
}

function readDocument(file: string): ConfigDocument {
  return fs.existsSync(file)
    ? ConfigDocument.parse(fs.readFileSync(file, 'utf8'), file)
    : ConfigDocument.empty();
}

/** `.dvc/config` of the repo at `repoDir` with the data remote set as the default remote. */
function sharedConfigText(repoDir: string, remote: DataRemote): string {
  const doc = readDocument(path.join(repoDir, '.dvc', 'config'));
  doc.set('core', 'remote', DATA_REMOTE_NAME);
  applyOptions(doc, REMOTE_SECTION, locationOptions(remote));
  return doc.toString();
}

/**
 * `.dvc/config.local` of the repo at `repoDir` (never committed) with this machine's view of the
 * data remote, or undefined when the file would hold nothing at all.
 */
function localConfigText(repoDir: string, remote: DataRemote): string | undefined {
  const doc = readDocument(path.join(repoDir, '.dvc', 'config.local'));
  applyOptions(doc, REMOTE_SECTION, [...locationOptions(remote), ...machineOptions(remote)]);
  const text = doc.toString();
  return text.trim() === '' ? undefined : text;
}

/** Writes `text` to `file` unless it holds exactly that already (no needless mtime change). */
function writeIfChanged(file: string, text: string): void {
  const current = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined;
  if (current !== text) writeFileAtomic(file, text);
}

/** Records `remote` in both config files of the repo at `repoDir`. */
export function writeDataRemote(repoDir: string, remote: DataRemote): void {
  writeIfChanged(path.join(repoDir, '.dvc', 'config'), sharedConfigText(repoDir, remote));
  writeLocalDataRemote(repoDir, remote);
}

/** Records this machine's settings for `remote` in `.dvc/config.local` (only when they changed). */
export function writeLocalDataRemote(repoDir: string, remote: DataRemote): void {
  const file = path.join(repoDir, '.dvc', 'config.local');
  const text = localConfigText(repoDir, remote);
  if (text !== undefined) writeIfChanged(file, text);
  else fs.rmSync(file, { force: true });
}
