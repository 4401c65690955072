/**
 * Team and model names. Each becomes a directory (`<workdir>/<model>`), a key prefix on S3
 * (`<team>/<model>/`) and part of a git URL, so a name must be safe in all three: no path
 * separators, no `..`, nothing a shell, URL or git host would read differently.
 */
import { CpvError } from '../../errors.js';

export type NameKind = 'team' | 'model';

const MAX_LENGTH = 100;
const ALLOWED = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

function badName(kind: NameKind, value: string, why: string): CpvError {
  return new CpvError('E_BAD_NAME', `invalid ${kind} name ${JSON.stringify(value)}: ${why}`, {
    hint: `A ${kind} name is 1-${MAX_LENGTH} letters, digits, '.', '_' or '-', starting with a letter or digit.`,
  });
}

/** Why `value` cannot be a team/model name, or undefined when it can. */
function problemWith(value: string): string | undefined {
  if (value.length === 0) return 'it is empty';
  if (/[\u0000-\u001f\u007f]/.test(value)) return 'it contains a control character';
  if (value.includes('/') || value.includes('\\')) return 'it contains a path separator';
  if (value.includes('..')) return "it contains '..'";
  if (value.length > MAX_LENGTH) return `it is longer than ${MAX_LENGTH} characters`;
  if (!ALLOWED.test(value)) return 'it contains a character outside letters, digits, ., _ and -';
  return undefined;
}

/** Throws E_BAD_NAME unless `value` is a safe team or model name; returns it otherwise. */
export function checkName(kind: NameKind, value: unknown): string {
  if (typeof value !== 'string') throw badName(kind, String(value), 'it is not a string');
  const problem = problemWith(value);
  if (problem !== undefined) throw badName(kind, value, problem);
  return value;
}

export function isValidName(value: string): boolean {
  return problemWith(value) === undefined;
}
