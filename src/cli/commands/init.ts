import { initRepo } from '../../api/init.js';
import { EXIT } from '../exit-codes.js';
import type { Output } from '../output.js';

interface InitFlags {
  scm: boolean;
  subdir?: boolean;
  force?: boolean;
  quiet?: boolean;
}

export function initCommand(ctx: { output: Output; cwd: string }) {
  return async (flags: InitFlags): Promise<number> => {
    const result = await initRepo(ctx.cwd, { noScm: !flags.scm, subdir: flags.subdir, force: flags.force });
    if (flags.quiet) return EXIT.OK;
    ctx.output.out('Initialized DVC repository.\n');
    if (!result.noScm) ctx.output.out('\nYou can now commit the changes to git.\n');
    return EXIT.OK;
  };
}
