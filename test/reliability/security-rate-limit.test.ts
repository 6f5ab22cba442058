// security-rate-limit.test.ts: per-API-key rate limits against a real Redis, with two coordinator
// replicas sharing one bucket per key: the x-ratelimit-* headers, the OpenAI-style 429 with
// Retry-After, refill, per-tenant overrides and exemption, and the settings' error messages.
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { freshPrefix, startTestCoordinator, testRedis, type TestCoordinator } from '../fleet/fleet-harness';
import { rateLimitSettingsFromEnv } from '../../apps/coordinator/src/auth/rate-limit-settings';
import { formatResetDuration } from '../../apps/coordinator/src/auth/rate-limit-response';

const KEYS = { slow: 'key-slow', refill: 'key-refill', exempt: 'key-exempt', other: 'key-other' };

/** The tenant id the coordinator derives from a key (what an operator puts in HEADKV_RATE_LIMIT_TENANTS). */
function tenantOf(key: string): string {
  return `tenant_${createHash('sha256').update(key).digest().subarray(0, 12).toString('hex')}`;
}

let redis: Awaited<ReturnType<typeof testRedis>>;
let replicas: TestCoordinator[];

before(async () => {
  redis = await testRedis();
  const prefix = freshPrefix();
  // Default: one token per 100 s and a burst of 3, so nothing refills while the test runs.
  const env = {
    HEADKV_API_KEYS: Object.values(KEYS).join(','),
    HEADKV_RATE_LIMIT_RPS: '0.01',
    HEADKV_RATE_LIMIT_BURST: '3',
    HEADKV_RATE_LIMIT_TENANTS: `${tenantOf(KEYS.refill)}=4:1, ${tenantOf(KEYS.exempt)}=0:1`,
  };
  replicas = [
    await startTestCoordinator(redis.url, prefix, env),
    await startTestCoordinator(redis.url, prefix, env),
  ];
});

after(async () => {
  for (const replica of replicas ?? []) await replica.close();
  await redis?.stop();
});

async function listFiles(replica: TestCoordinator, key: string) {
  const response = await fetch(`${replica.baseUrl}/v1/files`, {
    headers: { Authorization: `Bearer ${key}` },
  });
  return { status: response.status, headers: response.headers, body: await response.json() };
}

test('a key gets its burst across both replicas, then a 429 with Retry-After and an OpenAI-style body', async () => {
  const remaining: string[] = [];
  for (let i = 0; i < 3; i++) {
    const response = await listFiles(replicas[i % 2], KEYS.slow);
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.equal(response.headers.get('x-ratelimit-limit-requests'), '3');
    remaining.push(response.headers.get('x-ratelimit-remaining-requests') ?? 'absent');
  }
  assert.deepEqual(remaining, ['2', '1', '0']);

  const refused = await listFiles(replicas[1], KEYS.slow);
  assert.equal(refused.status, 429);
  assert.deepEqual(refused.body.error.type, 'requests');
  assert.deepEqual(refused.body.error.code, 'rate_limit_exceeded');
  assert.equal(refused.body.error.param, null);
  assert.match(refused.body.error.message, /^Rate limit reached for requests.*try again in \d/);
  // One token per 100 s: the next one is about 100 s away.
  const retryAfter = Number(refused.headers.get('retry-after'));
  assert.ok(retryAfter > 90 && retryAfter <= 100, `retry-after ${retryAfter}`);
  assert.ok(Number(refused.headers.get('retry-after-ms')) > 90000);
  assert.equal(refused.headers.get('x-ratelimit-remaining-requests'), '0');
  assert.match(refused.headers.get('x-ratelimit-reset-requests') ?? '', /^\d+m[\d.]+s$/);

  // The other replica refuses too: the bucket lives in Redis, not in a coordinator.
  assert.equal((await listFiles(replicas[0], KEYS.slow)).status, 429);
});

test('each key has its own bucket', async () => {
  const response = await listFiles(replicas[0], KEYS.other);
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('x-ratelimit-remaining-requests'), '2');
});

test('a refused key is served again once Retry-After has passed (tenant override 4/s, burst 1)', async () => {
  let refused: Awaited<ReturnType<typeof listFiles>> | null = null;
  for (let i = 0; i < 20 && refused === null; i++) {
    const response = await listFiles(replicas[i % 2], KEYS.refill);
    assert.equal(response.headers.get('x-ratelimit-limit-requests'), '1');
    if (response.status === 429) refused = response;
    else assert.equal(response.status, 200);
  }
  assert.ok(refused !== null, 'twenty requests in a row never exceeded 4 per second with a burst of 1');
  const waitMs = Number(refused.headers.get('retry-after-ms'));
  assert.ok(waitMs > 0 && waitMs <= 250, `retry-after-ms ${waitMs}`);
  await new Promise((resolve) => setTimeout(resolve, waitMs + 20));
  assert.equal((await listFiles(replicas[1], KEYS.refill)).status, 200);
});

test('a tenant overridden to rate 0 is not limited and gets no rate-limit headers', async () => {
  for (let i = 0; i < 10; i++) {
    const response = await listFiles(replicas[i % 2], KEYS.exempt);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('x-ratelimit-limit-requests'), null);
  }
});

test('an unauthenticated request is answered 401 and takes no token', async () => {
  const response = await fetch(`${replicas[0].baseUrl}/v1/files`, {
    headers: { Authorization: 'Bearer nope' },
  });
  assert.equal(response.status, 401);
  assert.equal(response.headers.get('x-ratelimit-limit-requests'), null);
});

test('rate-limit settings: defaults, overrides and errors naming the variable', () => {
  assert.deepEqual(rateLimitSettingsFromEnv({}), { default: null, tenants: {} });
  assert.deepEqual(rateLimitSettingsFromEnv({ HEADKV_RATE_LIMIT_RPS: '2.5' }).default, {
    perSecond: 2.5,
    burst: 5,
  });
  assert.deepEqual(
    rateLimitSettingsFromEnv({ HEADKV_RATE_LIMIT_TENANTS: 'tenant_ab=1:2,tenant_cd=0.5:1' }).tenants,
    { tenant_ab: { perSecond: 1, burst: 2 }, tenant_cd: { perSecond: 0.5, burst: 1 } },
  );
  assert.throws(
    () => rateLimitSettingsFromEnv({ HEADKV_RATE_LIMIT_RPS: 'fast' }),
    /HEADKV_RATE_LIMIT_RPS="fast" must be a number >= 0/,
  );
  assert.throws(
    () => rateLimitSettingsFromEnv({ HEADKV_RATE_LIMIT_RPS: '1', HEADKV_RATE_LIMIT_BURST: '0' }),
    /HEADKV_RATE_LIMIT_BURST="0" must be an integer >= 1/,
  );
  assert.throws(
    () => rateLimitSettingsFromEnv({ HEADKV_RATE_LIMIT_TENANTS: 'alice=1:2' }),
    /HEADKV_RATE_LIMIT_TENANTS: entry "alice=1:2" must be tenant_<id>=<rps>:<burst>/,
  );
  assert.equal(formatResetDuration(250), '250ms');
  assert.equal(formatResetDuration(1500), '1.5s');
  assert.equal(formatResetDuration(150000), '2m30s');
});
