/**
 * What a model repo holds. Small text lives in git (`train.py`, `README.md`, `metrics.log`); the
 * large parts are DVC outputs (`data/` as a directory, `model.bin` as a file) whose `.dvc` pointers
 * live in git and whose bytes go to the data remote.
 */

export const DATA_DIR = 'data';
export const MODEL_FILE = 'model.bin';
export const METRICS_FILE = 'metrics.log';
export const TRAIN_FILE = 'train.py';
export const README_FILE = 'README.md';

/** The DVC pointer files that stand for the large outputs in git. */
export const DATA_POINTER = `${DATA_DIR}.dvc`;
export const MODEL_POINTER = `${MODEL_FILE}.dvc`;

export interface TemplateFile {
  path: string;
  content: string;
}

export function trainTemplate(team: string, model: string): string {
  return `"""Training entry point for ${team}/${model}.

Reads the training data from data/, writes the weights to model.bin, and prints the metrics
to record with \`cpv model upload --metrics '<json>'\`.
"""
import json
import pathlib

DATA = pathlib.Path(__file__).parent / "${DATA_DIR}"
MODEL = pathlib.Path(__file__).parent / "${MODEL_FILE}"


def main() -> None:
    files = sorted(p for p in DATA.rglob("*") if p.is_file())
    MODEL.write_bytes(b"replace with real weights\\n")
    print(json.dumps({"train_files": len(files)}))


if __name__ == "__main__":
    main()
`;
}

export function readmeTemplate(team: string, model: string): string {
  return `# ${model}

Model checkpoints of team **${team}**, versioned with cpv (git + DVC).

| path | what |
| --- | --- |
| \`${DATA_DIR}/\` | training data (tracked by DVC: \`${DATA_POINTER}\`) |
| \`${MODEL_FILE}\` | model weights (tracked by DVC: \`${MODEL_POINTER}\`) |
| \`${METRICS_FILE}\` | one JSON line of metrics per uploaded checkpoint |
| \`${TRAIN_FILE}\` | training entry point |

Versions are git tags \`v<major>.<minor>\` (model) and \`data-v<major>.<minor>\` (data):

    cpv model versions ${model} --team ${team}
    cpv model download ${model} --team ${team} --tag v1.0 --dest ./${model}-v1.0
`;
}

/** The files a new model repo starts with (paths relative to the repo root). */
export function modelRepoTemplates(team: string, model: string): TemplateFile[] {
  return [
    { path: TRAIN_FILE, content: trainTemplate(team, model) },
    { path: README_FILE, content: readmeTemplate(team, model) },
    { path: METRICS_FILE, content: '' },
  ];
}
