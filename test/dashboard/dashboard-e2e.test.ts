// The dashboard end to end in headless Debian chromium (playwright-core): real Redis, a coordinator
// with the dashboard, a worker on the tiny model; a batch submitted through the API is watched to
// 100% on the page, its output downloaded, the fleet shown, and the profile heatmaps opened.
import * as assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { allocateHeadBudgets, HEADKV_WINDOW } from '@headkv/profiles';
import {
  chatLine,
  client,
  freshPrefix,
  spawnWorker,
  startTestCoordinator,
  testRedis,
  waitForWorkers,
  type TestCoordinator,
  type WorkerProcess,
} from '../fleet/fleet-harness';
import { REPO_ROOT } from '../helpers/repo-paths';

const CHROMIUM = '/usr/bin/chromium';
const MODEL = 'tiny-random-llama';
const KEY = 'dashboard-key-alpha';
const OTHER_KEY = 'dashboard-key-beta';
const ARTIFACTS = path.join(REPO_ROOT, 'test-artifacts', 'dashboard');
const REQUESTS = 6;

/** Importance scores with a recognisable pattern, for the tiny model's shape. */
function patternScores(layers: number, heads: number, offset: number): number[][] {
  return Array.from({ length: layers }, (_, layer) =>
    Array.from({ length: heads }, (_, head) => ((layer * 7 + head * 3 + offset) % 11) / 10 + 0.05),
  );
}

