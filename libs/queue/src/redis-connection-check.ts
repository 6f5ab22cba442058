import Redis from 'ioredis';
import { describeRedis, redisOptionsFromUrl, type FleetRedisOptions } from './redis-connection';

const CONNECT_TIMEOUT_MS = 5000;

const UNTRUSTED_CERTIFICATE = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
]);
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);

/** A Redis failure at start-up, rewritten to say what is wrong and which setting to change. */
function explain(error: Error & { code?: string }, options: FleetRedisOptions): Error {
  const where = describeRedis(options);
  const text = error.message;
  const code = error.code ?? '';
  let message: string;
  if (text.startsWith('WRONGPASS')) {
    message =
      `Redis at ${where} rejected the ACL user and password (${text}): check the user and password ` +
      'in REDIS_URL (redis://user:password@host:port) or REDIS_USERNAME / REDIS_PASSWORD';
  } else if (text.startsWith('NOAUTH')) {
    message =
      `Redis at ${where} requires a password (${text}) and none was given: put it in REDIS_URL ` +
      '(redis://user:password@host:port) or REDIS_PASSWORD';
  } else if (text.startsWith('NOPERM')) {
    message =
      `Redis ACL user "${options.username ?? 'default'}" at ${where} lacks a permission the fleet needs (${text}): ` +
      'it needs the keys of the queue prefix (~<HEADKV_QUEUE_PREFIX>:*), every pub/sub channel (&*) and the ' +
      'commands of @read @write @scripting @pubsub @keyspace @connection plus INFO (see docs/security.md)';
  } else if (UNTRUSTED_CERTIFICATE.has(code)) {
    message =
      `TLS: the certificate of Redis at ${where} is not trusted (${code}: ${text}): set HEADKV_REDIS_TLS_CA ` +
      'to the PEM file of the CA that signed it';
  } else if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    message =
      `TLS: the certificate of Redis at ${where} does not name that host (${text}): connect by a name it ` +
      'carries or set HEADKV_REDIS_TLS_SERVERNAME';
  } else if (/wrong version number|packet length too long/i.test(text)) {
    message = `TLS: Redis at ${where} does not speak TLS on that port (${text}): use redis:// for a plain server`;
  } else if (/certificate required|alert number 116/i.test(text)) {
    message =
      `TLS: Redis at ${where} requires a client certificate (${text}): set HEADKV_REDIS_TLS_CERT and ` +
      'HEADKV_REDIS_TLS_KEY';
  } else if (UNREACHABLE.has(code)) {
    message = `cannot reach Redis at ${where} (${text}): is it running, and is REDIS_URL right?`;
  } else if (code === 'ETIMEDOUT') {
    message =
      `timed out connecting to Redis at ${where} after ${CONNECT_TIMEOUT_MS} ms` +
      (options.tls
        ? ': is the server listening for TLS on that port (rediss:// needs a TLS port)?'
        : ': if the server accepts only TLS, use rediss://');
  } else {
    message =
      `cannot use Redis at ${where} (${text})` +
      (options.tls ? '' : ': if the server accepts only TLS connections, use rediss://');
  }
  return Object.assign(new Error(message), { cause: error });
}

/**
 * Connects once with the fleet's options and tries what the coordinator and workers will do
 * (INFO for BullMQ's version check, a key under the queue prefix, a Lua script, a publish), so
 * that wrong credentials, missing ACL permissions or TLS problems stop the service at start-up
 * with a message naming the setting, instead of surfacing later as retries in the logs.
 */
export async function checkRedisConnection(
  url: string,
  queuePrefix: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  const options = redisOptionsFromUrl(url, env);
  const client = new Redis({
    ...options,
    lazyConnect: true,
    connectTimeout: CONNECT_TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  // ioredis reports the cause (WRONGPASS, a TLS error) as an event; the connect promise itself
  // only says that the connection closed.
  let cause: Error | null = null;
  client.on('error', (error: Error) => {
    cause ??= error;
  });
  try {
    try {
      await client.connect();
    } catch (error) {
      throw explain(cause ?? (error as Error), options);
    }
    try {
      await client.info('server');
      await client.set(`${queuePrefix}:meta:connection-check`, '1', 'PX', 10000);
      await client.eval('return 1', 0);
      await client.publish(`${queuePrefix}:connection-check`, '');
    } catch (error) {
      throw explain(error as Error, options);
    }
  } finally {
    client.disconnect();
  }
}
