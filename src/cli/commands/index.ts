/**
 * Every command of the CLI, in the order `cpv --help` lists them. A registration only declares
 * flags; the action's module is imported when the command runs. Add a command = add one line.
 */

import { registerCheckout } from './checkout.js';
import { registerCommit } from './commit.js';
import { registerConfig } from './config.js';
import type { RegisterCommand } from './context.js';
import { registerDiff } from './diff.js';
import { registerGc } from './gc.js';
import { registerLs } from './ls.js';
import { registerMove } from './move.js';
import { registerData } from './register-data.js';
import { registerRelease } from './release.js';
import { registerRemote } from './remote.js';
import { registerRemove } from './remove.js';
import { registerDataSeries, registerModel } from './series.js';
import { registerSetup } from './setup.js';
import { registerTransfer } from './transfer.js';

export type { CommandContext } from './context.js';

export const COMMANDS: RegisterCommand[] = [
  registerData,
  registerCheckout,
  registerCommit,
  registerRemove,
  registerMove,
  registerDiff,
  registerLs,
  registerGc,
  registerTransfer,
  registerSetup,
  registerModel,
  registerDataSeries,
  registerRelease,
  registerRemote,
  registerConfig,
];