describe('dashboard in chromium', () => {
  let redis: Awaited<ReturnType<typeof testRedis>>;
  let coordinator: TestCoordinator;
  let worker: WorkerProcess;
  let browser: BrowserContext;
  let page: Page;
  let profileDir: string;
  let prefix: string;
  let coordinatorClosed = false;
  let model: { fingerprint: string; nLayers: number; nHeads: number; nKvHeads: number; architecture: string };

  /** The worker joins late, so that a batch submitted before it stays queued for the cancel test. */
  async function startWorkerWithProfiles(): Promise<void> {
    worker = spawnWorker(redis.url, prefix, 'dashboard-worker');
    const api = client(coordinator.baseUrl, KEY);
    await waitForWorkers(api, ['dashboard-worker'], 60000).catch((error: Error) => {
      throw new Error(`${error.message}\n${worker.output()}`);
    });
    model = (await api.json('GET', '/v1/workers')).body.data[0].model;
    for (const [method, offset] of [
      ['headkv-r', 0],
      ['headkv-r2', 5],
    ] as const) {
      const imported = await api.json('PUT', `/v1/profiles/${model.fingerprint}/${method}/kv-head`, {
        schema_version: 1,
        model: {
          fingerprint: model.fingerprint,
          architecture: model.architecture,
          n_layers: model.nLayers,
          n_heads: model.nHeads,
          n_kv_heads: model.nKvHeads,
        },
        method,
        granularity: 'kv-head',
        scores: patternScores(model.nLayers, model.nHeads, offset),
        imported_from: 'dashboard test pattern',
        engine_version: 'test',
        created_at: new Date().toISOString(),
      });
      assert.equal(imported.status, 200, JSON.stringify(imported.body));
    }
  }

  before(async () => {
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install -y chromium`);
    mkdirSync(ARTIFACTS, { recursive: true });
    redis = await testRedis();
    prefix = freshPrefix();
    coordinator = await startTestCoordinator(redis.url, prefix, {
      HEADKV_API_KEYS: `${KEY},${OTHER_KEY}`,
    });
    profileDir = await mkdtemp(path.join(tmpdir(), 'headkv-chromium-'));
    // A fresh profile folder per run (playwright passes it as --user-data-dir).
    browser = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM,
      headless: true,
      acceptDownloads: true,
      viewport: { width: 1400, height: 900 },
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    page = await browser.newPage();
    page.setDefaultTimeout(30000);
  });

  after(async () => {
    await browser?.close();
    await worker?.stop();
    if (!coordinatorClosed) await coordinator?.close();
    await redis?.stop();
    if (profileDir) await rm(profileDir, { recursive: true, force: true });
  });

  test('the events stream and the allocation need an API key', async () => {
    const events = await fetch(`${coordinator.baseUrl}/dashboard/events`);
    assert.equal(events.status, 401);
    const wrong = await fetch(`${coordinator.baseUrl}/dashboard/events`, {
      headers: { Authorization: 'Bearer nope' },
    });
    assert.equal(wrong.status, 401);
    const allocation = await fetch(
      `${coordinator.baseUrl}/dashboard/profiles/${'a'.repeat(64)}/headkv-r/kv-head/allocation?kv_size=64&beta=1.2`,
    );
    assert.equal(allocation.status, 401);
  });

  test('a refused key is reported on the sign-in form', async () => {
    await page.goto(`${coordinator.baseUrl}/dashboard`);
    await page.getByLabel('API key').fill('not-a-key');
    await page.getByRole('button', { name: 'Open the dashboard' }).click();
    await page.getByRole('alert').filter({ hasText: 'Incorrect API key' }).waitFor();
  });

  test('the cancel button cancels a queued batch', async () => {
    await page.getByLabel('API key').fill(KEY);
    await page.getByRole('button', { name: 'Open the dashboard' }).click();
    await page.getByText('Live updates on').waitFor();
    await page.getByText('No batches yet').waitFor();
    const api = client(coordinator.baseUrl, KEY);
    const file = await api.upload(chatLine('queued', MODEL, 'never runs') + '\n');
    const created = await api.json('POST', '/v1/batches', {
      input_file_id: file.body.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    });
    const row = page.locator(`tr[data-batch-id="${created.body.id}"]`);
    await row.getByText('in_progress').waitFor();
    await row.getByRole('button', { name: created.body.id }).click();
    await page
      .getByRole('region', { name: `Batch ${created.body.id}` })
      .getByRole('button', { name: 'Cancel batch' })
      .click();
    await row.getByText('cancelled', { exact: true }).waitFor();
    const cancelled = await api.json('GET', `/v1/batches/${created.body.id}`);
    assert.equal(cancelled.body.status, 'cancelled');
    await page.screenshot({ path: path.join(ARTIFACTS, 'batch-cancelled.png'), fullPage: true });
  });

  test('a batch submitted through the API reaches 100% on the page without a reload', async () => {
    await startWorkerWithProfiles();
    const api = client(coordinator.baseUrl, KEY);
    const lines = Array.from({ length: REQUESTS }, (_, index) =>
      chatLine(`doc-${index}`, MODEL, `Summarize document ${index}: the quick brown fox.`, { max_tokens: 6 }),
    );
    const file = await api.upload(lines.join('\n') + '\n');
    const created = await api.json('POST', '/v1/batches', {
      input_file_id: file.body.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    const batchId = created.body.id as string;
    // Another tenant's batch must never show up.
    const other = client(coordinator.baseUrl, OTHER_KEY);
    const otherFile = await other.upload(chatLine('other', MODEL, 'hello') + '\n');
    const otherBatch = await other.json('POST', '/v1/batches', {
      input_file_id: otherFile.body.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    });

    const row = page.locator(`tr[data-batch-id="${batchId}"]`);
    await row.waitFor();
    const bar = row.getByRole('progressbar');
    await page.screenshot({ path: path.join(ARTIFACTS, 'batches-running.png'), fullPage: true });
    await row.locator('[role="progressbar"][data-percent="100"]').waitFor({ timeout: 60000 });
    assert.equal(await bar.getAttribute('aria-valuemax'), String(REQUESTS));
    assert.equal(await bar.getAttribute('aria-valuetext'), `${REQUESTS} of ${REQUESTS} done, 0 failed`);
    await row.getByText('completed').waitFor({ timeout: 30000 });
    assert.equal(await page.locator(`tr[data-batch-id="${otherBatch.body.id}"]`).count(), 0);
    const tokens = Number((await row.locator('td').nth(2).innerText()).replace(/,/g, ''));
    assert.ok(tokens > 0, `tokens generated shown: ${tokens}`);

    await row.getByRole('button', { name: batchId }).click();
    const detail = page.getByRole('region', { name: `Batch ${batchId}` });
    assert.equal(await detail.getByRole('button', { name: 'Cancel batch' }).isDisabled(), true);
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      detail.getByRole('button', { name: 'Download output file' }).click(),
    ]);
    const saved = path.join(ARTIFACTS, 'output.jsonl');
    await download.saveAs(saved);
    const outputLines = readFileSync(saved, 'utf8').trim().split('\n');
    assert.equal(outputLines.length, REQUESTS);
    assert.deepEqual(
      outputLines.map((line) => JSON.parse(line).custom_id).sort(),
      lines.map((_, index) => `doc-${index}`).sort(),
    );
    await page.screenshot({ path: path.join(ARTIFACTS, 'batch-completed.png'), fullPage: true });
  });

  test('the fleet view shows the worker', async () => {
    await page.getByRole('tab', { name: 'Fleet' }).click();
    const row = page.locator('tr[data-worker-id="dashboard-worker"]');
    await row.waitFor();
    assert.match(await row.innerText(), new RegExp(MODEL));
    assert.match(await row.innerText(), /of 4/);
    await page.screenshot({ path: path.join(ARTIFACTS, 'fleet.png'), fullPage: true });
  });

  test('the profiles view shows the importance and allocation heatmaps, two methods side by side', async () => {
    // Keyboard: from the Fleet tab, the right arrow moves to Profiles.
    const badSize = await client(coordinator.baseUrl, KEY).json(
      'GET',
      `/dashboard/profiles/${model.fingerprint}/headkv-r/kv-head/allocation?kv_size=4&beta=1.2`,
    );
    assert.equal(badSize.status, 400);
    assert.match(badSize.body.error.message, /kv_size/);
    await page.getByRole('tab', { name: 'Fleet' }).focus();
    await page.keyboard.press('ArrowRight');
    assert.equal(await page.getByRole('tab', { name: 'Profiles' }).getAttribute('aria-selected'), 'true');
    const importance = page.locator('[data-heatmap="primary-importance"] tbody tr');
    await importance.first().waitFor();
    assert.equal(await importance.count(), model.nLayers);
    assert.equal(await importance.first().locator('td').count(), model.nHeads);

    await page.getByLabel('kv_size (tokens per head)').fill('64');
    await page.getByLabel('beta (pool factor)').fill('1.5');
    await page.getByLabel('head dimension').fill('16');
    await page.getByRole('button', { name: 'Show allocation' }).click();
    await page.getByLabel('Compare with').selectOption({ index: 1 });
    const expected = allocateHeadBudgets(patternScores(model.nLayers, model.nHeads, 0), model.nKvHeads, {
      kvSize: 64,
      beta: 1.5,
    });
    const expectedTokens = expected.kvHeadCaps.flat().reduce((sum, cap) => sum + cap + HEADKV_WINDOW, 0);
    const totals = page.locator('[data-bytes-kept]').first();
    await page
      .locator(`[data-bytes-kept="${expectedTokens * 2 * 16 * 2}"]`)
      .first()
      .waitFor();
    assert.match(await totals.innerText(), /tokens\) per sequence/);
    const allocationRows = page.locator('[data-heatmap="primary-allocation"] tbody tr');
    assert.equal(await allocationRows.count(), model.nLayers);
    assert.equal(await allocationRows.first().locator('td').count(), model.nKvHeads);
    await page.locator('[data-heatmap="compared-importance"]').waitFor();
    await page.locator('[data-heatmap="compared-allocation"]').waitFor();
    await page.screenshot({ path: path.join(ARTIFACTS, 'profiles-compare.png'), fullPage: true });
  });

  test('the events stream sends the batches and workers, and ends when the coordinator shuts down', async () => {
    const response = await fetch(`${coordinator.baseUrl}/dashboard/events`, {
      headers: { Authorization: `Bearer ${KEY}` },
    });
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /text\/event-stream/);
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let received = '';
    while (!received.includes('event: workers')) received += (await reader.read()).value ?? '';
    assert.match(received, /event: batches\ndata: \[/);
    await browser.close();
    // Without the module ending its streams, the HTTP server would wait for this one forever.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      coordinator.close(),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error('the coordinator did not close with a stream open')),
          10000,
        );
      }),
    ]);
    clearTimeout(timer);
    coordinatorClosed = true;
    for (;;) if ((await reader.read()).done) break;
  });
});
