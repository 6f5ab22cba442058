import { randomBytes } from 'node:crypto';
import { lstat, readdir, rm } from 'node:fs/promises';
import * as path from 'node:path';

/**
 * Partial files of the local storage: a file is written under a temporary name beside its target
 * and renamed when complete, so a process that dies mid-write leaves the temporary file behind.
 */

/** `<target>.<12 hex digits>.partial`: storage keys never end so (file ids have no dots). */
const PARTIAL_NAME = /\.[0-9a-f]{12}\.partial$/;

/**
 * How old (since its last write) a partial file must be to count as abandoned. Another coordinator
 * sharing the directory may be writing one right now; each write moves its mtime forward, so an
 * hour without one means its writer is gone.
 */
export const STALE_PARTIAL_AGE_MS = 60 * 60 * 1000;

export function partialPathBeside(target: string): string {
  return `${target}.${randomBytes(6).toString('hex')}.partial`;
}

export interface PartialFilesSweep {
  files: number;
  bytes: number;
}

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'ENOENT';
}

/**
 * Deletes the partial files under `root` (at any depth) last modified more than `olderThanMs`
 * before `now`, and returns how many and how many bytes. A missing root, or a file another
 * process removes or renames meanwhile, is not an error. Symbolic links are not followed.
 */
export async function removeStalePartialFiles(
  root: string,
  olderThanMs: number = STALE_PARTIAL_AGE_MS,
  now: number = Date.now(),
): Promise<PartialFilesSweep> {
  const sweep: PartialFilesSweep = { files: 0, bytes: 0 };
  const directories = [root];
  for (let directory = directories.pop(); directory !== undefined; directory = directories.pop()) {
    let entries;
    try {
      entries = await readdir(directory, { withFileTypes: true });
    } catch (error) {
      if (isMissing(error)) continue;
      throw error;
    }
    for (const entry of entries) {
      const entryPath = path.join(directory, entry.name);
      if (entry.isDirectory()) directories.push(entryPath);
      if (!entry.isFile() || !PARTIAL_NAME.test(entry.name)) continue;
      let stats;
      try {
        stats = await lstat(entryPath);
      } catch (error) {
        if (isMissing(error)) continue;
        throw error;
      }
      if (now - stats.mtimeMs <= olderThanMs) continue;
      await rm(entryPath, { force: true });
      sweep.files += 1;
      sweep.bytes += stats.size;
    }
  }
  return sweep;
}
