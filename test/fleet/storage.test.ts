import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { LocalDirectoryStorage, S3Storage, StorageNotFoundError, storageFromEnv } from '@headkv/storage';

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
});

test('storageFromEnv picks S3 when a bucket is configured', () => {
  assert.match(
    storageFromEnv({ HEADKV_S3_BUCKET: 'b', HEADKV_S3_ENDPOINT: 'http://minio:9000' }).description,
    /^S3 bucket b at/,
  );
  assert.match(storageFromEnv({ HEADKV_STORAGE_DIR: 'x' }).description, /^local directory /);
});
