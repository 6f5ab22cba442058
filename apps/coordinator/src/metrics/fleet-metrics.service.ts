import { Injectable } from '@nestjs/common';
import { InjectQueue } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { BATCHES_QUEUE, PROFILES_QUEUE, REQUESTS_QUEUE, type RequestJobResult } from '@headkv/queue';
import { FleetRegistry } from '../fleet/fleet-registry.service';

const JOB_STATES = [
  'waiting',
  'prioritized',
  'active',
  'delayed',
  'completed',
  'failed',
  'waiting-children',
  'paused',
] as const;

/**
 * Prometheus metrics of the fleet as this coordinator sees it. Queue depths and the fleet's
 * slots and KV bytes are read at scrape time; token and latency counters count the results this
 * coordinator delivered (interactive answers and finalized batch lines), so that summing them
 * over several coordinators counts each request once.
 */
@Injectable()
export class FleetMetrics {
  readonly registry = new Registry();
  private readonly completionTokens: Counter;
  private readonly promptTokens: Counter;
  private readonly kvBytesSaved: Counter;
  private readonly requests: Counter<'source' | 'outcome'>;
  private readonly latency: Histogram<'phase' | 'source'>;

  constructor(
    registry: FleetRegistry,
    @InjectQueue(REQUESTS_QUEUE) requestsQueue: Queue,
    @InjectQueue(BATCHES_QUEUE) batchesQueue: Queue,
    @InjectQueue(PROFILES_QUEUE) profilesQueue: Queue,
  ) {
    collectDefaultMetrics({ register: this.registry, prefix: 'headkv_coordinator_' });
    const queues = [requestsQueue, batchesQueue, profilesQueue];
    new Gauge({
      name: 'headkv_queue_jobs',
      help: 'Jobs per queue and state',
      labelNames: ['queue', 'state'],
      registers: [this.registry],
      async collect() {
        for (const queue of queues) {
          const counts = await queue.getJobCounts(...JOB_STATES);
          for (const state of JOB_STATES) this.set({ queue: queue.name, state }, counts[state] ?? 0);
        }
      },
    });
    new Gauge({
      name: 'headkv_workers',
      help: 'Live workers (heartbeating)',
      registers: [this.registry],
      collect() {
        this.set(registry.live().length);
      },
    });
    new Gauge({
      name: 'headkv_worker_slots',
      help: 'Engine sequence slots of the live workers, by state',
      labelNames: ['state'],
      registers: [this.registry],
      collect() {
        const live = registry.live();
        const total = live.reduce((sum, worker) => sum + worker.slots.total, 0);
        const free = live.reduce((sum, worker) => sum + worker.slots.free, 0);
        this.set({ state: 'free' }, free);
        this.set({ state: 'busy' }, total - free);
      },
    });
    new Gauge({
      name: 'headkv_kv_bytes_held',
      help: 'KV-cache bytes held by the live workers',
      registers: [this.registry],
      collect() {
        this.set(registry.live().reduce((sum, worker) => sum + worker.kvBytesHeld, 0));
      },
    });
    this.completionTokens = new Counter({
      name: 'headkv_completion_tokens_total',
      help: 'Tokens generated (rate() of it is tokens/s)',
      registers: [this.registry],
    });
    this.promptTokens = new Counter({
      name: 'headkv_prompt_tokens_total',
      help: 'Prompt tokens processed',
      registers: [this.registry],
    });
    this.kvBytesSaved = new Counter({
      name: 'headkv_kv_bytes_saved_total',
      help: 'KV-cache bytes not kept thanks to compression (full minus kept), summed over requests',
      registers: [this.registry],
    });
    this.requests = new Counter({
      name: 'headkv_requests_total',
      help: 'Requests delivered, by source (interactive, batch) and outcome',
      labelNames: ['source', 'outcome'],
      registers: [this.registry],
    });
    this.latency = new Histogram({
      name: 'headkv_job_seconds',
      help: 'Request job latency: time queued and time running on a worker',
      labelNames: ['phase', 'source'],
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 1800],
      registers: [this.registry],
    });
  }

  recordResult(source: 'interactive' | 'batch', result: RequestJobResult): void {
    const usage = result.body.usage;
    this.completionTokens.inc(usage.completion_tokens);
    this.promptTokens.inc(usage.prompt_tokens);
    if (usage.kv_compression) {
      this.kvBytesSaved.inc(
        Math.max(0, usage.kv_compression.kv_bytes_full - usage.kv_compression.kv_bytes_kept),
      );
    }
    this.requests.inc({ source, outcome: 'completed' });
    this.latency.observe({ phase: 'queued', source }, result.timing.queuedMs / 1000);
    this.latency.observe({ phase: 'running', source }, result.timing.runMs / 1000);
  }

  recordFailure(source: 'interactive' | 'batch'): void {
    this.requests.inc({ source, outcome: 'failed' });
  }
}
