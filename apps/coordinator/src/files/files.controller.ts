import {
  Body,
  Controller,
  Delete,
  Get,
  Headers,
  HttpCode,
  Logger,
  Param,
  Post,
  Query,
  Res,
  UploadedFile,
  UseGuards,
  UseInterceptors,
} from '@nestjs/common';
import { FileInterceptor } from '@nestjs/platform-express';
import type { Response } from 'express';
import { ApiError, type FileObject } from '@headkv/api';
import { ApiKeyGuard } from '../auth/api-key.guard';
import { CurrentTenant } from '../auth/tenant.decorator';
import { IdempotencyService } from '../idempotency/idempotency.service';
import { parseLimit, parseOrder } from '../http/list-page';
import { FileRecordsService } from './file-records.service';
import { sendStream } from './send-stream';

/** OpenAI Files API: /v1/files. */
@Controller('v1/files')
@UseGuards(ApiKeyGuard)
export class FilesController {
  private readonly logger = new Logger('files');

  constructor(
    private readonly files: FileRecordsService,
    private readonly idempotency: IdempotencyService,
  ) {}

  @Post()
  @HttpCode(200)
  @UseInterceptors(FileInterceptor('file'))
  upload(
    @CurrentTenant() tenant: string,
    @UploadedFile() file: { originalname: string; buffer: Buffer } | undefined,
    @Body() body: Record<string, unknown>,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
  ): Promise<FileObject> {
    if (!file) throw ApiError.invalidRequest("multipart field 'file' is required", 'file');
    return this.idempotency.run(
      tenant,
      'files',
      idempotencyKey,
      async () => {
        const created = await this.files.upload(tenant, file.originalname, body?.purpose, file.buffer);
        return { id: created.id, value: created };
      },
      (id) => this.files.get(tenant, id),
    );
  }

  @Get()
  list(
    @CurrentTenant() tenant: string,
    @Query('after') after?: string,
    @Query('limit') limit?: string,
    @Query('order') order?: string,
    @Query('purpose') purpose?: string,
  ) {
    return this.files.list(tenant, { after, limit: parseLimit(limit), order: parseOrder(order), purpose });
  }

  @Get(':id')
  get(@CurrentTenant() tenant: string, @Param('id') id: string): Promise<FileObject> {
    return this.files.get(tenant, id);
  }

  @Get(':id/content')
  async content(
    @CurrentTenant() tenant: string,
    @Param('id') id: string,
    @Res() response: Response,
  ): Promise<void> {
    const { file, bytes, stream } = await this.files.contentStream(tenant, id);
    try {
      response.setHeader('Content-Type', 'application/octet-stream');
      response.setHeader('Content-Length', bytes);
      response.setHeader('Content-Disposition', `attachment; filename="${file.filename.replace(/"/g, '')}"`);
      await sendStream(stream, response);
    } catch (error) {
      // Whatever failed, the opened file (or S3 connection) must not outlive the request.
      stream.destroy();
      if (!response.headersSent) {
        // Nothing sent yet: the error filter answers with an OpenAI-style error body instead.
        response.removeHeader('Content-Type');
        response.removeHeader('Content-Length');
        response.removeHeader('Content-Disposition');
        throw error;
      }
      this.logger.error(
        `download of file ${id} cut after the headers: storage failed: ${(error as Error).message}`,
      );
    }
  }

  @Delete(':id')
  delete(@CurrentTenant() tenant: string, @Param('id') id: string) {
    return this.files.delete(tenant, id);
  }
}
