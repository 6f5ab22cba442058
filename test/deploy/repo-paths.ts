import * as path from 'node:path';

/** The repository root, from this file's compiled place in dist/test/deploy/. */
export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');

/** Absolute path of a file given relative to the repository root. */
export function repoPath(...segments: string[]): string {
  return path.join(REPO_ROOT, ...segments);
}
