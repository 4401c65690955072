/**
 * cpv — the library. Everything a program needs is exported from here with its types.
 * The library never prints and never exits: it returns results and throws CpvError.
 */
export { type AddedOutput, type AddOptions, type AddResult, addTargets } from './api/add.js';
export {
  type CheckoutChange,
  type CheckoutOptions,
  type CheckoutResult,
  checkout,
} from './api/checkout.js';
export * from './api/checkpoint/index.js';
export { type CloudStatus, type CloudStatusResult, cloudStatus } from './api/cloud-status.js';
export { type CommitOptions, type CommitResult, commitTargets } from './api/commit.js';
export {
  type ConfigEditResult,
  type ConfigEntry,
  type ConfigLevel,
  type ConfigOptions,
  getConfig,
  listConfig,
  setConfig,
  unsetConfig,
} from './api/config-edit.js';
export { type DiffOptions, type DiffResult, diffRevisions } from './api/diff.js';
export { type FetchResult, fetch } from './api/fetch.js';
export { type GcOptions, type GcPlan, type GcResult, gc } from './api/gc.js';
export { type InitOptions, type InitResult, initRepo } from './api/init.js';
export { type LsEntry, type LsOptions, listTracked } from './api/ls.js';
export { type MoveOptions, type MoveResult, moveOutput } from './api/move.js';
export { type PullOptions, type PullResult, pull } from './api/pull.js';
export { type PushResult, push } from './api/push.js';
export {
  type RemoteAddOptions,
  type RemoteInfo,
  type RemoteModifyOptions,
  remoteAdd,
  remoteDefault,
  remoteList,
  remoteModify,
  remoteRemove,
  remoteRename,
  setRemoteDefault,
  unsetRemoteDefault,
} from './api/remote-config.js';
export { type RemoveOptions, type RemoveResult, removeTargets } from './api/remove.js';
export { findRepoRoot, Repo } from './api/repo.js';
export {
  type OutputStatus,
  repoStatus,
  type StageStatus,
  type StatusOptions,
  type StatusResult,
} from './api/status.js';
export {
  type FailedObject,
  TransferIncompleteError,
  type TransferOptions,
  type TransferProgress,
} from './api/transfer.js';
export { type HashName, hashFile } from './cache/hash.js';
export { DEFAULT_LINK_TYPES, type LinkType } from './cache/link.js';
export { ConfigDocument, parseConfig } from './dvcfile/config.js';
export { DvcFile, type DvcOutput } from './dvcfile/dvcfile.js';
export { type ManifestEntry, manifestOid, parseManifest, serializeManifest } from './dvcfile/manifest.js';
export { CpvError, type CpvErrorCode, isCpvError } from './errors.js';
export type { GitCredentials } from './git/auth.js';
export type { CommitOptions as GitCommitOptions } from './git/commit.js';
export { GitHistory, type RecordedOutput } from './git/history.js';
export type { Identity as GitIdentity } from './git/identity.js';
export type { LockOptions as GitLockOptions } from './git/lock.js';
export type {
  CloneOptions as GitCloneOptions,
  FetchOptions as GitFetchOptions,
  FetchResult as GitFetchResult,
  PushOptions as GitPushOptions,
  PushResult as GitPushResult,
  RemoteOptions as GitRemoteOptions,
} from './git/remotes.js';
export { GitRepo, type OpenOptions as GitOpenOptions } from './git/repo.js';
export type {
  CommitInfo as GitCommitInfo,
  LogOptions as GitLogOptions,
  Person as GitPerson,
  TagInfo as GitTagInfo,
  TreeEntry as GitTreeEntry,
} from './git/revs.js';
export type { SshOptions as GitSshOptions } from './git/ssh-transport.js';
export type { TagOptions as GitTagOptions, TagResult as GitTagResult } from './git/tags.js';
export type { FileStatus as GitFileStatus } from './git/worktree.js';
export { getRemote, openRemote, type RemoteConfig, remoteConfig } from './remote/index.js';
export type { Remote, TransferCallOptions } from './remote/remote.js';
