// `headkv profile-show` and `headkv summarize` through the built CLI (bin/headkv.js); summarize
// against a real coordinator and worker on the tiny model, interrupted with SIGINT and resumed.
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { allocateHeadBudgets, HEADKV_WINDOW } from '@headkv/profiles';
import {
  client,
  freshPrefix,
  spawnWorker,
  startTestCoordinator,
  testRedis,
  waitForBatch,
  waitForWorkers,
  type TestCoordinator,
  type WorkerProcess,
} from '../fleet/fleet-harness';
import { CLI_BIN } from '../helpers/repo-paths';

const MODEL = 'tiny-random-llama';

/**
 * The CLI as a child process, with colours left to the command's own rule (the caller's NO_COLOR
 * removed). Asynchronous: the coordinator under test runs in this process and must keep answering.
 */
async function runCli(args: string[], env: Record<string, string> = {}) {
  const base = { ...process.env };
  delete base.NO_COLOR;
  const child = spawn(process.execPath, [CLI_BIN, ...args], { env: { ...base, ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60000);
  const [status] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return { status, stdout, stderr };
}

describe('headkv profile-show', () => {
  let folder: string;
  const scores = [
    [0.1, 0.0, 0.2, 0.05],
    [0.3, 0.15, 0.0, 0.2],
    [0.05, 0.05, 0.4, 0.1],
  ];

  before(async () => {
    folder = await mkdtemp(path.join(tmpdir(), 'headkv-profile-show-'));
    writeFileSync(
      path.join(folder, 'profile.json'),
      JSON.stringify({
        schema_version: 1,
        model: {
          fingerprint: 'a'.repeat(64),
          architecture: 'LlamaForCausalLM',
          n_layers: 3,
          n_heads: 4,
          n_kv_heads: 2,
        },
        method: 'headkv-r2',
        granularity: 'kv-head',
        scores,
        imported_from: 'test',
        engine_version: 'test',
        created_at: '2026-11-28T00:00:00.000Z',
      }),
    );
  });
  after(() => rm(folder, { recursive: true, force: true }));

  test('draws one row per layer, a legend, and the allocation with its total', async () => {
    const { status, stdout, stderr } = await runCli([
      'profile-show',
      path.join(folder, 'profile.json'),
      '--no-color',
      '--kv-size',
      '32',
      '--beta',
      '1.5',
    ]);
    assert.equal(status, 0, stderr);
    const rows = stdout.split('\n').filter((line) => /^L\s*\d+ /.test(line));
    // Importance rows (4 heads, 2 characters each), then allocation rows (2 KV heads).
    assert.deepEqual(
      rows.map((line) => line.replace(/^L\s*\d+ /, '').length),
      [8, 8, 8, 4, 4, 4],
    );
    // The strongest head (layer 2, head 2) is the densest shade, the zero heads the lightest.
    assert.equal(rows[2].replace(/^L\s*\d+ /, '').slice(4, 6), '@@');
    assert.equal(rows[0].replace(/^L\s*\d+ /, '').slice(2, 4), '  ');
    assert.match(stdout, /legend: 0\.0000 .* 0\.4000/);
    const expected = allocateHeadBudgets(scores, 2, { kvSize: 32, beta: 1.5 });
    const tokens = expected.kvHeadCaps.flat().reduce((sum, cap) => sum + cap + HEADKV_WINDOW, 0);
    assert.match(
      stdout,
      new RegExp(`kept: ${tokens} tokens per sequence over 6 heads \\(every head at kv_size: 192\\)`),
    );
  });

  test('colours only when asked, and names a missing file', async () => {
    const plain = await runCli(['profile-show', path.join(folder, 'profile.json')]);
    assert.equal(plain.status, 0, plain.stderr);
    assert.equal(plain.stdout.includes('\x1b['), false);
    const coloured = await runCli(['profile-show', path.join(folder, 'profile.json')], { FORCE_COLOR: '1' });
    assert.equal(coloured.status, 0, coloured.stderr);
    assert.ok(
      coloured.stdout.includes('\x1b[48;2;253;231;37m'),
      'the brightest head is drawn in viridis yellow',
    );
    const missing = await runCli(['profile-show', path.join(folder, 'missing.json')]);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /missing\.json: no such file or folder/);
    const folderWithout = await runCli(['profile-show', folder]);
    assert.match(folderWithout.stderr, /without headkv_profile\.json/);
  });
});

describe('headkv summarize', () => {
  let redis: Awaited<ReturnType<typeof testRedis>>;
  let coordinator: TestCoordinator;
  let prefix: string;
  let worker: WorkerProcess | null = null;
  let folder: string;
  const key = 'summarize-key';

  before(async () => {
    redis = await testRedis();
    prefix = freshPrefix();
    coordinator = await startTestCoordinator(redis.url, prefix);
    folder = await mkdtemp(path.join(tmpdir(), 'headkv-summarize-'));
    mkdirSync(path.join(folder, 'docs', 'nested'), { recursive: true });
    writeFileSync(path.join(folder, 'docs', 'alpha.txt'), 'Alpha reports revenue of 12 million in 2025.');
    writeFileSync(path.join(folder, 'docs', 'beta.md'), '# Beta\nThe beta trial enrolled 300 patients.');
    writeFileSync(path.join(folder, 'docs', 'nested', 'gamma.txt'), 'Gamma moved its office to Lyon.');
    writeFileSync(path.join(folder, 'docs', '.hidden'), 'not a document');
  });

  after(async () => {
    await worker?.stop();
    await coordinator?.close();
    await redis?.stop();
    await rm(folder, { recursive: true, force: true });
  });

  test('Ctrl-C leaves the batch running, --wait resumes it and writes one summary per document', async () => {
    // No worker yet, so the batch cannot finish before the interrupt.
    const out = path.join(folder, 'out');
    const args = [
      'summarize',
      path.join(folder, 'docs'),
      '--out',
      out,
      '--model',
      MODEL,
      '--max-tokens',
      '4',
    ];
    const child = spawn(
      process.execPath,
      [CLI_BIN, ...args, '--url', coordinator.baseUrl, '--api-key', key],
      {
        env: { ...process.env, NO_COLOR: '1' },
      },
    );
    let stderr = '';
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const batchId = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no batch id in: ${stderr}`)), 30000);
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        const match = /3 documents in batch (batch_\w+)/.exec(stderr);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      });
    });
    child.kill('SIGINT');
    assert.equal(await exited, 1);
    assert.match(
      stderr,
      new RegExp(
        `interrupted; batch ${batchId} keeps running. Resume with: headkv summarize --wait ${batchId}`,
      ),
    );
    assert.equal(existsSync(out), false);

    worker = spawnWorker(redis.url, prefix, 'summarize-worker');
    const api = client(coordinator.baseUrl, key);
    await waitForWorkers(api, ['summarize-worker'], 60000);
    const resumed = await runCli([
      'summarize',
      '--wait',
      batchId,
      '--out',
      out,
      '--url',
      coordinator.baseUrl,
      '--api-key',
      key,
    ]);
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.match(resumed.stderr, /3 summaries written/);
    const batch = await waitForBatch(api, batchId);
    const output = await api.text(`/v1/files/${batch.output_file_id}/content`);
    const contents = new Map(
      output.body
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line))
        .map((line) => [line.custom_id, line.response.body.choices[0].message.content.trim() + '\n']),
    );
    assert.deepEqual([...contents.keys()].sort(), [
      'docs/alpha.txt',
      'docs/beta.md',
      'docs/nested/gamma.txt',
    ]);
    for (const [customId, content] of contents) {
      assert.equal(readFileSync(path.join(out, `${customId}.summary.txt`), 'utf8'), content);
    }
  });

  test('--detach prints the batch id; --wait on a batch not made by summarize is refused', async () => {
    const detached = await runCli([
      'summarize',
      path.join(folder, 'docs', 'alpha.txt'),
      '--out',
      path.join(folder, 'detached'),
      '--detach',
      '--url',
      coordinator.baseUrl,
      '--api-key',
      key,
    ]);
    assert.equal(detached.status, 0, detached.stderr);
    const batchId = detached.stdout.trim();
    assert.match(batchId, /^batch_/);
    const api = client(coordinator.baseUrl, key);
    const plain = await api.upload(
      JSON.stringify({
        custom_id: 'x',
        method: 'POST',
        url: '/v1/chat/completions',
        body: { model: MODEL, messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 },
      }) + '\n',
    );
    const other = await api.json('POST', '/v1/batches', {
      input_file_id: plain.body.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    });
    const refused = await runCli([
      'summarize',
      '--wait',
      other.body.id,
      '--out',
      folder,
      '--url',
      coordinator.baseUrl,
      '--api-key',
      key,
    ]);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /was not made by headkv summarize/);
    const resumed = await runCli([
      'summarize',
      '--wait',
      batchId,
      '--out',
      path.join(folder, 'detached'),
      '--url',
      coordinator.baseUrl,
      '--api-key',
      key,
    ]);
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.ok(existsSync(path.join(folder, 'detached', 'alpha.txt.summary.txt')));
  });

  test('documents with the same name are refused before anything is submitted', async () => {
    mkdirSync(path.join(folder, 'other'), { recursive: true });
    writeFileSync(path.join(folder, 'other', 'alpha.txt'), 'another alpha');
    const result = await runCli([
      'summarize',
      path.join(folder, 'docs', 'alpha.txt'),
      path.join(folder, 'other', 'alpha.txt'),
      '--out',
      folder,
      '--url',
      coordinator.baseUrl,
    ]);
    assert.equal(result.status, 1);
    assert.match(result.stderr, /would both be summarized as alpha\.txt/);
  });
});
