import type { Readable } from 'node:stream';

/** An object opened for reading: its size, known before the first byte is read, and its bytes. */
export interface StoredObjectStream {
  bytes: number;
  /**
   * The object's bytes, read as they are consumed. Destroying it (e.g. when the reader goes
   * away) releases what it holds: the file handle, the HTTP connection to the object store.
   */
  stream: Readable;
}

/** Where uploaded batch inputs and generated output/error files live. */
export interface FileStorage {
  /** Human-readable description for start-up logs, e.g. "local directory var/files". */
  readonly description: string;
  put(key: string, data: Buffer): Promise<void>;
  /**
   * Stores the chunks as one object while they are produced, holding a bounded part of it in
   * memory (the iterable is pulled one chunk at a time), and returns the bytes written. Like
   * `put`, a reader sees the previous object (or none) until the new one is complete, and a
   * failure or a crash partway never leaves a truncated object under `key`.
   */
  putStream(key: string, chunks: AsyncIterable<Buffer>): Promise<number>;
  /** Throws StorageNotFoundError when the key does not exist. */
  get(key: string): Promise<Buffer>;
  /**
   * Opens the object for reading without loading it: a missing key rejects here with
   * StorageNotFoundError, before any byte is read, so a caller can still answer with an error.
   */
  getStream(key: string): Promise<StoredObjectStream>;
  /** Deleting a missing key is not an error. */
  delete(key: string): Promise<void>;
}

export class StorageNotFoundError extends Error {
  constructor(readonly key: string) {
    super(`storage object "${key}" does not exist`);
    this.name = 'StorageNotFoundError';
  }
}

const KEY_PATTERN = /^[A-Za-z0-9_-]+(\/[A-Za-z0-9_.-]+)*$/;

/** Keys are relative paths of safe segments; anything else (.., absolute paths) is a programming error. */
export function assertValidKey(key: string): void {
  if (!KEY_PATTERN.test(key) || key.split('/').some((segment) => segment === '..' || segment === '.')) {
    throw new Error(
      `invalid storage key "${key}": use slash-separated segments of letters, digits, '_', '-', '.'`,
    );
  }
}
