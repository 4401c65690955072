/**
 * The data remote of a model repo, written into its DVC config so plain `dvc pull` works there
 * too: `.dvc/config` gets the default remote `storage` and where it points (committed, shared by
 * every clone); `.dvc/config.local` (git-ignored) gets this machine's settings for it, which win.
 * No secret is written to either: AWS keys stay in the AWS credentials file.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../../fsutil.js';
import type { AwsSettings } from './config-file.js';

export const DATA_REMOTE_NAME = 'storage';

export interface DataRemote {
  /** `s3://bucket/team/model` or an absolute directory. */
  url: string;
  kind: 's3' | 'local';
  aws?: AwsSettings;
}

function section(name: string, entries: Array<[string, string | undefined]>): string {
  const lines = entries.filter(([, v]) => v !== undefined && v !== '').map(([k, v]) => `    ${k} = ${v}`);
  return lines.length === 0 ? '' : `${name}\n${lines.join('\n')}\n`;
}

/** The text of `.dvc/config` for a model repo (DVC's own layout and indentation). */
export function sharedConfigText(remote: DataRemote): string {
  return (
    section('[core]', [['remote', DATA_REMOTE_NAME]]) +
    section(`['remote "${DATA_REMOTE_NAME}"']`, [
      ['url', remote.url],
      ['endpointurl', remote.aws?.endpoint],
      ['region', remote.aws?.region],
    ])
  );
}

/**
 * The text of `.dvc/config.local` (never committed): this machine's view of the same remote. It
 * repeats the location (a clone on another machine may reach the storage under another path or
 * endpoint) and adds what is machine-only: the AWS profile and credentials file path.
 */
export function localConfigText(remote: DataRemote): string {
  return section(`['remote "${DATA_REMOTE_NAME}"']`, [
    ['url', remote.url],
    ['endpointurl', remote.aws?.endpoint],
    ['region', remote.aws?.region],
    ['profile', remote.aws?.profile],
    ['credentialpath', remote.aws?.credentialPath],
  ]);
}

/** Writes both files for `remote` into the repo at `repoDir`. */
export function writeDataRemote(repoDir: string, remote: DataRemote): void {
  const dvcDir = path.join(repoDir, '.dvc');
  writeFileAtomic(path.join(dvcDir, 'config'), sharedConfigText(remote));
  const local = localConfigText(remote);
  const localPath = path.join(dvcDir, 'config.local');
  if (local !== '') writeFileAtomic(localPath, local);
  else fs.rmSync(localPath, { force: true });
}
