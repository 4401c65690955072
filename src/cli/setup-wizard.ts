/**
 * The interactive side of `cpv setup` (@clack/prompts): storage, git host, identity, each step
 * validated before the next, and nothing written until its step's answers are complete. Ctrl-C or
 * Esc at any prompt stops with exit 130 and keeps the settings written by earlier steps.
 */
import * as clack from '@clack/prompts';
import type { CPVConfig, ServiceCheck } from '../api/checkpoint/cpv-config.js';
import { isCpvError } from '../errors.js';
import { EXIT } from './exit-codes.js';

class WizardCancelled extends Error {}

/** Unwraps a prompt's answer; a cancelled prompt ends the wizard. */
function answer<T>(value: T | symbol): Exclude<T, symbol> {
  if (clack.isCancel(value)) throw new WizardCancelled();
  return value as Exclude<T, symbol>;
}

const required = (what: string) => (v: string | undefined) =>
  v === undefined || v.trim() === '' ? `${what} is required` : undefined;

async function ask(
  message: string,
  opts: { placeholder?: string; initial?: string; optional?: boolean } = {},
) {
  const value = answer(
    await clack.text({
      message,
      placeholder: opts.placeholder,
      initialValue: opts.initial,
      validate: opts.optional ? undefined : required(message.replace(/\?$/, '')),
    }),
  );
  const trimmed = (value as string | undefined)?.trim();
  return trimmed === '' ? undefined : trimmed;
}

/** Runs one setup step; a CpvError is shown and the step asked again. */
async function step(run: () => Promise<void>): Promise<void> {
  for (;;) {
    try {
      await run();
      return;
    } catch (err) {
      if (!isCpvError(err)) throw err;
      clack.log.error(`${err.message}${err.hint ? `\n${err.hint}` : ''}`);
      const again = answer(await clack.confirm({ message: 'Try this step again?', initialValue: true }));
      if (!again) return;
    }
  }
}

function showCheck(name: string, check: ServiceCheck): void {
  if (check.skipped) clack.log.info(`${name}: ${check.detail}`);
  else if (check.ok) clack.log.success(`${name}: ${check.detail}`);
  else clack.log.warn(`${name}: ${check.detail}${check.hint ? `\n${check.hint}` : ''}`);
}

async function storageStep(config: CPVConfig): Promise<void> {
  const current = config.effective();
  const kind = answer(
    await clack.select({
      message: 'Where should data and model files be stored?',
      options: [
        { value: 's3', label: 'An S3 bucket', hint: 'AWS, MinIO, Ceph, …' },
        { value: 'local', label: 'A local or shared directory' },
      ],
      initialValue: current.aws.bucket ? 's3' : 'local',
    }),
  );
  if (kind === 'local') {
    const dir = await ask('Directory for the data?', { initial: current.storageDir ?? '' });
    clack.log.success(`Data goes to ${config.setupLocalStorage(dir!)}`);
    return;
  }
  const bucket = await ask('Bucket name?', { initial: current.aws.bucket ?? '' });
  const region = await ask('Region? (empty for the default)', {
    initial: current.aws.region,
    optional: true,
  });
  const endpoint = await ask('Endpoint URL? (empty for AWS)', {
    placeholder: 'http://127.0.0.1:7480',
    initial: current.aws.endpoint,
    optional: true,
  });
  const profile = await ask('AWS profile?', { initial: current.aws.profile ?? 'default' });
  const credentialPath = await ask('AWS credentials file? (empty for ~/.aws/credentials)', {
    initial: current.aws.credentialPath,
    optional: true,
  });
  config.setupAwsProfile({ bucket: bucket!, region, endpoint, profile, credentialPath });
  const spin = clack.spinner();
  spin.start('Checking the bucket (writing and deleting a probe object)');
  const report = await config.validateCredentials();
  spin.stop('Checked the bucket');
  showCheck('S3', report.s3);
}

async function gitStep(config: CPVConfig): Promise<void> {
  const kind = answer(
    await clack.select({
      message: 'How do model repos reach their git host?',
      options: [
        { value: 'none', label: 'No git host for now', hint: 'local git only' },
        { value: 'https', label: 'HTTPS with a token', hint: 'GitHub, GitLab, Bitbucket app password' },
        { value: 'ssh', label: 'SSH with a new key pair', hint: 'Bitbucket default' },
      ],
      initialValue: 'none',
    }),
  );
  if (kind === 'none') return;
  const urlTemplate = await ask('Repo URL template? (empty for the Bitbucket default)', {
    placeholder: kind === 'ssh' ? 'git@host:{team}/{model}.git' : 'https://host/{team}/{model}.git',
    optional: true,
  });
  if (kind === 'ssh') {
    const name = await ask('Key file name?', { initial: 'id_ed25519_cpv' });
    const key = config.setupBitbucketSsh({ keygenFilename: name!, urlTemplate });
    clack.note(key.publicKey, 'Register this public key with your git host');
    return;
  }
  const username = await ask('User name? (empty if the token alone is enough)', { optional: true });
  const token = answer(await clack.password({ message: 'Token?', validate: required('Token') }));
  config.setupGitHttps({ username, token, urlTemplate });
  const report = await config.validateCredentials();
  showCheck('git host', report.git);
}

async function identityStep(config: CPVConfig): Promise<void> {
  const id = config.effective().identity;
  const name = await ask('Your name, for commits?', { initial: id?.name ?? process.env.GIT_AUTHOR_NAME });
  const email = await ask('Your email, for commits?', { initial: id?.email ?? process.env.GIT_AUTHOR_EMAIL });
  config.setupIdentity({ name: name!, email: email! });
}

export async function runWizard(config: CPVConfig): Promise<number> {
  clack.intro('cpv setup');
  try {
    await step(() => storageStep(config));
    await step(() => gitStep(config));
    await step(() => identityStep(config));
  } catch (err) {
    if (!(err instanceof WizardCancelled)) throw err;
    clack.cancel('Setup stopped; earlier steps were saved.');
    return EXIT.INTERRUPTED;
  }
  clack.outro(`Saved to ${config.path}. Run cpv doctor to check everything.`);
  return EXIT.OK;
}
