import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  type CompletedPart,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Readable } from 'node:stream';
import {
  assertValidKey,
  StorageNotFoundError,
  type FileStorage,
  type StoredObjectStream,
} from './file-storage';

/**
 * Bytes gathered before `putStream` uploads them as one part of a multipart upload: S3 wants at
 * least 5 MiB per part but the last, and this is what one stream holds in memory at most.
 */
export const S3_PART_BYTES = 8 * 1024 * 1024;

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

  /**
   * A multipart upload of S3_PART_BYTES parts, completed after the last chunk (the object appears
   * whole then, or not at all: a failure aborts the upload); a stream shorter than one part is a
   * single PUT.
   */
  async putStream(key: string, chunks: AsyncIterable<Buffer>): Promise<number> {
    const target = { Bucket: this.options.bucket, Key: this.objectKey(key) };
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let bytes = 0;
    let uploadId: string | undefined;
    const parts: CompletedPart[] = [];
    const uploadPending = async (): Promise<void> => {
      uploadId ??= (await this.client.send(new CreateMultipartUploadCommand(target))).UploadId;
      const PartNumber = parts.length + 1;
      const body = Buffer.concat(pending);
      pending = [];
      pendingBytes = 0;
      const { ETag } = await this.client.send(
        new UploadPartCommand({ ...target, UploadId: uploadId, PartNumber, Body: body }),
      );
      parts.push({ ETag, PartNumber });
    };
    try {
      for await (const chunk of chunks) {
        pending.push(chunk);
        pendingBytes += chunk.length;
        bytes += chunk.length;
        if (pendingBytes >= S3_PART_BYTES) await uploadPending();
      }
      if (uploadId === undefined) {
        await this.put(key, Buffer.concat(pending));
        return bytes;
      }
      if (pendingBytes > 0) await uploadPending();
      await this.client.send(
        new CompleteMultipartUploadCommand({
          ...target,
          UploadId: uploadId,
          MultipartUpload: { Parts: parts },
        }),
      );
      return bytes;
    } catch (error) {
      // The caller needs the error that stopped the stream; an abort that fails too leaves an
      // incomplete upload, invisible to readers, for the bucket's lifecycle rule to remove.
      if (uploadId !== undefined) {
        await this.client
          .send(new AbortMultipartUploadCommand({ ...target, UploadId: uploadId }))
          .catch(() => undefined);
      }
      throw error;
    }
  }

  /** GetObject, with S3's "no such key" as StorageNotFoundError; the body is not read yet. */
  private async getObject(key: string) {
    try {
      const result = await this.client.send(
        new GetObjectCommand({ Bucket: this.options.bucket, Key: this.objectKey(key) }),
      );
      if (!result.Body) throw new StorageNotFoundError(key);
      return { ...result, Body: result.Body };
    } catch (error) {
      if (error instanceof NoSuchKey || (error as { name?: string }).name === 'NoSuchKey')
        throw new StorageNotFoundError(key);
      throw error;
    }
  }

  async get(key: string): Promise<Buffer> {
    const { Body } = await this.getObject(key);
    return Buffer.from(await Body.transformToByteArray());
  }

  /**
   * The GetObject response body as it arrives from the object store (in Node it is the HTTP
   * response itself: destroying it closes that connection).
   */
  async getStream(key: string): Promise<StoredObjectStream> {
    const { Body, ContentLength } = await this.getObject(key);
    if (!(Body instanceof Readable) || ContentLength === undefined) {
      // Only a misbehaving S3-compatible server or a non-Node runtime gets here; the body must not leak.
      (Body as { destroy?: () => void }).destroy?.();
      throw new Error(
        `S3 GetObject of "${this.objectKey(key)}" returned no readable stream with a Content-Length`,
      );
    }
    return { bytes: ContentLength, stream: Body };
  }

  async delete(key: string): Promise<void> {
    await this.client.send(
      new DeleteObjectCommand({ Bucket: this.options.bucket, Key: this.objectKey(key) }),
    );
  }
}
