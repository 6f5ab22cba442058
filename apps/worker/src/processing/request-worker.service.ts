import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { DelayedError, UnrecoverableError, Worker, type Job } from 'bullmq';
import Redis from 'ioredis';
import { context, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import {
  DEFAULT_MAX_TOKENS,
  Engine,
  EngineError,
  type ChatMessage,
  type GeneratedToken,
  type GenerateResult,
  type KvOptions,
} from '@headkv/engine';
import type { ChatCompletionRequest } from '@headkv/api';
import {
  REQUESTS_QUEUE,
  cancelChannel,
  metadataKeys,
  redisOptionsFromUrl,
  streamChannel,
  type CancelMessage,
  type RequestJobData,
  type RequestJobResult,
  type StreamMessage,
} from '@headkv/queue';
import { contextFromCarrier, tracer } from '@headkv/telemetry';
import { WORKER_CONFIG, type WorkerConfig } from '../config/worker-config';
import { chatCompletionOf } from './chat-response';
import { MapReduce, MapReduceTooLongError, type StepOptions } from './map-reduce';
import { failRequest } from './request-failure';
import { rejectRequest } from './request-rejection';
import { RunningJobs } from './running-jobs';
import { ProfileResolver } from '../profiles/profile-resolver.service';

const PROGRESS_EVERY_TOKENS = 16;

/** The engine's chat template takes role and content only. */
function engineMessagesOf(request: ChatCompletionRequest): ChatMessage[] {
  return request.messages.map((message) => ({ role: message.role, content: message.content }));
}

/**
 * Consumes the REQUESTS queue with as many concurrent jobs as the engine has sequence slots, so
 * that every running job is one sequence of the engine's continuous batch. The engine never
 * blocks the event loop, so BullMQ keeps renewing the locks of long generations; a worker that
 * dies stops renewing, and its jobs return to the queue for another worker.
 */
@Injectable()
export class RequestWorker
  implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown
{
  private readonly logger = new Logger('request-worker');
  private readonly running = new RunningJobs();
  private readonly redis: Redis;
  private readonly subscriber: Redis;
  private worker: Worker<RequestJobData, RequestJobResult> | null = null;

  constructor(
    private readonly engine: Engine,
    private readonly profiles: ProfileResolver,
    @Inject(WORKER_CONFIG) private readonly config: WorkerConfig,
  ) {
    this.redis = new Redis(redisOptionsFromUrl(config.redisUrl));
    this.subscriber = new Redis(redisOptionsFromUrl(config.redisUrl));
  }

  get runningJobs(): number {
    return this.running.size;
  }

  async onApplicationBootstrap(): Promise<void> {
    this.subscriber.on('message', (_channel: string, raw: string) => {
      const message = JSON.parse(raw) as CancelMessage;
      const count = this.running.cancel(message.jobIds ?? [], message.batchId);
      if (count > 0) this.logger.log(`cancelled ${count} running job(s)`);
    });
    await this.subscriber.subscribe(cancelChannel(this.config.queuePrefix));
    this.worker = new Worker<RequestJobData, RequestJobResult>(
      REQUESTS_QUEUE,
      (job, token) => this.process(job, token),
      {
        connection: redisOptionsFromUrl(this.config.redisUrl),
        prefix: this.config.queuePrefix,
        concurrency: this.engine.freeSlots,
        lockDuration: this.config.lockDurationMs,
        stalledInterval: this.config.stalledIntervalMs,
        // BullMQ puts a stalled job back up to this many times; the next start quarantines it (run()).
        maxStalledCount: this.config.quarantineAfterCrashes,
      },
    );
    this.worker.on('error', (error) => this.logger.error(`queue connection: ${error.message}`));
    this.logger.log(
      `consuming ${REQUESTS_QUEUE} with concurrency ${this.engine.freeSlots} as ${this.config.workerId}`,
    );
  }

  /**
   * SIGTERM: stop taking jobs; let running ones finish within the drain deadline; after it, hand
   * the rest back to the queue (they restart elsewhere from the beginning), so nothing is lost.
   */
  async beforeApplicationShutdown(): Promise<void> {
    if (this.worker === null) return;
    this.logger.log(
      `draining ${this.running.size} running job(s), deadline ${this.config.drainTimeoutMs} ms`,
    );
    const closed = this.worker.close();
    const deadline = setTimeout(() => {
      this.logger.warn(`drain deadline reached: handing ${this.running.size} job(s) back to the queue`);
      this.running.handBackAll();
    }, this.config.drainTimeoutMs);
    await closed;
    clearTimeout(deadline);
    this.subscriber.disconnect();
    this.redis.disconnect();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.engine.dispose();
  }

  private publish(jobId: string, message: StreamMessage): void {
    void this.redis.publish(streamChannel(this.config.queuePrefix, jobId), JSON.stringify(message));
  }

  private async process(
    job: Job<RequestJobData, RequestJobResult>,
    token: string | undefined,
  ): Promise<RequestJobResult> {
    const parent = contextFromCarrier(job.data.trace);
    const span = tracer('headkv-worker').startSpan(
      'worker.process',
      {
        attributes: {
          'headkv.job_id': job.id ?? '',
          'headkv.model': job.data.request.model,
          'headkv.attempt': job.attemptsMade + 1,
        },
      },
      parent,
    );
    try {
      return await context.with(trace.setSpan(parent, span), () => this.run(job, token, span));
    } catch (error) {
      if (!(error instanceof DelayedError)) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
      }
      throw error;
    } finally {
      span.end();
    }
  }

  private async run(
    job: Job<RequestJobData, RequestJobResult>,
    token: string | undefined,
    span: Span,
  ): Promise<RequestJobResult> {
    const { request, batch } = job.data;
    const jobId = job.id as string;
    if (
      batch &&
      (await this.redis.exists(metadataKeys.batchCancelled(this.config.queuePrefix, batch.batchId)))
    ) {
      throw new UnrecoverableError('cancelled: the batch was cancelled before this request ran');
    }
    // Each stall is a worker that stopped renewing the lock while running this job: it died.
    const crashes = job.stalledCounter;
    if (crashes >= this.config.quarantineAfterCrashes) {
      this.logger.warn(`${jobId}: quarantined after ${crashes} worker crashes`);
      throw failRequest(
        'quarantined',
        `The request was quarantined: ${crashes} workers died (crashed or were killed) while running it, ` +
          `the limit is ${this.config.quarantineAfterCrashes} (HEADKV_QUARANTINE_AFTER_CRASHES)`,
        false,
      );
    }
    if (request.model !== this.config.modelId) {
      throw rejectRequest(
        404,
        `The model '${request.model}' does not exist (this fleet serves '${this.config.modelId}')`,
        'model',
        'model_not_found',
      );
    }
    const messages = engineMessagesOf(request);
    const mapReduce = this.mapReduceIfTooLong(request, messages);
    const kv = await this.kvOptionsOf(request);
    const running = this.running.start(jobId, batch?.batchId);
    let generated = 0;
    let result: GenerateResult;
    const options: StepOptions = {
      temperature: request.temperature,
      topP: request.top_p,
      topK: request.top_k,
      seed: request.seed,
      stop: request.stop,
      kv: kv.options,
      signal: running.controller.signal,
    };
    const onToken = (generatedToken: GeneratedToken) => {
      if (generatedToken.id >= 0) generated++;
      if (job.data.stream && generatedToken.text.length > 0)
        this.publish(jobId, { kind: 'token', text: generatedToken.text });
      if (generated % PROGRESS_EVERY_TOKENS === 0 && generatedToken.id >= 0)
        void job.updateProgress({ tokens: generated });
    };
    try {
      if (mapReduce === undefined) {
        result = await this.engine.generate({ ...options, messages, maxTokens: request.max_tokens, onToken });
      } else {
        const maxTokens = request.max_tokens ?? DEFAULT_MAX_TOKENS;
        const outcome = await mapReduce.run(messages, maxTokens, options, onToken);
        result = outcome.result;
        span.setAttributes({
          'headkv.map_reduce_chunks': outcome.chunks,
          'headkv.map_reduce_levels': outcome.levels,
          'headkv.map_reduce_generations': outcome.generations,
        });
        this.logger.log(
          `${jobId}: map-reduce over ${outcome.chunks} chunk(s), ${outcome.levels} level(s), ` +
            `${outcome.generations} generations`,
        );
      }
    } catch (error) {
      throw this.failureOf(error);
    } finally {
      this.running.finish(jobId);
    }
    this.recordEnginePhases(result);
    span.setAttributes({
      'headkv.prompt_tokens': result.promptTokens,
      'headkv.completion_tokens': result.tokenIds.length,
      'headkv.kv_bytes_full': result.kv.bytesFull,
      'headkv.kv_bytes_kept': result.kv.bytesKept,
      'headkv.prefill_ms': result.timings.prefillMs,
      'headkv.decode_ms': result.timings.decodeMs,
    });
    if (result.finishReason === 'cancelled') {
      if (running.reason === 'handed-back') {
        // Back to the queue without spending an attempt: another worker starts it afresh.
        await job.moveToDelayed(Date.now(), token);
        throw new DelayedError();
      }
      throw new UnrecoverableError('cancelled: the request was cancelled while it ran');
    }
    if (batch)
      await this.redis.incrby(
        metadataKeys.batchTokens(this.config.queuePrefix, batch.batchId),
        result.tokenIds.length,
      );
    if (job.data.stream) this.publish(jobId, { kind: 'done' });
    await job.updateProgress({ tokens: result.tokenIds.length });
    const body = chatCompletionOf(job.data.requestId, request, result, this.engine.info.fingerprint);
    if (kv.fallbackFrom !== undefined && body.usage.kv_compression) {
      body.usage.kv_compression.fallback_from = kv.fallbackFrom;
    }
    const startedAt = job.processedOn ?? Date.now();
    return {
      statusCode: 200,
      body,
      timing: { queuedMs: Math.max(0, startedAt - job.timestamp), runMs: Date.now() - startedAt },
    };
  }

  /**
   * Engine KV options of a request. HeadKV methods need the model's head profile; while the fleet
   * has none, the request runs with snapkv at the same budget (stated in usage) or waits for it.
   */
  private async kvOptionsOf(
    request: ChatCompletionRequest,
  ): Promise<{ options: KvOptions | undefined; fallbackFrom?: string }> {
    const kv = request.kv_compression;
    if (kv === undefined) return { options: undefined };
    const options: KvOptions = {
      method: kv.method,
      kvSize: kv.kv_size,
      beta: kv.beta,
      granularity: kv.granularity,
    };
    if (kv.method !== 'headkv-r' && kv.method !== 'headkv-r2') return { options };
    const resolution = await this.profiles.resolve(kv.method, kv.granularity ?? 'kv-head');
    if (resolution.kind === 'profile') return { options: { ...options, headScores: resolution.headScores } };
    return {
      options: { method: 'snapkv', kvSize: kv.kv_size, granularity: kv.granularity },
      fallbackFrom: kv.method,
    };
  }

  /**
   * A prompt that cannot fit the context with its completion runs as map-reduce when its last
   * message can be split (HEADKV_MAP_REDUCE on), else is refused before it takes a slot. Without
   * a tokenizer the engine itself refuses it.
   */
  private mapReduceIfTooLong(request: ChatCompletionRequest, messages: ChatMessage[]): MapReduce | undefined {
    const tokenizer = this.engine.tokenizer;
    if (tokenizer === undefined) return undefined;
    const limit =
      this.config.maxContext > 0 ? this.config.maxContext : this.engine.info.maxPositionEmbeddings;
    const promptTokens = tokenizer.encodeChat(messages).length;
    const maxTokens = request.max_tokens ?? DEFAULT_MAX_TOKENS;
    if (promptTokens + maxTokens <= limit) return undefined;
    if (this.config.mapReduce) {
      const mapReduce = new MapReduce(this.engine, tokenizer, {
        contextLimit: limit,
        summaryTokens: this.config.mapSummaryTokens,
      });
      if (mapReduce.splittable(messages, maxTokens)) return mapReduce;
    }
    const why = this.config.mapReduce
      ? "; map-reduce cannot split it either (the last message must be the user's, and the other " +
        'messages with max_tokens must leave room for a chunk and for the combine step)'
      : ' (map-reduce is off: HEADKV_MAP_REDUCE=off)';
    throw rejectRequest(
      400,
      `This model's maximum context length is ${limit} tokens; the messages have ${promptTokens} tokens and ` +
        `max_tokens asks for ${maxTokens} more${why}`,
      'messages',
      'context_length_exceeded',
    );
  }

  /** Child spans for the engine's prefill (with compression) and decode phases, from its own timings. */
  private recordEnginePhases(result: GenerateResult): void {
    const end = Date.now();
    const decodeStart = end - result.timings.decodeMs;
    const prefillStart = decodeStart - result.timings.prefillMs;
    const engineTracer = tracer('headkv-engine');
    engineTracer
      .startSpan('engine.prefill', {
        startTime: prefillStart,
        attributes: {
          'headkv.prompt_tokens': result.promptTokens,
          'headkv.kv_method': result.kv.method,
          'headkv.kv_bytes_full': result.kv.bytesFull,
          'headkv.kv_bytes_kept': result.kv.bytesKept,
        },
      })
      .end(decodeStart);
    engineTracer
      .startSpan('engine.decode', {
        startTime: decodeStart,
        attributes: { 'headkv.completion_tokens': result.tokenIds.length },
      })
      .end(end);
  }

  /**
   * Bad requests fail at once with their HTTP status; engine failures are retried by BullMQ
   * (another worker may have more memory) and end as an error line with the engine's code.
   */
  private failureOf(error: unknown): Error {
    if (error instanceof MapReduceTooLongError) {
      return rejectRequest(400, error.message, 'messages', 'context_length_exceeded');
    }
    if (error instanceof EngineError && error.code === 'HKV_REQUEST') {
      return rejectRequest(400, error.message, null, 'invalid_request');
    }
    if (error instanceof EngineError && /CONTEXT|TOO_LONG/.test(error.code)) {
      return rejectRequest(400, error.message, 'messages', 'context_length_exceeded');
    }
    if (error instanceof EngineError && error.code === 'HKV_ERR_INVALID_ARGUMENT') {
      return rejectRequest(400, `The engine rejected the request: ${error.message}`, null, 'invalid_request');
    }
    if (error instanceof EngineError && error.code === 'HKV_ERR_OUT_OF_MEMORY') {
      return failRequest('engine_out_of_memory', `The engine ran out of memory: ${error.message}`, true);
    }
    if (error instanceof EngineError) {
      return failRequest('engine_error', `The engine failed (${error.code}): ${error.message}`, true);
    }
    return error instanceof Error ? error : new Error(String(error));
  }
}
