/**
 * Every command of the CLI, in the order `cpv --help` lists them. A registration only declares
 * flags; the action's module is imported when the command runs. Add a command = add one line.
 */

import { registerCheckout } from './checkout.js';
import type { RegisterCommand } from './context.js';
import { registerData } from './register-data.js';

export type { CommandContext } from './context.js';

export const COMMANDS: RegisterCommand[] = [registerData, registerCheckout];
