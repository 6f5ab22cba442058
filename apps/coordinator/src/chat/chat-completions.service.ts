import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { InjectQueue } from '@nestjs/bullmq';
import { QueueEvents, type Job, type Queue } from 'bullmq';
import type { Response } from 'express';
import {
  ApiError,
  validateChatCompletionRequest,
  type ChatCompletion,
  type ChatCompletionChunk,
  type ChatCompletionRequest,
} from '@headkv/api';
import {
  INTERACTIVE_PRIORITY,
  REQUESTS_QUEUE,
  redisOptionsFromUrl,
  type RequestJobData,
  type RequestJobResult,
  type RequestFailure,
  type RequestRejection,
  type StreamMessage,
  type TraceCarrier,
} from '@headkv/queue';
import { CancelPublisher } from '../batches/cancel-publisher.service';
import { COORDINATOR_CONFIG, type CoordinatorConfig } from '../config/coordinator-config';
import { FleetRegistry } from '../fleet/fleet-registry.service';
import { newId, unixSeconds } from '../http/new-id';
import { StreamSubscriber } from './stream-subscriber.service';
import { FleetMetrics } from '../metrics/fleet-metrics.service';

function rejectionOf(failedReason: string): ApiError {
  try {
    const parsed = JSON.parse(failedReason) as Partial<RequestRejection & RequestFailure>;
    if (typeof parsed.statusCode === 'number' && parsed.error) {
      const { message, type, param, code } = parsed.error;
      return new ApiError(parsed.statusCode, message, type, param, code);
    }
    // A server-side failure the worker named (engine out of memory, quarantined): keep its code.
    if (typeof parsed.code === 'string' && typeof parsed.message === 'string') {
      return new ApiError(500, parsed.message, 'server_error', null, parsed.code);
    }
  } catch {
    // Not a rejection: an infrastructure failure, reported as a server error below.
  }
  return ApiError.internal(`The request failed: ${failedReason}`);
}

/** /v1/chat/completions through the queue, ahead of batch lines, with or without SSE streaming. */
@Injectable()
export class ChatCompletionsService implements OnModuleDestroy {
  private readonly logger = new Logger('chat');
  private readonly events: QueueEvents;

  constructor(
    @InjectQueue(REQUESTS_QUEUE) private readonly queue: Queue<RequestJobData, RequestJobResult>,
    private readonly registry: FleetRegistry,
    private readonly streams: StreamSubscriber,
    private readonly cancels: CancelPublisher,
    private readonly metrics: FleetMetrics,
    @Inject(COORDINATOR_CONFIG) private readonly config: CoordinatorConfig,
  ) {
    this.events = new QueueEvents(REQUESTS_QUEUE, {
      connection: redisOptionsFromUrl(config.redisUrl),
      prefix: config.queuePrefix,
    });
  }

  async onModuleDestroy(): Promise<void> {
    await this.events.close();
  }

  validate(body: unknown): ChatCompletionRequest {
    const request = validateChatCompletionRequest(body);
    if (this.registry.isUnknownModel(request.model)) {
      throw new ApiError(
        404,
        `The model '${request.model}' does not exist`,
        'invalid_request_error',
        'model',
        'model_not_found',
      );
    }
    return request;
  }

  private enqueue(tenant: string, requestId: string, request: ChatCompletionRequest, trace: TraceCarrier) {
    return this.queue.add(
      'chat',
      { tenant, requestId, request, stream: request.stream, trace },
      {
        jobId: requestId,
        priority: INTERACTIVE_PRIORITY,
        // A retried stream would repeat tokens the client already has; non-streaming requests retry.
        attempts: request.stream ? 1 : this.config.attempts,
        backoff: { type: 'exponential', delay: this.config.retryBackoffMs },
        removeOnComplete: { age: 3600 },
        removeOnFail: { age: 3600 },
      },
    );
  }

