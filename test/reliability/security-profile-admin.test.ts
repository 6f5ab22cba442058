// security-profile-admin.test.ts: head profiles are shared by every tenant of a fleet, so with
// HEADKV_ADMIN_KEYS set only an admin key may compute (POST), import (PUT) or delete them, while
// every key may read them; without it, every key may write as before and the coordinator warns
// once at start. Two real coordinators (logs captured) on one real Redis, under separate prefixes.
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import type { AddressInfo } from 'node:net';
import type { INestApplication } from '@nestjs/common';
import { LocalDirectoryStorage } from '@headkv/storage';
import { JsonLogger } from '@headkv/telemetry';
import { coordinatorConfigFromEnv } from '../../apps/coordinator/src/config/coordinator-config';
import { startCoordinator } from '../../apps/coordinator/src/create-coordinator';
import { client, fastFleetEnv, freshPrefix, testRedis } from '../fleet/fleet-harness';
import { FINGERPRINT_A, validProfile } from '../profiles/profile-helpers';

const TENANT_KEY = 'sk-tenant-canary-2b7e91';
const ADMIN_KEY = 'sk-admin-canary-f03c48';
const ROUTE = `/v1/profiles/${FINGERPRINT_A}/headkv-r2/kv-head`;
const COMPUTE = {
  model: FINGERPRINT_A,
  method: 'headkv-r2',
  probe: { max_length: 64, lengths: 1, depths: 1 },
};
const OPEN_WRITES_WARNING = 'HEADKV_ADMIN_KEYS is not set';

interface LoggedCoordinator {
  app: INestApplication;
  baseUrl: string;
  logs: string[];
  storageDir: string;
}

async function startLogged(redisUrl: string, env: Record<string, string>): Promise<LoggedCoordinator> {
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs.push(chunk.toString());
      done();
    },
  });
  const storageDir = await mkdtemp(path.join(os.tmpdir(), 'headkv-profile-admin-'));
  const app = await startCoordinator(
    coordinatorConfigFromEnv({ ...fastFleetEnv(redisUrl, freshPrefix()), PORT: '0', ...env }),
    { storage: new LocalDirectoryStorage(storageDir), logger: new JsonLogger('coordinator', sink) },
  );
  const { port } = app.getHttpServer().address() as AddressInfo;
  return { app, baseUrl: `http://127.0.0.1:${port}`, logs, storageDir };
}

let redis: Awaited<ReturnType<typeof testRedis>>;
let gated: LoggedCoordinator;
let open: LoggedCoordinator;

before(async () => {
  redis = await testRedis();
  // The admin key is listed only in HEADKV_ADMIN_KEYS: it must authenticate all the same.
  gated = await startLogged(redis.url, { HEADKV_API_KEYS: TENANT_KEY, HEADKV_ADMIN_KEYS: ADMIN_KEY });
  open = await startLogged(redis.url, { HEADKV_API_KEYS: `${TENANT_KEY},${ADMIN_KEY}` });
});

after(async () => {
  for (const coordinator of [gated, open]) {
    if (coordinator === undefined) continue;
    await coordinator.app.close();
    await rm(coordinator.storageDir, { recursive: true, force: true });
  }
  await redis?.stop();
});

