/** Config tests: global and system config dirs in temp dirs (never the real home), and a bare repo. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import { tempDir } from './tmp.js';

const VARS = [
  'HOME',
  'XDG_CONFIG_HOME',
  'XDG_CONFIG_DIRS',
  'DVC_GLOBAL_CONFIG_DIR',
  'DVC_SYSTEM_CONFIG_DIR',
] as const;

export interface ConfigEnv {
  globalFile: string;
  systemFile: string;
}

/** Points DVC's global config at `<tmp>/xdg/dvc/config` and the system one at `<tmp>/system/config`. */
export function isolateConfigEnv(): ConfigEnv {
  const env: ConfigEnv = { globalFile: '', systemFile: '' };
  const saved = new Map<string, string | undefined>();
  beforeEach(() => {
    const dir = tempDir('cpv-cfgenv-');
    for (const name of VARS) saved.set(name, process.env[name]);
    process.env.HOME = path.join(dir, 'home');
    process.env.XDG_CONFIG_HOME = path.join(dir, 'xdg');
    process.env.DVC_SYSTEM_CONFIG_DIR = path.join(dir, 'system');
    delete process.env.DVC_GLOBAL_CONFIG_DIR;
    env.globalFile = path.join(dir, 'xdg', 'dvc', 'config');
    env.systemFile = path.join(dir, 'system', 'config');
  });
  afterEach(() => {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });
  return env;
}

/** `<tmp>/repo` with an empty `.dvc/config` (as `dvc init` leaves it); returns the repo root. */
export function bareDvcRepo(): string {
  const root = path.join(tempDir('cpv-cfg-'), 'repo');
  fs.mkdirSync(path.join(root, '.dvc'), { recursive: true });
  fs.writeFileSync(path.join(root, '.dvc', 'config'), '');
  return root;
}

export const read = (file: string): string | null =>
  fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : null;
