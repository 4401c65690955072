/** Examples shown at the end of `cpv <command> --help`, one place for all commands. */
import type { Command } from 'commander';

const EXAMPLES: Record<string, string[]> = {
  init: ['cpv init', 'cpv init --no-scm'],
  add: ['cpv add model.bin data/', 'cpv add -q images/'],
  status: ['cpv status', 'cpv status --json data.dvc', 'cpv status -c -r storage'],
  checkout: ['cpv checkout', 'cpv checkout data/train/img001.png', 'cpv checkout --relink -f'],
  commit: ['cpv commit -f data.dvc'],
  remove: ['cpv remove data.dvc', 'cpv remove --outs model.bin.dvc'],
  move: ['cpv move data/ datasets/v2'],
  push: ['cpv push', 'cpv push -r storage -j 16 data.dvc'],
  fetch: ['cpv fetch', 'cpv fetch --json'],
  pull: ['cpv pull', 'cpv pull data/train/img001.png'],
  diff: ['cpv diff', 'cpv diff HEAD~1 --json', 'cpv diff v1.0 v1.1'],
  ls: ['cpv ls', 'cpv ls v1.0 --json --show-hash'],
  gc: ['cpv gc -w --dry', 'cpv gc -a -T -f', 'cpv gc -w -c -f'],
  remote: [
    'cpv remote add -d storage s3://bucket/prefix',
    'cpv remote modify --local storage profile ml',
    'cpv remote list',
  ],
  config: ['cpv config core.autostage true', 'cpv config -l --show-origin', 'cpv config --unset cache.type'],
  doctor: ['cpv doctor', 'cpv doctor --json --team vision --model resnet'],
  model: [
    'cpv model init vision/resnet --data ./train-data',
    `cpv model upload vision/resnet --metrics '{"loss": 0.12}' -m "epoch 10"`,
    'cpv model tag vision/resnet',
    'cpv model download vision/resnet v1.0 -o ./resnet-v1.0',
    'cpv model compare vision/resnet v1.0 v1.1',
  ],
  data: [
    'cpv data upload vision/resnet --from ./new-data',
    'cpv data tag vision/resnet',
    'cpv data download vision/resnet data-v1.0 --path train/',
  ],
  release: [
    'cpv release tag vision/resnet v2.0',
    'cpv release revert vision/resnet v1.0',
    'cpv release info vision/resnet --json',
  ],
};

/** Appends the examples to each command that has some (and has none of its own yet). */
export function addHelpExamples(program: Command): void {
  for (const cmd of program.commands) {
    const lines = EXAMPLES[cmd.name()];
    if (lines === undefined) continue;
    cmd.addHelpText('after', `\nExamples:\n${lines.map((l) => `  ${l}`).join('\n')}\n`);
  }
}
