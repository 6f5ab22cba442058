import {
  DeleteObjectCommand,
  GetObjectCommand,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { assertValidKey, StorageNotFoundError, type FileStorage } from './file-storage';

export interface S3StorageOptions {
  bucket: string;
  /** Key prefix inside the bucket, without trailing slash; empty for the bucket root. */
  prefix: string;
  /** S3 client settings: region, endpoint (MinIO, R2, ...), forcePathStyle, credentials. */
  client: S3ClientConfig;
}

/** Files in an S3-compatible object store: the production option. */
export class S3Storage implements FileStorage {
  readonly description: string;
  private readonly client: S3Client;

  constructor(private readonly options: S3StorageOptions) {
    this.client = new S3Client(options.client);
    const endpoint = typeof options.client.endpoint === 'string' ? ` at ${options.client.endpoint}` : '';
    this.description = `S3 bucket ${options.bucket}${options.prefix ? `/${options.prefix}` : ''}${endpoint}`;
  }

  /** The object key a storage key maps to. */
  objectKey(key: string): string {
    assertValidKey(key);
    return this.options.prefix ? `${this.options.prefix}/${key}` : key;
  }

  async put(key: string, data: Buffer): Promise<void> {
    await this.client.send(
      new PutObjectCommand({ Bucket: this.options.bucket, Key: this.objectKey(key), Body: data }),
    );
  }

  async get(key: string): Promise<Buffer> {
    try {
      const result = await this.client.send(
        new GetObjectCommand({ Bucket: this.options.bucket, Key: this.objectKey(key) }),
      );
      if (!result.Body) throw new StorageNotFoundError(key);
      return Buffer.from(await result.Body.transformToByteArray());
    } catch (error) {
      if (error instanceof NoSuchKey || (error as { name?: string }).name === 'NoSuchKey')
        throw new StorageNotFoundError(key);
      throw error;
    }
  }

  async delete(key: string): Promise<void> {
    await this.client.send(
      new DeleteObjectCommand({ Bucket: this.options.bucket, Key: this.objectKey(key) }),
    );
  }
}
