/**
 * Where a model's data and git history live, from the team and model names.
 *
 * Data: `s3://<bucket>/<team>/<model>` (DVC keys go below it), or `<storageDir>/<team>/<model>` on
 * the zero-configuration path. Git: a URL template with placeholders, so Bitbucket's layout (one
 * project `AI-<Team>-model-checkpoints` per team, one repo per model) is only the default and any
 * HTTPS or SSH git server fits.
 */
import * as path from 'node:path';
import { CpvError } from '../../errors.js';
import { checkName } from './names.js';

/** Placeholders a git URL template may use. */
export const URL_PLACEHOLDERS = ['team', 'Team', 'model', 'project'] as const;

export const DEFAULT_HTTPS_URL_TEMPLATE = 'https://bitbucket.org/{project}/{model}.git';
export const DEFAULT_SSH_URL_TEMPLATE = 'git@bitbucket.org:{project}/{model}.git';

/** The Bitbucket project a team's model repos live in: `AI-<Team>-model-checkpoints`. */
export function teamProject(team: string): string {
  return `AI-${capitalize(checkName('team', team))}-model-checkpoints`;
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** Fills `{team}`, `{Team}`, `{model}` and `{project}` in a git URL template. */
export function expandUrlTemplate(template: string, team: string, model: string): string {
  checkName('team', team);
  checkName('model', model);
  const values: Record<(typeof URL_PLACEHOLDERS)[number], string> = {
    team,
    Team: capitalize(team),
    model,
    project: teamProject(team),
  };
  return template.replace(/\{([^{}]*)\}/g, (_, key: string) => {
    if (!(key in values)) {
      throw new CpvError('E_CONFIG_VALUE', `unknown placeholder {${key}} in git URL template '${template}'`, {
        hint: `Use only ${URL_PLACEHOLDERS.map((p) => `{${p}}`).join(', ')} (cpv setup --url-template).`,
      });
    }
    return values[key as keyof typeof values];
  });
}

/** Throws unless every placeholder in `template` is known; returns it. */
export function checkUrlTemplate(template: string): string {
  if (template.trim() === '') {
    throw new CpvError('E_CONFIG_VALUE', 'the git URL template is empty', {
      hint: `For example ${DEFAULT_HTTPS_URL_TEMPLATE}`,
    });
  }
  expandUrlTemplate(template, 'team', 'model');
  return template;
}

/** The DVC remote URL for a model's data on S3. */
export function s3DataUrl(bucket: string, team: string, model: string): string {
  if (bucket === '' || bucket.includes('/')) {
    throw new CpvError('E_CONFIG_VALUE', `invalid bucket name '${bucket}'`, {
      hint: 'Give the bare bucket name, without s3:// or a path (cpv setup --bucket).',
    });
  }
  return `s3://${bucket}/${checkName('team', team)}/${checkName('model', model)}`;
}

/** The DVC remote directory for a model's data on the zero-configuration path. */
export function localDataDir(storageDir: string, team: string, model: string): string {
  return path.join(path.resolve(storageDir), checkName('team', team), checkName('model', model));
}
