/**
 * The checkpoint API's public surface: the classes our users call and the types of what they
 * take and return. Everything else in this folder is internal.
 */
export {
  CombinedCheckpointsManage,
  type CombinedMetadata,
  type CombinedRevertOptions,
  type CombinedRevertResult,
  type CombinedTagOptions,
  type Release,
} from './combined.js';
export type {
  CheckpointComparison,
  FileChange,
  MetricComparison,
  VersionSide,
} from './compare.js';
export type { AwsSettings, CpvConfigData, GitSettings } from './config-file.js';
export {
  type AwsProfileSetup,
  CPVConfig,
  type CPVConfigOptions,
  type CredentialReport,
  type GitHttpsSetup,
  type PublicConfig,
  type ServiceCheck,
  type SshSetup,
  type SshSetupResult,
  type ValidateOptions,
} from './cpv-config.js';
export { type EffectiveConfig, ENV_OVERRIDES, type SettingSource } from './effective-config.js';
export type { InitModelOptions, InitModelResult } from './init.js';
export type { Metrics, MetricsEntry, MetricValue } from './metrics.js';
export type { CallOptions, CheckpointProgress, ManageOptions } from './model-repo.js';
export {
  type ModelDownloadOptions,
  ModelsCheckpointsManage,
  type ModelUploadOptions,
} from './models.js';
export type { CheckpointPlan, PlanStep } from './plan.js';
export type {
  CheckpointArtifacts,
  DownloadOptions,
  RevertOptions,
  RevertResult,
  SeriesMetadata,
  TagOptions,
  UploadOptions,
  UploadResult,
  VersionInfo,
} from './series.js';
export {
  compareVersions,
  nextVersion,
  parseVersionTag,
  sortVersionTags,
  type Version,
  type VersionNamespace,
} from './versions.js';
