/** The recorded DVC vectors (fixtures/dvc/vectors.json), typed loosely. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { TreeContent } from './tmp.js';

export interface Vector {
  id: string;
  kind: 'file' | 'dir' | 'dvcfile';
  subkind?: string;
  tree: Record<string, TreeContent>;
  target?: string;
  expect: Record<string, unknown>;
  notes?: string;
}

export const FIXTURES = path.resolve(import.meta.dirname, '..', '..', 'fixtures', 'dvc');

export function loadVectors(): Vector[] {
  return JSON.parse(fs.readFileSync(path.join(FIXTURES, 'vectors.json'), 'utf8')) as Vector[];
}
