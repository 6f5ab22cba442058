import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
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
