/**
 * Where the CLI writes. Commands print through an `Output` so tests can capture it and so the
 * library below never touches stdout/stderr itself.
 */
export interface Output {
  out(text: string): void;
  err(text: string): void;
  readonly isTTY: boolean;
}

export const processOutput: Output = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  get isTTY() {
    return Boolean(process.stdout.isTTY);
  },
};

/** An Output that records everything, for tests. */
export function captureOutput(): Output & { stdout: string; stderr: string } {
  const cap = {
    stdout: '',
    stderr: '',
    isTTY: false,
    out(text: string) {
      cap.stdout += text;
    },
    err(text: string) {
      cap.stderr += text;
    },
  };
  return cap;
}