describe('with HEADKV_ADMIN_KEYS set', () => {
  test('a tenant key gets a 403 naming the admin key on compute, import and delete; nothing changes', async () => {
    const admin = client(gated.baseUrl, ADMIN_KEY);
    const tenant = client(gated.baseUrl, TENANT_KEY);
    assert.equal((await admin.json('PUT', ROUTE, validProfile())).status, 200);

    const refusals = [
      await tenant.json('PUT', ROUTE, { ...validProfile(), trials: 1 }),
      await tenant.json('DELETE', ROUTE),
      await tenant.json('POST', '/v1/profiles', COMPUTE),
    ];
    for (const refused of refusals) {
      assert.equal(refused.status, 403, JSON.stringify(refused.body));
      assert.deepEqual(refused.body.error, {
        message:
          'Computing, importing and deleting head profiles needs an admin API key (one of HEADKV_ADMIN_KEYS); this key may only read them',
        type: 'permission_error',
        param: null,
        code: 'admin_key_required',
      });
    }
    // The stored profile is the admin's, untouched by the refused import and delete.
    assert.deepEqual((await admin.json('GET', ROUTE)).body, validProfile());
  });

  test('every valid key reads the list and a profile', async () => {
    for (const key of [TENANT_KEY, ADMIN_KEY]) {
      const api = client(gated.baseUrl, key);
      const list = await api.json('GET', '/v1/profiles');
      assert.equal(list.status, 200, key === ADMIN_KEY ? 'admin' : 'tenant');
      assert.deepEqual(
        list.body.data.map((summary: { id: string }) => summary.id),
        [`${FINGERPRINT_A}/headkv-r2/kv-head`],
      );
      assert.deepEqual((await api.json('GET', ROUTE)).body, validProfile());
    }
  });

  test('the admin key computes, replaces and deletes profiles', async () => {
    const admin = client(gated.baseUrl, ADMIN_KEY);
    const replaced = await admin.json('PUT', ROUTE, { ...validProfile(), trials: 5 });
    assert.equal(replaced.status, 200, JSON.stringify(replaced.body));
    assert.equal(replaced.body.trials, 5);
    const deleted = await admin.json('DELETE', ROUTE);
    assert.deepEqual(deleted.body, {
      id: `${FINGERPRINT_A}/headkv-r2/kv-head`,
      object: 'profile',
      deleted: true,
    });
    assert.equal((await admin.json('GET', ROUTE)).status, 404);
    // No worker runs here: the profiling job is queued and waits.
    const computed = await admin.json('POST', '/v1/profiles', COMPUTE);
    assert.equal(computed.status, 202, JSON.stringify(computed.body));
    assert.equal(computed.body.status, 'waiting');
  });

  test('a wrong key is still a 401 on a write route, and the admin key is a tenant of its own', async () => {
    const wrong = await client(gated.baseUrl, 'sk-not-configured').json('DELETE', ROUTE);
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.error.code, 'invalid_api_key');

    const tenant = client(gated.baseUrl, TENANT_KEY);
    const uploaded = await tenant.upload('{"custom_id": "a"}\n');
    assert.equal(uploaded.status, 200, JSON.stringify(uploaded.body));
    const admin = client(gated.baseUrl, ADMIN_KEY);
    assert.equal((await admin.json('GET', '/v1/files')).body.data.length, 0);
    assert.equal((await admin.json('GET', `/v1/files/${uploaded.body.id}`)).status, 404);
  });

  test('no warning about open profile writes', () => {
    assert.equal(gated.logs.filter((line) => line.includes(OPEN_WRITES_WARNING)).length, 0);
  });
});

describe('without HEADKV_ADMIN_KEYS', () => {
  test('any key computes, imports and deletes profiles, as before', async () => {
    const tenant = client(open.baseUrl, TENANT_KEY);
    assert.equal((await tenant.json('PUT', ROUTE, validProfile())).status, 200);
    assert.deepEqual((await client(open.baseUrl, ADMIN_KEY).json('GET', ROUTE)).body, validProfile());
    assert.equal((await tenant.json('DELETE', ROUTE)).body.deleted, true);
    const computed = await tenant.json('POST', '/v1/profiles', COMPUTE);
    assert.equal(computed.status, 202, JSON.stringify(computed.body));
  });

  test('the coordinator warned once at start that profile writes are open to every key', () => {
    const warnings = open.logs
      .map((line) => JSON.parse(line) as { level: string; message: string })
      .filter((record) => record.message.includes(OPEN_WRITES_WARNING));
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0].level, 'warn');
    assert.match(warnings[0].message, /every API key may compute, import and delete the head profiles/);
  });
});

test('no log line of either coordinator contains a key', () => {
  const lines = [...gated.logs, ...open.logs];
  assert.ok(lines.length > 0);
  for (const line of lines) {
    assert.ok(!line.includes(TENANT_KEY), `tenant key in ${line}`);
    assert.ok(!line.includes(ADMIN_KEY), `admin key in ${line}`);
  }
});

test('settings: HEADKV_ADMIN_KEYS needs HEADKV_API_KEYS; keys are trimmed and blanks dropped', () => {
  assert.throws(
    () => coordinatorConfigFromEnv({ HEADKV_ADMIN_KEYS: ADMIN_KEY }),
    /^Error: HEADKV_ADMIN_KEYS is set but HEADKV_API_KEYS is not: admin keys apply only when API keys are configured$/,
  );
  const config = coordinatorConfigFromEnv({ HEADKV_API_KEYS: 'a', HEADKV_ADMIN_KEYS: ' b , ,c ' });
  assert.deepEqual(config.adminKeys, ['b', 'c']);
  assert.equal(coordinatorConfigFromEnv({ HEADKV_API_KEYS: 'a', HEADKV_ADMIN_KEYS: ' , ' }).adminKeys, null);
  assert.equal(coordinatorConfigFromEnv({}).adminKeys, null);
});
