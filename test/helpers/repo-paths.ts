// repo-paths.ts: locations inside the repository for tests compiled to dist/test/**.
import * as fs from 'node:fs';
import * as path from 'node:path';

// The repository root: the nearest folder above this file holding package.json and native/.
function findRepoRoot(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'native'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no repository root above ${start}`);
  }
}

export const REPO_ROOT = findRepoRoot(__dirname);
export const FIXTURES_DIR = path.join(REPO_ROOT, 'test', 'fixtures');
// The embedded default (`headkv serve`, the README's demo): the trained model.
export const HEADKV_TINY_DIR = path.join(REPO_ROOT, 'models', 'headkv-tiny');
// The random-weight test model: fast, gibberish output, exercises every path.
export const TINY_RANDOM_DIR = path.join(REPO_ROOT, 'models', 'tiny-random-llama');
export const CLI_BIN = path.join(REPO_ROOT, 'bin', 'headkv.js');

export function fixturePath(...parts: string[]): string {
  return path.join(FIXTURES_DIR, ...parts);
}
