// security-redis-auth.test.ts: the fleet on a Redis that requires an ACL user and password, and on
// a TLS-only Redis (certificates made by openssl here): coordinator and a real worker process
// answer a chat completion with the right settings; with wrong ones the coordinator and the
// worker refuse to start with an error naming the problem and never showing the password.
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { checkRedisConnection, redactRedisUrl, redisOptionsFromUrl } from '@headkv/queue';
import {
  TINY_MODEL_DIR,
  client,
  freshPrefix,
  spawnWorker,
  startTestCoordinator,
  waitForWorkers,
} from '../fleet/fleet-harness';
import { startSecuredRedis, type SecuredRedis } from './security-redis-server';
import * as path from 'node:path';

const MODEL = path.basename(TINY_MODEL_DIR);
const FLEET_PASSWORD = 'fleet-secret-3f9c';
const WRONG_PASSWORD = 'not-the-password-77';

/** The ACL a fleet needs: its own keys, every channel, everything but the dangerous commands, plus INFO. */
function fleetUser(prefix: string): string {
  return `user fleet on >${FLEET_PASSWORD} ~${prefix}:* &* +@all -@dangerous +info`;
}

/** Runs one chat completion through a coordinator and a worker process on `redisUrl`. */
async function chatThroughFleet(
  redisUrl: string,
  prefix: string,
  env: Record<string, string>,
): Promise<void> {
  const coordinator = await startTestCoordinator(redisUrl, prefix);
  const worker = spawnWorker(redisUrl, prefix, 'secured-worker', env);
  try {
    const api = client(coordinator.baseUrl, 'any-local-key');
    await waitForWorkers(api, ['secured-worker'], 60000);
    const response = await api.json('POST', '/v1/chat/completions', {
      model: MODEL,
      messages: [{ role: 'user', content: 'hello' }],
      max_tokens: 2,
    });
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.equal(response.body.object, 'chat.completion');
  } finally {
    await worker.stop();
    await coordinator.close();
  }
}

/** The error message of a start that must fail, checked never to contain the wrong password. */
async function startFailure(start: () => Promise<unknown>): Promise<string> {
  try {
    await start();
  } catch (error) {
    const message = (error as Error).message;
    assert.ok(!message.includes(WRONG_PASSWORD) && !message.includes(FLEET_PASSWORD), message);
    return message;
  }
  throw new Error('the start succeeded but should have failed');
}

