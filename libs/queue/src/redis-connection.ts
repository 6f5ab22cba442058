import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import type { RedisOptions } from 'ioredis';

/** Default Redis location of the embedded single-machine setup. */
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/** ioredis options of every Redis connection of the fleet, with the address always set. */
export type FleetRedisOptions = RedisOptions & { host: string; port: number };

/** The URL with its password replaced, for messages and logs. */
export function redactRedisUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:@/]*:)[^@/]*@/i, '$1***@');
}

function readPem(env: NodeJS.ProcessEnv, name: string): Buffer | undefined {
  const file = env[name];
  if (file === undefined || file === '') return undefined;
  try {
    return readFileSync(file);
  } catch (error) {
    throw new Error(
      `environment variable ${name}="${file}": cannot read the PEM file (${(error as Error).message})`,
    );
  }
}

/**
 * TLS options from HEADKV_REDIS_TLS_CA (PEM of the CA to trust instead of Node's default roots),
 * HEADKV_REDIS_TLS_CERT and HEADKV_REDIS_TLS_KEY (client certificate for servers that require one)
 * and HEADKV_REDIS_TLS_SERVERNAME (the name the server certificate must carry, when it is not the
 * URL's host). The server certificate is always verified.
 */
function tlsOptionsFromEnv(env: NodeJS.ProcessEnv): ConnectionOptions {
  const cert = readPem(env, 'HEADKV_REDIS_TLS_CERT');
  const key = readPem(env, 'HEADKV_REDIS_TLS_KEY');
  if ((cert === undefined) !== (key === undefined)) {
    throw new Error(
      'HEADKV_REDIS_TLS_CERT and HEADKV_REDIS_TLS_KEY must be set together (client certificate and its key)',
    );
  }
  const tls: ConnectionOptions = {};
  const ca = readPem(env, 'HEADKV_REDIS_TLS_CA');
  if (ca !== undefined) tls.ca = ca;
  if (cert !== undefined) tls.cert = cert;
  if (key !== undefined) tls.key = key;
  if (env.HEADKV_REDIS_TLS_SERVERNAME) tls.servername = env.HEADKV_REDIS_TLS_SERVERNAME;
  return tls;
}

const TLS_VARIABLES = [
  'HEADKV_REDIS_TLS_CA',
  'HEADKV_REDIS_TLS_CERT',
  'HEADKV_REDIS_TLS_KEY',
  'HEADKV_REDIS_TLS_SERVERNAME',
];

/**
 * The one builder of Redis connection options (coordinator, workers, profile store, queues, the
 * fleet's pub/sub transport). REDIS_URL is redis://[user[:password]@]host[:port][/db], or
 * rediss:// for TLS; REDIS_USERNAME / REDIS_PASSWORD supply the ACL user and password when the
 * URL carries none (so a secret can stay out of the URL); the HEADKV_REDIS_TLS_* variables
 * configure TLS (see tlsOptionsFromEnv). Messages never contain the password.
 */
export function redisOptionsFromUrl(url: string, env: NodeJS.ProcessEnv = process.env): FleetRedisOptions {
  const shown = redactRedisUrl(url);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`REDIS_URL "${shown}" is not a URL (expected redis://host:port[/db])`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new Error(`REDIS_URL "${shown}" must use the redis:// or rediss:// scheme`);
  }
  const db = parsed.pathname.length > 1 ? Number(parsed.pathname.slice(1)) : 0;
  if (!Number.isInteger(db) || db < 0) throw new Error(`REDIS_URL "${shown}" has an invalid database number`);
  const useTls = parsed.protocol === 'rediss:';
  const tlsVariable = TLS_VARIABLES.find((name) => env[name]);
  if (!useTls && tlsVariable !== undefined) {
    throw new Error(`${tlsVariable} is set but REDIS_URL "${shown}" uses redis://; use rediss:// for TLS`);
  }
  const username = parsed.username ? decodeURIComponent(parsed.username) : env.REDIS_USERNAME || undefined;
  const password = parsed.password ? decodeURIComponent(parsed.password) : env.REDIS_PASSWORD || undefined;
  return {
    host: parsed.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1',
    port: parsed.port ? Number(parsed.port) : 6379,
    db,
    username,
    password,
    tls: useTls ? tlsOptionsFromEnv(env) : undefined,
    // BullMQ workers block on Redis; it requires this to be null.
    maxRetriesPerRequest: null,
  };
}

/** Where a connection goes, for messages: scheme, user and address, never the password. */
export function describeRedis(options: FleetRedisOptions): string {
  const user = options.username ? `${options.username}@` : '';
  return `${options.tls ? 'rediss' : 'redis'}://${user}${options.host}:${options.port}/${options.db ?? 0}`;
}
