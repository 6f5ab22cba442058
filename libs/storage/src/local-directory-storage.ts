import { mkdir, open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import {
  assertValidKey,
  StorageNotFoundError,
  type FileStorage,
  type StoredObjectStream,
} from './file-storage';
import { partialPathBeside, removeStalePartialFiles, type PartialFilesSweep } from './partial-files';

/** Files in a directory of the local file system: the embedded default. */
export class LocalDirectoryStorage implements FileStorage {
  readonly description: string;

  constructor(private readonly root: string) {
    this.description = `local directory ${root}`;
  }

  private pathOf(key: string): string {
    assertValidKey(key);
    return path.join(this.root, ...key.split('/'));
  }

  /** A new name beside `target`: written first, then renamed, so a reader never sees a half-written file. */
  private async temporaryBeside(target: string): Promise<string> {
    await mkdir(path.dirname(target), { recursive: true });
    return partialPathBeside(target);
  }

  /**
   * Deletes the partial files a process that died mid-write left behind (untouched for
   * STALE_PARTIAL_AGE_MS); the coordinator calls it at start.
   */
  removeStalePartialFiles(): Promise<PartialFilesSweep> {
    return removeStalePartialFiles(this.root);
  }

  async put(key: string, data: Buffer): Promise<void> {
    const target = this.pathOf(key);
    const temporary = await this.temporaryBeside(target);
    await writeFile(temporary, data);
    await rename(temporary, target);
  }

  async putStream(key: string, chunks: AsyncIterable<Buffer>): Promise<number> {
    const target = this.pathOf(key);
    const temporary = await this.temporaryBeside(target);
    const handle = await open(temporary, 'w');
    let bytes = 0;
    try {
      for await (const chunk of chunks) {
        await handle.write(chunk);
        bytes += chunk.length;
      }
      await handle.close();
    } catch (error) {
      await handle.close().catch(() => undefined);
      await rm(temporary, { force: true });
      throw error;
    }
    await rename(temporary, target);
    return bytes;
  }

  async get(key: string): Promise<Buffer> {
    try {
      return await readFile(this.pathOf(key));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new StorageNotFoundError(key);
      throw error;
    }
  }

  /** The handle is opened here (a missing file rejects now) and closed when the stream ends or is destroyed. */
  async getStream(key: string): Promise<StoredObjectStream> {
    let handle;
    try {
      handle = await open(this.pathOf(key), 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new StorageNotFoundError(key);
      throw error;
    }
    try {
      const { size } = await handle.stat();
      return { bytes: size, stream: handle.createReadStream() };
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  async delete(key: string): Promise<void> {
    await rm(this.pathOf(key), { force: true });
  }
}
