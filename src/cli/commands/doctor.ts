/** `cpv doctor`: one line per check of the environment, the settings file and the credentials. */
import * as fs from 'node:fs';
import { CPVConfig, type ServiceCheck } from '../../api/checkpoint/cpv-config.js';
import { EXIT } from '../exit-codes.js';
import type { CommandContext } from './context.js';

type Named = [name: string, check: ServiceCheck];

export function renderChecks(checks: Named[]): string {
  return checks
    .map(([name, c]) => {
      const mark = c.skipped ? '-' : c.ok ? '✓' : '✗';
      const hint = !c.ok && c.hint ? ` (hint: ${c.hint})` : '';
      return `${mark} ${name}: ${c.detail.split('\n')[0]}${hint}\n`;
    })
    .join('');
}

function nodeCheck(): ServiceCheck {
  const major = Number(process.versions.node.split('.')[0]);
  return major >= 20
    ? { ok: true, detail: `Node.js ${process.versions.node}` }
    : {
        ok: false,
        detail: `Node.js ${process.versions.node} is too old`,
        hint: 'Install Node.js 20 or newer.',
      };
}

function settingsFileCheck(config: CPVConfig): ServiceCheck {
  const st = fs.statSync(config.path, { throwIfNoEntry: false });
  if (st === undefined) {
    return { ok: true, skipped: true, detail: `${config.path} does not exist: local defaults in use` };
  }
  const mode = st.mode & 0o777;
  if ((mode & 0o077) !== 0) {
    return {
      ok: false,
      detail: `${config.path} is readable by others (mode ${mode.toString(8)})`,
      hint: `chmod 600 ${config.path}`,
    };
  }
  return { ok: true, detail: `${config.path} (mode 600)` };
}

function identityCheck(config: CPVConfig): ServiceCheck {
  const id = config.effective().identity;
  if (id?.name && id.email) return { ok: true, detail: `${id.name} <${id.email}>` };
  const envName = process.env.GIT_AUTHOR_NAME;
  if (envName) return { ok: true, detail: `${envName} (from GIT_AUTHOR_NAME)` };
  return {
    ok: true,
    skipped: true,
    detail: 'no commit identity set; commits use the git config or user@host',
  };
}

export function doctorCommand(ctx: CommandContext) {
  return async (flags: { team?: string; model?: string; json?: boolean }): Promise<number> => {
    const config = new CPVConfig();
    const report = await config.validateCredentials({ team: flags.team, model: flags.model });
    const checks: Named[] = [
      ['node', nodeCheck()],
      ['settings', settingsFileCheck(config)],
      ['identity', identityCheck(config)],
      ['S3', report.s3],
      ['git host', report.git],
    ];
    const ok = checks.every(([, c]) => c.ok);
    if (flags.json)
      ctx.output.out(`${JSON.stringify({ ok, checks: Object.fromEntries(checks) }, null, 2)}\n`);
    else ctx.output.out(renderChecks(checks));
    return ok ? EXIT.OK : EXIT.FAILED;
  };
}
