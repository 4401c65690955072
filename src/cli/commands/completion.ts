/** `cpv completion bash|zsh`: prints a completion script for the shell. */
import type { Command } from 'commander';
import { CpvError } from '../../errors.js';
import { completionScript, SHELLS, type Shell } from '../completion.js';
import { EXIT } from '../exit-codes.js';
import type { CommandContext } from './context.js';

export function registerCompletion(program: Command, ctx: CommandContext): void {
  program
    .command('completion')
    .description('Print a shell completion script (bash or zsh)')
    .argument('<shell>', `one of: ${SHELLS.join(', ')}`)
    .addHelpText(
      'after',
      '\nExamples:\n  cpv completion bash >> ~/.bashrc\n  cpv completion zsh > ~/.zsh/completions/_cpv\n',
    )
    .action(
      ctx.run(async () => async (shell: string) => {
        if (!SHELLS.includes(shell as Shell)) {
          throw new CpvError('E_USAGE', `unknown shell '${shell}'`, {
            hint: `Use one of: ${SHELLS.join(', ')}.`,
          });
        }
        ctx.output.out(completionScript(program, shell as Shell));
        return EXIT.OK;
      }),
    );
}
