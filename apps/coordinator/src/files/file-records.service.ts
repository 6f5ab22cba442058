import { Inject, Injectable } from '@nestjs/common';
import { ApiError, FILE_PURPOSES, type FileObject, type FilePurpose, type ListPage } from '@headkv/api';
import { metadataKeys } from '@headkv/queue';
import { StorageNotFoundError, type FileStorage, type StoredObjectStream } from '@headkv/storage';
import { COORDINATOR_CONFIG, type CoordinatorConfig } from '../config/coordinator-config';
import { MetadataRedis } from '../redis/metadata-redis';
import { listPage } from '../http/list-page';
import { newId, unixSeconds } from '../http/new-id';

export const FILE_STORAGE = Symbol('FILE_STORAGE');

interface StoredFile {
  tenant: string;
  file: FileObject;
}

/** File metadata in Redis, file bytes in the storage adapter; every file belongs to one tenant. */
@Injectable()
export class FileRecordsService {
  constructor(
    private readonly redis: MetadataRedis,
    @Inject(FILE_STORAGE) private readonly storage: FileStorage,
    @Inject(COORDINATOR_CONFIG) private readonly config: CoordinatorConfig,
  ) {}

  private storageKey(tenant: string, fileId: string): string {
    return `${tenant}/${fileId}`;
  }

  /** Stores a file under a given id (deterministic ids make batch finalization retry-safe). */
  async save(
    tenant: string,
    fileId: string,
    filename: string,
    purpose: FilePurpose,
    data: Buffer,
  ): Promise<FileObject> {
    await this.storage.put(this.storageKey(tenant, fileId), data);
    return this.record(tenant, fileId, filename, purpose, data.length);
  }

  /** Like `save`, with the content written to storage as `chunks` produces it (batch output files). */
  async saveStream(
    tenant: string,
    fileId: string,
    filename: string,
    purpose: FilePurpose,
    chunks: AsyncIterable<Buffer>,
  ): Promise<FileObject> {
    const bytes = await this.storage.putStream(this.storageKey(tenant, fileId), chunks);
    return this.record(tenant, fileId, filename, purpose, bytes);
  }

  /** The metadata of stored content; the file is listed only once its content is in storage. */
  private async record(
    tenant: string,
    fileId: string,
    filename: string,
    purpose: FilePurpose,
    bytes: number,
  ): Promise<FileObject> {
    const now = Date.now();
    const file: FileObject = {
      id: fileId,
      object: 'file',
      bytes,
      created_at: unixSeconds(now),
      expires_at: null,
      filename,
      purpose,
      status: 'processed',
      status_details: null,
    };
    const prefix = this.config.queuePrefix;
    await this.redis
      .multi()
      .set(metadataKeys.file(prefix, fileId), JSON.stringify({ tenant, file } satisfies StoredFile))
      .zadd(metadataKeys.tenantFiles(prefix, tenant), now, fileId)
      .exec();
    return file;
  }

  async upload(tenant: string, filename: string, purpose: unknown, data: Buffer): Promise<FileObject> {
    if (purpose !== 'batch') {
      throw ApiError.invalidRequest(
        `'purpose' must be "batch" (the only upload purpose this server supports), got ${JSON.stringify(purpose)}`,
        'purpose',
      );
    }
    if (data.length === 0) throw ApiError.invalidRequest("'file' is empty", 'file');
    return this.save(tenant, newId('file-'), filename, 'batch', data);
  }

  private async stored(fileId: string): Promise<StoredFile | null> {
    const raw = await this.redis.get(metadataKeys.file(this.config.queuePrefix, fileId));
    return raw === null ? null : (JSON.parse(raw) as StoredFile);
  }

  /** A file of another tenant is reported exactly like a missing one. */
  async get(tenant: string, fileId: string): Promise<FileObject> {
    const stored = await this.stored(fileId);
    if (stored === null || stored.tenant !== tenant)
      throw ApiError.notFound(`No such File object: ${fileId}`, 'file_id');
    return stored.file;
  }

  /** The whole content in memory: for batch input files, whose size the upload limit bounds. */
  async content(tenant: string, fileId: string): Promise<{ file: FileObject; data: Buffer }> {
    const file = await this.get(tenant, fileId);
    const data = await this.fromStorage(fileId, () => this.storage.get(this.storageKey(tenant, fileId)));
    return { file, data };
  }

  /**
   * The content opened for reading, not read: downloads of output files of any size go through
   * this. Every error a caller can still answer (unknown file, another tenant's, content missing)
   * happens here, before a byte is sent.
   */
  async contentStream(tenant: string, fileId: string): Promise<{ file: FileObject } & StoredObjectStream> {
    const file = await this.get(tenant, fileId);
    const opened = await this.fromStorage(fileId, () =>
      this.storage.getStream(this.storageKey(tenant, fileId)),
    );
    return { file, ...opened };
  }

  /** A file whose metadata exists but whose bytes do not is reported as not found. */
  private async fromStorage<T>(fileId: string, read: () => Promise<T>): Promise<T> {
    try {
      return await read();
    } catch (error) {
      if (error instanceof StorageNotFoundError) {
        throw ApiError.notFound(`The content of file ${fileId} is missing from storage`, 'file_id');
      }
      throw error;
    }
  }

  async delete(tenant: string, fileId: string): Promise<{ id: string; object: 'file'; deleted: true }> {
    await this.get(tenant, fileId);
    await this.storage.delete(this.storageKey(tenant, fileId));
    const prefix = this.config.queuePrefix;
    await this.redis
      .multi()
      .del(metadataKeys.file(prefix, fileId))
      .zrem(metadataKeys.tenantFiles(prefix, tenant), fileId)
      .exec();
    return { id: fileId, object: 'file', deleted: true };
  }

  async list(
    tenant: string,
    options: { after?: string; limit: number; order: 'asc' | 'desc'; purpose?: string },
  ): Promise<ListPage<FileObject>> {
    if (options.purpose !== undefined && !FILE_PURPOSES.includes(options.purpose as FilePurpose)) {
      throw ApiError.invalidRequest(`'purpose' must be one of ${FILE_PURPOSES.join(', ')}`, 'purpose');
    }
    return listPage(
      this.redis,
      metadataKeys.tenantFiles(this.config.queuePrefix, tenant),
      options,
      async (id) => {
        const stored = await this.stored(id);
        return stored !== null && stored.tenant === tenant ? stored.file : null;
      },
      (file) => options.purpose === undefined || file.purpose === options.purpose,
    );
  }
}
