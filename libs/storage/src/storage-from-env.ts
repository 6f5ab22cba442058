import * as path from 'node:path';
import type { FileStorage } from './file-storage';
import { LocalDirectoryStorage } from './local-directory-storage';
import { S3Storage } from './s3-storage';

/** Default directory of the local adapter, relative to the working directory. */
export const DEFAULT_STORAGE_DIR = path.join('.headkv', 'files');

/**
 * Chooses the adapter from the environment:
 * - HEADKV_S3_BUCKET set: S3Storage (HEADKV_S3_PREFIX, HEADKV_S3_ENDPOINT, HEADKV_S3_REGION,
 *   HEADKV_S3_FORCE_PATH_STYLE=1; credentials from the AWS SDK's usual chain);
 * - otherwise LocalDirectoryStorage in HEADKV_STORAGE_DIR (default .headkv/files).
 */
export function storageFromEnv(env: NodeJS.ProcessEnv = process.env): FileStorage {
  const bucket = env.HEADKV_S3_BUCKET;
  if (bucket) {
    return new S3Storage({
      bucket,
      prefix: (env.HEADKV_S3_PREFIX ?? '').replace(/^\/+|\/+$/g, ''),
      client: {
        region: env.HEADKV_S3_REGION ?? env.AWS_REGION ?? 'us-east-1',
        endpoint: env.HEADKV_S3_ENDPOINT || undefined,
        forcePathStyle: env.HEADKV_S3_FORCE_PATH_STYLE === '1',
      },
    });
  }
  return new LocalDirectoryStorage(path.resolve(env.HEADKV_STORAGE_DIR ?? DEFAULT_STORAGE_DIR));
}
