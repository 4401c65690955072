/**
 * Where the CLI writes. Commands print through an `Output` so tests can capture it and so the
 * library below never touches stdout/stderr itself.
 */
export interface Output {
  out(text: string): void;
  err(text: string): void;
  /** stdout is a terminal (JSON is indented for people, as DVC does). */
  readonly isTTY: boolean;
  /** stderr is a terminal (colour, progress bars). */
  readonly errIsTTY?: boolean;
  /** The real stderr stream, for progress bars that move the cursor. */
  readonly errStream?: NodeJS.WriteStream;
}

export const processOutput: Output = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  get isTTY() {
    return Boolean(process.stdout.isTTY);
  },
  get errIsTTY() {
    return Boolean(process.stderr.isTTY);
  },
  get errStream() {
    return process.stderr;
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
