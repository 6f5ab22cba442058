import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, readdir, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  LocalDirectoryStorage,
  S3_PART_BYTES,
  S3Storage,
  StorageNotFoundError,
  storageFromEnv,
} from '@headkv/storage';

/** `count` chunks of `size` bytes, chunk i filled with the byte i % 251; throws after `failAfter` chunks. */
async function* chunks(count: number, size: number, failAfter = Infinity): AsyncGenerator<Buffer> {
  for (let i = 0; i < count; i++) {
    if (i === failAfter) throw new Error(`producer failed at chunk ${i}`);
    yield Buffer.alloc(size, i % 251);
  }
}

test('local directory storage: put, get, delete, missing key', async () => {
  const root = await mkdtemp(path.join(tmpdir(), 'headkv-storage-'));
  try {
    const storage = new LocalDirectoryStorage(root);
    await storage.put('tenant/file-1', Buffer.from('hello'));
    assert.equal((await storage.get('tenant/file-1')).toString(), 'hello');
    await storage.delete('tenant/file-1');
    await assert.rejects(storage.get('tenant/file-1'), StorageNotFoundError);
    await storage.delete('tenant/file-1');
    await assert.rejects(storage.put('../escape', Buffer.from('x')), /invalid storage key/);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('local directory storage: putStream writes the chunks in order and replaces the file whole', async () => {
  const root = await mkdtemp(path.join(tmpdir(), 'headkv-storage-'));
  try {
    const storage = new LocalDirectoryStorage(root);
    assert.equal(await storage.putStream('tenant/out', chunks(300, 1000)), 300 * 1000);
    const written = await storage.get('tenant/out');
    assert.equal(written.length, 300 * 1000);
    for (const i of [0, 1, 150, 299]) assert.equal(written[i * 1000 + 999], i % 251, `chunk ${i}`);

    // A producer that fails partway leaves the previous file as it was and no partial file.
    await assert.rejects(storage.putStream('tenant/out', chunks(10, 50, 4)), /producer failed at chunk 4/);
    assert.deepEqual(await storage.get('tenant/out'), written);
    await assert.rejects(storage.putStream('tenant/new', chunks(10, 50, 0)), /producer failed/);
    await assert.rejects(storage.get('tenant/new'), StorageNotFoundError);
    assert.deepEqual(await readdir(path.join(root, 'tenant')), ['out']);

    // A second stream replaces the first; an empty stream stores an empty file.
    assert.equal(await storage.putStream('tenant/out', chunks(2, 3)), 6);
    assert.deepEqual(await storage.get('tenant/out'), Buffer.from([0, 0, 0, 1, 1, 1]));
    assert.equal(await storage.putStream('tenant/empty', chunks(0, 1)), 0);
    assert.equal((await storage.get('tenant/empty')).length, 0);
    await assert.rejects(storage.putStream('../escape', chunks(1, 1)), /invalid storage key/);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

/** How many of this process's file descriptors are open on `file` (Linux /proc). */
async function openDescriptorsOn(file: string): Promise<number> {
  const descriptors = await readdir('/proc/self/fd');
  const targets = await Promise.all(
    descriptors.map((fd) => readlink(path.join('/proc/self/fd', fd)).catch(() => '')),
  );
  return targets.filter((target) => target === file).length;
}

test('local directory storage: getStream reads the file in chunks and closes it when destroyed', async () => {
  const root = await mkdtemp(path.join(tmpdir(), 'headkv-storage-'));
  try {
    const storage = new LocalDirectoryStorage(root);
    const size = 300 * 1000;
    await storage.putStream('tenant/out', chunks(300, 1000));

    const whole = await storage.getStream('tenant/out');
    assert.equal(whole.bytes, size);
    const read: Buffer[] = [];
    for await (const chunk of whole.stream) read.push(chunk as Buffer);
    assert.ok(read.length > 1, `read in ${read.length} chunk(s)`);
    assert.deepEqual(Buffer.concat(read), await storage.get('tenant/out'));

    // A reader that stops after the first chunk (a client gone mid-download) releases the file.
    const file = path.join(root, 'tenant', 'out');
    const partial = await storage.getStream('tenant/out');
    assert.equal(await openDescriptorsOn(file), 1, 'getStream opens the file before the first read');
    await once(partial.stream, 'readable');
    partial.stream.destroy();
    await once(partial.stream, 'close');
    assert.equal(await openDescriptorsOn(file), 0, 'the destroyed stream left its file open');

    await storage.putStream('tenant/empty', chunks(0, 1));
    const empty = await storage.getStream('tenant/empty');
    assert.equal(empty.bytes, 0);
    assert.equal((await empty.stream.toArray()).length, 0);

    // Missing keys reject before any stream exists, so a caller can still answer 404.
    await assert.rejects(storage.getStream('tenant/missing'), StorageNotFoundError);
    await assert.rejects(storage.getStream('../escape'), /invalid storage key/);
    assert.equal(await openDescriptorsOn(file), 0);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('S3 storage maps keys under its prefix and reports connection failures', async () => {
  const storage = new S3Storage({
    bucket: 'files',
    prefix: 'fleet',
    client: {
      region: 'us-east-1',
      // A port nothing listens on: the adapter must surface the network error, not hide it.
      endpoint: 'http://127.0.0.1:9',
      forcePathStyle: true,
      credentials: { accessKeyId: 'id', secretAccessKey: 'secret' },
      maxAttempts: 1,
    },
  });
  assert.equal(storage.objectKey('t/f'), 'fleet/t/f');
  assert.throws(() => storage.objectKey('/abs'), /invalid storage key/);
  await assert.rejects(storage.get('t/f'), (error: unknown) => !(error instanceof StorageNotFoundError));
  await assert.rejects(storage.getStream('t/f'), /ECONNREFUSED|connect/);
  await assert.rejects(storage.getStream('../t'), /invalid storage key/);
  // Below one part a stream is one PUT, above it a multipart upload: both surface the network error.
  await assert.rejects(storage.putStream('t/f', chunks(3, 10)), /ECONNREFUSED|connect/);
  await assert.rejects(storage.putStream('t/f', chunks(3, S3_PART_BYTES / 2)), /ECONNREFUSED|connect/);
});

test('storageFromEnv picks S3 when a bucket is configured', () => {
  assert.match(
    storageFromEnv({ HEADKV_S3_BUCKET: 'b', HEADKV_S3_ENDPOINT: 'http://minio:9000' }).description,
    /^S3 bucket b at/,
  );
  assert.match(storageFromEnv({ HEADKV_STORAGE_DIR: 'x' }).description, /^local directory /);
});
