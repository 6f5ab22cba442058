// storage-partial-files.test.ts: the partial files a process killed mid-write leaves in local
// storage are removed once stale (untouched for STALE_PARTIAL_AGE_MS), by the storage's sweep and
// at coordinator start (with a log line of the count and bytes); fresh partial files, which another
// replica may be writing, and stored files are kept. Real files with mtimes set back by utimes.
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import {
  LocalDirectoryStorage,
  STALE_PARTIAL_AGE_MS,
  partialPathBeside,
  removeStalePartialFiles,
} from '@headkv/storage';
import { JsonLogger } from '@headkv/telemetry';
import { coordinatorConfigFromEnv } from '../../apps/coordinator/src/config/coordinator-config';
import { startCoordinator } from '../../apps/coordinator/src/create-coordinator';
import { fastFleetEnv, freshPrefix, testRedis } from './fleet-harness';

let root: string;

before(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'headkv-partials-'));
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Writes `bytes` bytes at `file` (creating its folder) last modified `ageMs` ago. */
async function fileAged(file: string, bytes: number, ageMs: number): Promise<string> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, Buffer.alloc(bytes, 7));
  const when = new Date(Date.now() - ageMs);
  await utimes(file, when, when);
  return file;
}

/** Every file under `directory`, relative to it, sorted. */
async function filesUnder(directory: string): Promise<string[]> {
  const names = await readdir(directory, { recursive: true });
  const isFile = await Promise.all(
    names.map(async (name) => (await stat(path.join(directory, name))).isFile()),
  );
  return names.filter((_name, index) => isFile[index]).sort();
}

test('the sweep removes stale partial files at any depth and keeps fresh ones and stored files', async () => {
  const dir = path.join(root, 'sweep');
  const twoHours = 2 * STALE_PARTIAL_AGE_MS;
  const stale = [
    await fileAged(partialPathBeside(path.join(dir, 'tenant_a', 'file-1')), 1000, twoHours),
    await fileAged(partialPathBeside(path.join(dir, 'tenant_b', 'out', 'file-2')), 234, twoHours),
  ];
  const kept = [
    // A partial file some replica is writing right now.
    await fileAged(partialPathBeside(path.join(dir, 'tenant_a', 'file-3')), 10, 60_000),
    // Stored files, however old, and names that only look similar.
    await fileAged(path.join(dir, 'tenant_a', 'file-1'), 50, twoHours),
    await fileAged(path.join(dir, 'tenant_a', 'notes.partial'), 5, twoHours),
    await fileAged(path.join(dir, 'tenant_a', 'file-4.partial.bak'), 5, twoHours),
  ];

  const sweep = await new LocalDirectoryStorage(dir).removeStalePartialFiles();
  assert.deepEqual(sweep, { files: 2, bytes: 1234 });
  assert.deepEqual(await filesUnder(dir), kept.map((file) => path.relative(dir, file)).sort());
  for (const file of stale) await assert.rejects(stat(file), { code: 'ENOENT' });

  // A second sweep finds nothing; a storage whose folder does not exist yet sweeps nothing.
  assert.deepEqual(await new LocalDirectoryStorage(dir).removeStalePartialFiles(), { files: 0, bytes: 0 });
  assert.deepEqual(await new LocalDirectoryStorage(path.join(root, 'absent')).removeStalePartialFiles(), {
    files: 0,
    bytes: 0,
  });
});

test('a partial file is stale only once its last write is more than the grace period ago', async () => {
  const dir = path.join(root, 'boundary');
  const file = await fileAged(partialPathBeside(path.join(dir, 'tenant', 'file')), 3, 0);
  const { mtimeMs } = await stat(file);
  assert.deepEqual(await removeStalePartialFiles(dir, 1000, mtimeMs + 1000), { files: 0, bytes: 0 });
  assert.deepEqual(await removeStalePartialFiles(dir, 1000, mtimeMs + 1001), { files: 1, bytes: 3 });
  assert.deepEqual(await filesUnder(dir), []);
});

test('the storage writes partial files under the names the sweep looks for', async () => {
  const dir = path.join(root, 'naming');
  const storage = new LocalDirectoryStorage(dir);
  let partials: string[] = [];
  async function* chunks(): AsyncGenerator<Buffer> {
    yield Buffer.from('first');
    // Mid-write: the only file is the partial one.
    partials = await filesUnder(dir);
    yield Buffer.from('second');
  }
  await storage.putStream('tenant/file', chunks());
  assert.equal(partials.length, 1);
  assert.match(partials[0], /^tenant\/file\.[0-9a-f]{12}\.partial$/);
  // Put a file back under that name, as a writer killed before the rename two hours ago left it.
  const leftover = path.join(dir, partials[0]);
  await fileAged(leftover, 4, 2 * STALE_PARTIAL_AGE_MS);
  assert.deepEqual(await storage.removeStalePartialFiles(), { files: 1, bytes: 4 });
  assert.deepEqual(await filesUnder(dir), ['tenant/file']);
});

test('the coordinator sweeps its local storage at start and logs the count and bytes', async () => {
  const dir = path.join(root, 'coordinator');
  await fileAged(partialPathBeside(path.join(dir, 'tenant_a', 'file-1')), 4096, 2 * STALE_PARTIAL_AGE_MS);
  const fresh = await fileAged(partialPathBeside(path.join(dir, 'tenant_a', 'file-2')), 8, 0);
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs.push(chunk.toString());
      done();
    },
  });
  const redis = await testRedis();
  try {
    const app = await startCoordinator(
      coordinatorConfigFromEnv({ ...fastFleetEnv(redis.url, freshPrefix()), PORT: '0' }),
      { storage: new LocalDirectoryStorage(dir), logger: new JsonLogger('coordinator', sink) },
    );
    await app.close();
  } finally {
    await redis.stop();
  }
  const messages = logs.map((line) => (JSON.parse(line) as { message: string }).message);
  assert.deepEqual(
    messages.filter((message) => message.includes('partial files')),
    ['removed 1 partial files (4096 bytes) older than 60 minutes, left by interrupted writes'],
  );
  assert.deepEqual(await filesUnder(dir), [path.relative(dir, fresh)]);
});
