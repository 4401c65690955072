/**
 * `cpv setup`: where data goes (S3 bucket or a local directory), how to reach the git host, and who
 * commits. With flags it runs unattended; with none, on a terminal, it asks (see setup-wizard.ts).
 * `cpv doctor` checks the result.
 */
import type { Command } from 'commander';
import type { CommandContext } from './context.js';

export interface SetupFlags {
  bucket?: string;
  region?: string;
  endpoint?: string;
  profile?: string;
  credentialPath?: string;
  storageDir?: string;
  gitUser?: string;
  gitToken?: string;
  gitSshKey?: string;
  urlTemplate?: string;
  name?: string;
  email?: string;
  force?: boolean;
  validate: boolean;
  team?: string;
  model?: string;
  json?: boolean;
}

const EXAMPLES = `
Examples:
  cpv setup                                   ask, step by step (on a terminal)
  cpv setup --bucket ml-data --region eu-west-1 --profile ml
  cpv setup --bucket ml-data --endpoint http://127.0.0.1:7480 --credential-path ./aws-credentials
  cpv setup --storage-dir /mnt/shared/cpv-data --name "Ada L" --email ada@example.com
  CPV_GIT_TOKEN=… cpv setup --git-user ada --url-template 'https://git.example.com/{team}/{model}.git'
  cpv setup --git-ssh-key id_ed25519_cpv      make a key pair; prints the public key to register
`;

export function registerSetup(program: Command, ctx: CommandContext): void {
  program
    .command('setup')
    .description('Configure storage (S3 or a local directory), the git host and your identity')
    .option('--bucket <name>', 'S3 bucket for data (s3://<bucket>/<team>/<model>/)')
    .option('--region <region>', 'S3 region')
    .option('--endpoint <url>', 'S3-compatible endpoint (MinIO, Ceph), path-style')
    .option('--profile <name>', 'AWS profile (default: default)')
    .option('--credential-path <file>', 'AWS shared credentials file')
    .option('--storage-dir <dir>', 'use a local directory instead of S3')
    .option('--git-user <name>', 'git host user name (HTTPS)')
    .option('--git-token <token>', 'git host token (HTTPS; prefer the CPV_GIT_TOKEN variable)')
    .option('--git-ssh-key <file>', 'make an ed25519 key pair for SSH access (name or path)')
    .option('--url-template <template>', 'git URL of a model repo, with {team} {Team} {project} {model}')
    .option('--name <name>', 'commit author name')
    .option('--email <email>', 'commit author email')
    .option('-f, --force', 'replace an existing SSH key file')
    .option('--no-validate', 'do not contact S3 or the git host')
    .option('--team <team>', 'team to check the git URL template with')
    .option('--model <model>', 'model to check the git URL template with')
    .option('--json', 'print the resulting settings (secrets redacted) as JSON')
    .addHelpText('after', EXAMPLES)
    .action(ctx.run(async () => (await import('./setup-action.js')).setupCommand(ctx)));

  program
    .command('doctor')
    .description('Check the environment, the settings and the credentials, one line per check')
    .option('--team <team>', 'team to check the git host with')
    .option('--model <model>', 'model to check the git host with')
    .option('--json', 'print the checks as JSON')
    .addHelpText('after', '\nExit code 1 when a check fails.\n')
    .action(ctx.run(async () => (await import('./doctor.js')).doctorCommand(ctx)));
}
