import { CPVConfig } from '../../api/checkpoint/cpv-config.js';
import { CpvError } from '../../errors.js';
import { EXIT } from '../exit-codes.js';
import type { CommandContext } from './context.js';
import { renderChecks } from './doctor.js';
import type { SetupFlags } from './setup.js';

const FLAG_KEYS: Array<keyof SetupFlags> = [
  'bucket',
  'region',
  'endpoint',
  'profile',
  'credentialPath',
  'storageDir',
  'gitUser',
  'gitToken',
  'gitSshKey',
  'urlTemplate',
  'name',
  'email',
];

export function setupCommand(ctx: CommandContext) {
  return async (flags: SetupFlags): Promise<number> => {
    const config = new CPVConfig();
    const anyFlag = FLAG_KEYS.some((k) => flags[k] !== undefined) || process.env.CPV_GIT_TOKEN !== undefined;
    if (!anyFlag) {
      if (!process.stdin.isTTY || flags.json) {
        throw new CpvError('E_USAGE', 'nothing to set up: no options given and no terminal to ask on', {
          hint: 'Pass options (cpv setup --help lists them), or run cpv setup in a terminal.',
        });
      }
      const { runWizard } = await import('../setup-wizard.js');
      return runWizard(config);
    }
    const publicKey = applyFlags(config, flags);
    if (flags.json) {
      ctx.output.out(`${JSON.stringify({ config: config.getConfig(), publicKey }, null, 2)}\n`);
    } else {
      ctx.output.out(`Settings written to ${config.path}\n`);
      if (publicKey) ctx.output.out(`Register this public key with your git host:\n${publicKey}\n`);
    }
    if (!flags.validate) return EXIT.OK;
    const report = await config.validateCredentials({ team: flags.team, model: flags.model });
    if (!flags.json)
      ctx.output.out(
        renderChecks([
          ['S3', report.s3],
          ['git host', report.git],
        ]),
      );
    return report.s3.ok && report.git.ok ? EXIT.OK : EXIT.FAILED;
  };
}

/** Writes what the flags say, in one pass; returns a new SSH public key line, if one was made. */
function applyFlags(config: CPVConfig, flags: SetupFlags): string | undefined {
  if (flags.bucket !== undefined) {
    config.setupAwsProfile({
      bucket: flags.bucket,
      region: flags.region,
      endpoint: flags.endpoint,
      profile: flags.profile,
      credentialPath: flags.credentialPath,
    });
  } else if (flags.region ?? flags.endpoint ?? flags.profile ?? flags.credentialPath) {
    throw new CpvError('E_USAGE', 'S3 options need --bucket', { hint: 'Add --bucket <name>.' });
  }
  if (flags.storageDir !== undefined) config.setupLocalStorage(flags.storageDir);
  const token = flags.gitToken ?? process.env.CPV_GIT_TOKEN;
  let publicKey: string | undefined;
  if (flags.gitSshKey !== undefined) {
    publicKey = config.setupBitbucketSsh({
      keygenFilename: flags.gitSshKey,
      force: flags.force,
      urlTemplate: flags.urlTemplate,
    }).publicKey;
  } else if (flags.gitToken !== undefined || flags.gitUser !== undefined) {
    config.setupGitHttps({ username: flags.gitUser, token: token ?? '', urlTemplate: flags.urlTemplate });
  }
  if (flags.name !== undefined || flags.email !== undefined) {
    config.setupIdentity({ name: flags.name ?? '', email: flags.email ?? '' });
  }
  return publicKey;
}