  /** Stops the job when the client goes away before it finished. */
  private async abandon(job: Job<RequestJobData, RequestJobResult>): Promise<void> {
    const state = await job.getState();
    if (state === 'waiting' || state === 'prioritized' || state === 'delayed') {
      await job.remove().catch(() => this.cancels.publish({ jobIds: [job.id as string] }));
    } else if (state === 'active') {
      await this.cancels.publish({ jobIds: [job.id as string] });
    }
  }

  private async result(job: Job<RequestJobData, RequestJobResult>): Promise<RequestJobResult> {
    try {
      const result = await job.waitUntilFinished(this.events, this.config.chatTimeoutMs);
      this.metrics.recordResult('interactive', result);
      return result;
    } catch (error) {
      this.metrics.recordFailure('interactive');
      const message = (error as Error).message;
      if (/timed out/i.test(message)) {
        await this.abandon(job);
        throw new ApiError(
          504,
          `No worker finished the request within ${this.config.chatTimeoutMs} ms`,
          'server_error',
          null,
          'timeout',
        );
      }
      throw rejectionOf(message);
    }
  }

  async complete(
    tenant: string,
    request: ChatCompletionRequest,
    trace: TraceCarrier,
    http: Response,
  ): Promise<ChatCompletion> {
    const job = await this.enqueue(tenant, newId('chatcmpl-'), request, trace);
    let finished = false;
    // The response closing before we answered means the client went away.
    http.on('close', () => {
      if (!finished) void this.abandon(job);
    });
    try {
      return (await this.result(job)).body;
    } finally {
      finished = true;
    }
  }

  /** Server-sent events in the OpenAI chunk format, ending with `data: [DONE]`. */
  async stream(
    tenant: string,
    request: ChatCompletionRequest,
    trace: TraceCarrier,
    response: Response,
  ): Promise<void> {
    const requestId = newId('chatcmpl-');
    const created = unixSeconds();
    const chunk = (
      delta: ChatCompletionChunk['choices'][0]['delta'],
      finishReason: ChatCompletionChunk['choices'][0]['finish_reason'],
    ): ChatCompletionChunk => ({
      id: requestId,
      object: 'chat.completion.chunk',
      created,
      model: request.model,
      choices: [{ index: 0, delta, finish_reason: finishReason, logprobs: null }],
      system_fingerprint: null,
    });
    const send = (payload: unknown) => response.write(`data: ${JSON.stringify(payload)}\n\n`);
    let headersSent = false;
    const startStream = () => {
      if (headersSent) return;
      headersSent = true;
      response.status(200);
      response.setHeader('Content-Type', 'text/event-stream');
      response.setHeader('Cache-Control', 'no-cache');
      response.setHeader('Connection', 'keep-alive');
      response.flushHeaders();
      send(chunk({ role: 'assistant', content: '' }, null));
    };
    const unsubscribe = await this.streams.subscribe(requestId, (message: StreamMessage) => {
      if (message.kind === 'token') {
        startStream();
        send(chunk({ content: message.text }, null));
      }
    });
    let finished = false;
    try {
      const job = await this.enqueue(tenant, requestId, request, trace);
      response.on('close', () => {
        if (!finished) void this.abandon(job);
      });
      const result = await this.result(job);
      startStream();
      const choice = result.body.choices[0];
      send(chunk({}, choice.finish_reason));
      if (request.include_usage_in_stream)
        send({ ...chunk({}, null), choices: [], usage: result.body.usage });
      response.write('data: [DONE]\n\n');
      response.end();
    } catch (error) {
      if (!headersSent) throw error;
      // The status line is gone already: report the error in-band, as OpenAI does.
      const apiError = error instanceof ApiError ? error : ApiError.internal((error as Error).message);
      send(apiError.toBody());
      response.end();
      this.logger.warn(`stream ${requestId} failed after it started: ${apiError.message}`);
    } finally {
      finished = true;
      await unsubscribe();
    }
  }
}
