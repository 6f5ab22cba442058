import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { freeLoopbackPort, redisAnswers } from '../../apps/coordinator/src/embedded/local-redis-server';
import { answerLine } from '@headkv/suite';
import { demoBatch } from '../../tools/demo/demo-batch';
import { CLI_BIN, HEADKV_TINY_DIR, REPO_ROOT } from '../helpers/repo-paths';
import { chatLine, jsonLines } from './fleet-harness';

const CLI = CLI_BIN;

// The fields of a batch output line's chat completion that the demo test reads.
interface DemoOutputLine {
  custom_id: string;
  response: {
    body: {
      choices: Array<{ message: { content: string } }>;
      usage: { kv_compression: { method: string; fallback_from?: string } };
    };
  };
}

// `headkv serve` with no Redis running: it must start redis-server itself, the coordinator and a
// worker on the bundled model (models/headkv-tiny); `headkv batch submit --wait` then prints the
// results file path, and the README's demo batch answers with the suite's facts.
describe('headkv serve and headkv batch', () => {
  let serve: ChildProcess;
  let port: number;
  let redisPort: number;
  let work: string;
  let serveOutput = '';

  before(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'headkv-serve-'));
    port = await freeLoopbackPort();
    redisPort = await freeLoopbackPort();
    assert.equal(await redisAnswers('127.0.0.1', redisPort), false);
    serve = spawn(
      process.execPath,
      [CLI, 'serve', '--port', String(port), '--threads', '1', '--max-sequences', '4'],
      {
        cwd: work,
        env: {
          ...process.env,
          REDIS_URL: `redis://127.0.0.1:${redisPort}`,
          HEADKV_QUEUE_PREFIX: 'serve-test',
          HEADKV_HEARTBEAT_MS: '500',
          PORT: '',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    serve.stdout?.on('data', (chunk: Buffer) => (serveOutput += chunk.toString()));
    serve.stderr?.on('data', (chunk: Buffer) => (serveOutput += chunk.toString()));
    const deadline = Date.now() + 60000;
    while (!serveOutput.includes('headkv: serving')) {
      assert.ok(serve.exitCode === null, `serve exited early: ${serveOutput}`);
      assert.ok(Date.now() < deadline, `serve did not start: ${serveOutput}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  });

  after(async () => {
    if (serve && serve.exitCode === null) {
      serve.kill('SIGKILL');
      await once(serve, 'exit');
    }
    rmSync(work, { recursive: true, force: true });
  });

  function cli(...args: string[]) {
    return spawnSync(process.execPath, [CLI, ...args, '--url', `http://127.0.0.1:${port}`], {
      cwd: work,
      encoding: 'utf8',
      timeout: 120000,
    });
  }

  test('serve started its own Redis and serves the bundled model', async () => {
    assert.equal(await redisAnswers('127.0.0.1', redisPort), true);
    const models = await (
      await fetch(`http://127.0.0.1:${port}/v1/models`, { headers: { Authorization: 'Bearer k' } })
    ).json();
    assert.equal(models.data[0].id, 'headkv-tiny');
  });

  test('batch submit --wait prints the results file path; status, list and results agree', () => {
    const input = path.join(work, 'requests.jsonl');
    writeFileSync(
      input,
      [
        chatLine('first', 'headkv-tiny', 'Hello'),
        chatLine('second', 'headkv-tiny', 'World'),
        'not json',
      ].join('\n'),
    );
    const submitted = cli('batch', 'submit', input, '--wait', '--output', path.join(work, 'results'));
    assert.equal(submitted.status, 0, submitted.stderr);
    const [outputPath, errorPath] = submitted.stdout.trim().split('\n');
    assert.ok(outputPath.startsWith(path.join(work, 'results')), submitted.stdout);
    assert.deepEqual(
      jsonLines(readFileSync(outputPath, 'utf8'))
        .map((line) => line.custom_id)
        .sort(),
      ['first', 'second'],
    );
    assert.equal(jsonLines(readFileSync(errorPath, 'utf8')).length, 1);
    const batchId = path.basename(outputPath).replace(/_output\.jsonl$/, '');
    const status = cli('batch', 'status', batchId);
    assert.match(status.stdout, new RegExp(`^${batchId}  completed  2/3 completed, 1 failed`));
    assert.match(cli('batch', 'list').stdout, new RegExp(batchId));
    const again = cli('batch', 'results', batchId, '--output', path.join(work, 'again'));
    assert.equal(again.status, 0, again.stderr);
    assert.equal(readFileSync(again.stdout.trim().split('\n')[0], 'utf8'), readFileSync(outputPath, 'utf8'));
    const cancelDone = cli('batch', 'cancel', batchId);
    assert.notEqual(cancelDone.status, 0);
    assert.match(cancelDone.stderr, /HTTP 409: Cannot cancel a batch with status 'completed'/);
  });

  test("the README's demo batch: the report's key facts and the needle, headkv-r2 with the shipped profile", () => {
    const submitted = cli(
      'batch',
      'submit',
      path.join(REPO_ROOT, 'docs', 'examples', 'batch.jsonl'),
      '--wait',
      '--output',
      path.join(work, 'demo'),
    );
    assert.equal(submitted.status, 0, submitted.stderr);
    const lines = jsonLines(readFileSync(submitted.stdout.trim().split('\n')[0], 'utf8')) as unknown[];
    const outputs = new Map(
      (lines as DemoOutputLine[]).map((line) => [line.custom_id, line.response.body] as const),
    );
    const expected = new Map(demoBatch(HEADKV_TINY_DIR).map((entry) => [entry.request.customId, entry]));
    assert.deepEqual([...outputs.keys()].sort(), [...expected.keys()].sort());
    const body = (id: string) => {
      const found = outputs.get(id);
      assert.ok(found, `no output for ${id}`);
      return found;
    };
    // The full cache and the needle question answer exactly as `headkv eval` scores them.
    for (const id of ['summary-full', 'needle-headkv-r2']) {
      assert.equal(answerLine(body(id).choices[0].message.content), expected.get(id)?.suiteCase.answer, id);
    }
    // headkv-r2 ran with the model's own headkv_profile.json, not the snapkv fallback.
    for (const id of ['summary-headkv-r2', 'needle-headkv-r2']) {
      const { method, fallback_from } = body(id).usage.kv_compression;
      assert.deepEqual({ method, fallback_from }, { method: 'headkv-r2', fallback_from: undefined }, id);
    }
  });

  test('bad input gets one clear error line', () => {
    const missing = cli('batch', 'submit', path.join(work, 'nope.jsonl'));
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /nope\.jsonl: cannot read batch input \(ENOENT\)/);
    const unknown = cli('batch', 'status', 'batch_missing');
    assert.match(unknown.stderr, /HTTP 404: No such Batch object: batch_missing/);
  });

  test('SIGTERM stops the worker, the coordinator and the Redis it started', async () => {
    serve.kill('SIGTERM');
    const [code] = (await once(serve, 'exit')) as [number | null];
    assert.equal(code, 0, serveOutput);
    assert.equal(await redisAnswers('127.0.0.1', redisPort), false);
  });
});
