/**
 * Branch and tag names git accepts, per the rules of `git check-ref-format`. Checked before any
 * write so a bad name fails with a clear message instead of a ref file git cannot read.
 */
import { CpvError } from '../errors.js';

/**
 * Why `name` is not a valid branch or tag name, or undefined when it is valid: git's
 * check-ref-format rules applied to `refs/tags/<name>` (so a lone '@', refused only as a whole
 * refname, is a valid tag name, as in git), plus `git tag`/`git branch`'s own refusal
 * of a leading '-'.
 */
export function refNameProblem(name: string): string | undefined {
  if (name === '') return 'it is empty';
  if (/[\x00-\x20\x7f~^:?*[\\]/.test(name))
    return 'it contains a space, control character or one of ~ ^ : ? * [ \\';
  if (name.includes('..')) return "it contains '..'";
  if (name.includes('@{')) return "it contains '@{'";
  if (name.startsWith('/') || name.endsWith('/') || name.includes('//'))
    return "it has an empty '/' component";
  if (name.endsWith('.')) return "it ends with '.'";
  for (const part of name.split('/')) {
    if (part.startsWith('.')) return "a component starts with '.'";
    if (part.endsWith('.lock')) return "a component ends with '.lock'";
  }
  if (name.startsWith('-')) return "it starts with '-'";
  return undefined;
}

/** Throws E_BAD_REF_NAME unless `name` is a valid `kind` name. */
export function assertRefName(name: string, kind: 'tag' | 'branch'): void {
  const problem = kind === 'branch' && name === 'HEAD' ? "'HEAD' is reserved" : refNameProblem(name);
  if (problem) {
    throw new CpvError('E_BAD_REF_NAME', `invalid ${kind} name '${name}': ${problem}`, {
      hint: `use letters, digits and - _ . / (for example v1.0 or exp/run-3)`,
    });
  }
}
