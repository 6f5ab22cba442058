// worker-kill.test.ts: fault injection with real processes. A batch runs on two workers (real
// Redis, real coordinator, tiny model); a worker is killed with SIGKILL at a random moment and a
// fresh one started, HEADKV_FAULT_KILLS times (default 10 for CI time). Whatever the kill point
// (prefill, compression, decode, result write), every custom_id must appear exactly once across
// the output and error files. Kill moments come from a seeded generator (HEADKV_FAULT_SEED) so a
// failing run can be repeated.
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  client,
  freshPrefix,
  jsonLines,
  spawnWorker,
  startTestCoordinator,
  testRedis,
  waitForWorkers,
  type TestCoordinator,
  type WorkerProcess,
  submitBatch,
} from '../fleet/fleet-harness';

const MODEL = 'tiny-random-llama';
const KILLS = Number(process.env.HEADKV_FAULT_KILLS ?? 10);
const SEED = Number(process.env.HEADKV_FAULT_SEED ?? 9);
const LINES = Math.max(40, KILLS * 4);
// Delay before each kill: long enough for the replacement to load the model and take jobs.
const MIN_DELAY_MS = 300;
const MAX_DELAY_MS = 1500;

let redis: Awaited<ReturnType<typeof testRedis>>;
let coordinator: TestCoordinator;
let prefix: string;
const workers: WorkerProcess[] = [];

/** mulberry32: a small seeded generator, so kill moments repeat for a given seed. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function inputLine(index: number): string {
  // Prompts of a few hundred tokens and some compressed lines, so that kills land in prefill,
  // compression and decode, not only between requests.
  const document =
    `Record ${index}: ` + 'the quick brown fox jumps over the lazy dog. '.repeat(20 + (index % 5) * 10);
  const body: Record<string, unknown> = {
    model: MODEL,
    messages: [{ role: 'user', content: document }],
    max_tokens: 8,
    ...(index % 3 === 0 ? { kv_compression: { method: 'snapkv', kv_size: 64 } } : {}),
  };
  return JSON.stringify({ custom_id: `req-${index}`, method: 'POST', url: '/v1/chat/completions', body });
}

before(async () => {
  redis = await testRedis();
  prefix = freshPrefix();
  coordinator = await startTestCoordinator(redis.url, prefix);
  workers.push(spawnWorker(redis.url, prefix, 'kill-0'), spawnWorker(redis.url, prefix, 'kill-1'));
  await waitForWorkers(client(coordinator.baseUrl, 'fault'), ['kill-0', 'kill-1'], 60000);
});

after(async () => {
  await Promise.all(workers.map((worker) => worker.stop()));
  await coordinator?.close();
  await redis?.stop();
});

test(`${KILLS} SIGKILLs of workers during a ${LINES}-line batch: every custom_id exactly once`, async () => {
  const api = client(coordinator.baseUrl, 'fault');
  const content = Array.from({ length: LINES }, (_, i) => inputLine(i)).join('\n') + '\n';
  const batchId = (await submitBatch(api, content)).id;

  const random = seededRandom(SEED);
  let killed = 0;
  let nextWorker = 2;
  const batchDone = async () => {
    const { body } = await api.json('GET', `/v1/batches/${batchId}`);
    return ['completed', 'failed', 'cancelled', 'expired'].includes(body.status);
  };
  while (killed < KILLS && !(await batchDone())) {
    await new Promise((resolve) =>
      setTimeout(resolve, MIN_DELAY_MS + random() * (MAX_DELAY_MS - MIN_DELAY_MS)),
    );
    const index = Math.floor(random() * workers.length);
    const victim = workers[index];
    victim.child.kill('SIGKILL');
    workers.splice(index, 1, spawnWorker(redis.url, prefix, `kill-${nextWorker++}`));
    killed++;
  }

  const deadline = Date.now() + 180000;
  let batch: Record<string, unknown>;
  for (;;) {
    batch = (await api.json('GET', `/v1/batches/${batchId}`)).body;
    if (['completed', 'failed', 'cancelled', 'expired'].includes(batch.status as string)) break;
    assert.ok(Date.now() < deadline, `batch still ${batch.status} 180 s after ${killed} kills`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  assert.equal(batch.status, 'completed', JSON.stringify(batch));
  const read = async (id: unknown) => (id ? jsonLines((await api.text(`/v1/files/${id}/content`)).body) : []);
  const outputs = await read(batch.output_file_id);
  const errors = await read(batch.error_file_id);
  const seen = new Map<string, number>();
  for (const entry of [...outputs, ...errors])
    seen.set(entry.custom_id as string, (seen.get(entry.custom_id as string) ?? 0) + 1);
  const duplicated = [...seen].filter(([, count]) => count > 1).map(([id]) => id);
  const missing = Array.from({ length: LINES }, (_, i) => `req-${i}`).filter((id) => !seen.has(id));
  const unknown = [...seen.keys()].filter((id) => !/^req-\d+$/.test(id) || Number(id.slice(4)) >= LINES);
  assert.deepEqual({ duplicated, missing, unknown }, { duplicated: [], missing: [], unknown: [] });
  assert.equal(outputs.length + errors.length, LINES);
  // What the errors were, for docs/reliability.md (a kill may exhaust a request's attempts).
  const reasons = errors.map((entry) => (entry.error as { code?: string } | null)?.code ?? 'rejected');
  process.stdout.write(
    `# worker-kill: ${killed} kills, ${outputs.length} outputs, ${errors.length} errors ${JSON.stringify(reasons)}\n`,
  );
});