/** Sets process environment variables for one call (the options builder reads process.env). */
async function withEnv<T>(env: Record<string, string>, run: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(env).map((name) => [name, process.env[name]]));
  Object.assign(process.env, env);
  try {
    return await run();
  } finally {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

describe('Redis with an ACL user and password', () => {
  const prefix = freshPrefix();
  let server: SecuredRedis;
  before(async () => {
    server = await startSecuredRedis([
      fleetUser(prefix),
      'user reader on >reader-secret ~* &* +@read +@connection +info',
    ]);
  });
  after(() => server?.stop());

  test('coordinator and worker serve a chat completion with the right user and password', async () => {
    await chatThroughFleet(`redis://fleet:${FLEET_PASSWORD}@127.0.0.1:${server.port}`, prefix, {});
  });

  test('REDIS_USERNAME and REDIS_PASSWORD supply the login when the URL has none', async () => {
    await withEnv({ REDIS_USERNAME: 'fleet', REDIS_PASSWORD: FLEET_PASSWORD }, () =>
      checkRedisConnection(`redis://127.0.0.1:${server.port}`, prefix),
    );
  });

  test('a wrong password stops the coordinator with WRONGPASS and the setting to fix', async () => {
    const message = await startFailure(() =>
      startTestCoordinator(`redis://fleet:${WRONG_PASSWORD}@127.0.0.1:${server.port}`, prefix),
    );
    assert.match(
      message,
      /^Redis at redis:\/\/fleet@127\.0\.0\.1:\d+\/0 rejected the ACL user and password \(WRONGPASS/,
    );
    assert.match(message, /REDIS_URL \(redis:\/\/user:password@host:port\)/);
  });

  test('no password stops the coordinator with NOAUTH', async () => {
    const message = await startFailure(() =>
      startTestCoordinator(`redis://127.0.0.1:${server.port}`, prefix),
    );
    assert.match(message, /requires a password \(NOAUTH/);
  });

  test('a user without write permission stops the coordinator with NOPERM and the ACL it needs', async () => {
    const message = await startFailure(() =>
      startTestCoordinator(`redis://reader:reader-secret@127.0.0.1:${server.port}`, prefix),
    );
    assert.match(message, /ACL user "reader" .* lacks a permission the fleet needs \(NOPERM/);
    assert.match(message, /~<HEADKV_QUEUE_PREFIX>:\*/);
  });

  test('a user whose keys are another prefix is refused as well', async () => {
    const message = await startFailure(() =>
      startTestCoordinator(`redis://fleet:${FLEET_PASSWORD}@127.0.0.1:${server.port}`, freshPrefix()),
    );
    assert.match(message, /NOPERM/);
  });

  test('a worker with a wrong password exits with the explanation on stderr', async () => {
    const worker = spawnWorker(
      `redis://fleet:${WRONG_PASSWORD}@127.0.0.1:${server.port}`,
      prefix,
      'bad-worker',
    );
    const code = await new Promise<number | null>((resolve) => worker.child.once('exit', resolve));
    assert.equal(code, 1);
    assert.match(worker.output(), /worker failed to start: .*rejected the ACL user and password \(WRONGPASS/);
    assert.ok(!worker.output().includes(WRONG_PASSWORD), worker.output());
  });
});

describe('Redis over TLS', () => {
  const prefix = freshPrefix();
  let server: SecuredRedis;
  let mutual: SecuredRedis;
  before(async () => {
    server = await startSecuredRedis([fleetUser(prefix)], { tls: true });
    mutual = await startSecuredRedis([fleetUser(prefix)], { tls: true, clientCertificates: true });
  });
  after(async () => {
    await server?.stop();
    await mutual?.stop();
  });
  const url = (port: number, scheme = 'rediss') => `${scheme}://fleet:${FLEET_PASSWORD}@localhost:${port}`;

  test('coordinator and worker serve a chat completion over rediss:// with HEADKV_REDIS_TLS_CA', async () => {
    const tlsEnv = { HEADKV_REDIS_TLS_CA: server.tls!.ca };
    await withEnv(tlsEnv, () => chatThroughFleet(url(server.port), prefix, tlsEnv));
  });

  test('without the CA the certificate is reported untrusted, naming HEADKV_REDIS_TLS_CA', async () => {
    const message = await startFailure(() => checkRedisConnection(url(server.port), prefix, {}));
    assert.match(
      message,
      /^TLS: the certificate of Redis at rediss:\/\/fleet@localhost:\d+\/0 is not trusted/,
    );
    assert.match(message, /set HEADKV_REDIS_TLS_CA/);
  });

  test('a server name the certificate does not carry is reported, naming HEADKV_REDIS_TLS_SERVERNAME', async () => {
    const env = { HEADKV_REDIS_TLS_CA: server.tls!.ca, HEADKV_REDIS_TLS_SERVERNAME: 'redis.example.org' };
    const message = await startFailure(() => checkRedisConnection(url(server.port), prefix, env));
    assert.match(message, /does not name that host.*HEADKV_REDIS_TLS_SERVERNAME/);
  });

  test('plain redis:// to the TLS port fails, suggesting rediss://', async () => {
    const message = await startFailure(() => checkRedisConnection(url(server.port, 'redis'), prefix, {}));
    assert.match(message, /use rediss:\/\//);
  });

  test('a server requiring client certificates: refused without one, served with HEADKV_REDIS_TLS_CERT/KEY', async () => {
    const ca = { HEADKV_REDIS_TLS_CA: mutual.tls!.ca };
    const message = await startFailure(() => checkRedisConnection(url(mutual.port), prefix, ca));
    assert.match(message, /Redis at rediss:\/\/fleet@localhost:\d+\/0/);
    await checkRedisConnection(url(mutual.port), prefix, {
      ...ca,
      HEADKV_REDIS_TLS_CERT: mutual.tls!.clientCert,
      HEADKV_REDIS_TLS_KEY: mutual.tls!.clientKey,
    });
  });
});

test('connection options: URL, environment and TLS variables map onto ioredis options', () => {
  const options = redisOptionsFromUrl('rediss://app%40x:p%2Fw@redis.internal:6380/2', {});
  assert.deepEqual(
    { ...options, tls: options.tls },
    {
      host: 'redis.internal',
      port: 6380,
      db: 2,
      username: 'app@x',
      password: 'p/w',
      tls: {},
      maxRetriesPerRequest: null,
    },
  );
  const fromEnv = redisOptionsFromUrl('redis://127.0.0.1', { REDIS_USERNAME: 'u', REDIS_PASSWORD: 'pw' });
  assert.equal(fromEnv.username, 'u');
  assert.equal(fromEnv.password, 'pw');
  assert.equal(fromEnv.tls, undefined);
  assert.equal(
    redisOptionsFromUrl('rediss://h', { HEADKV_REDIS_TLS_SERVERNAME: 'name' }).tls?.servername,
    'name',
  );
  assert.throws(
    () => redisOptionsFromUrl('redis://h:1', { HEADKV_REDIS_TLS_CA: 'ca.pem' }),
    /HEADKV_REDIS_TLS_CA is set but REDIS_URL "redis:\/\/h:1" uses redis:\/\/; use rediss:\/\//,
  );
  assert.throws(
    () => redisOptionsFromUrl('rediss://h', { HEADKV_REDIS_TLS_CA: 'no/such/ca.pem' }),
    /HEADKV_REDIS_TLS_CA="no\/such\/ca.pem": cannot read the PEM file/,
  );
  assert.throws(
    () => redisOptionsFromUrl('rediss://h', { HEADKV_REDIS_TLS_CERT: __filename }),
    /HEADKV_REDIS_TLS_CERT and HEADKV_REDIS_TLS_KEY must be set together/,
  );
  assert.throws(
    () => redisOptionsFromUrl('http://u:secret@h', {}),
    (error: Error) => {
      assert.equal(error.message, 'REDIS_URL "http://u:***@h" must use the redis:// or rediss:// scheme');
      return true;
    },
  );
  assert.throws(
    () => redisOptionsFromUrl('redis://u:secret@h/x', {}),
    (error: Error) => {
      assert.equal(error.message, 'REDIS_URL "redis://u:***@h/x" has an invalid database number');
      return true;
    },
  );
  assert.equal(redactRedisUrl('rediss://user:pa:ss@host:1/0'), 'rediss://user:***@host:1/0');
});
