// dashboard-events.controller.ts: GET /dashboard/events, a server-sent-events stream of the
// caller's batches and of the fleet. The page reads it with fetch (so the API key travels in the
// Authorization header, never in a URL); an event is sent only when its content changed.
import { Controller, Get, Logger, Req, Res, type BeforeApplicationShutdown } from '@nestjs/common';
import type { Request, Response } from 'express';
import { CoordinatorServices } from './coordinator-services';

/** How often the stream looks for changes. */
const POLL_INTERVAL_MS = 500;
/** A comment line this often keeps proxies from closing an idle stream. */
const KEEPALIVE_MS = 15000;
/** Batches shown: the tenant's most recent ones. */
const BATCHES_SHOWN = 100;

@Controller('dashboard')
export class DashboardEventsController implements BeforeApplicationShutdown {
  private readonly logger = new Logger('dashboard');
  /** Open streams: ended at shutdown, since the HTTP server waits for every connection to end. */
  private readonly open = new Set<() => void>();

  constructor(private readonly services: CoordinatorServices) {}

  @Get('events')
  events(@Req() request: Request, @Res() response: Response): void {
    const tenant = this.services.authenticate(request);
    response.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    const lastSent = new Map<string, string>();
    let closed = false;
    const send = (event: string, value: unknown) => {
      if (closed) return;
      const data = JSON.stringify(value);
      if (lastSent.get(event) === data) return;
      lastSent.set(event, data);
      response.write(`event: ${event}\ndata: ${data}\n\n`);
    };
    let busy = false;
    const poll = async () => {
      if (busy) return;
      busy = true;
      try {
        const batches = await this.services.batches.list(tenant, { limit: BATCHES_SHOWN });
        send('batches', batches.data);
        send('workers', this.services.fleet.live());
        lastSent.delete('problem');
      } catch (error) {
        this.logger.warn(`dashboard events for ${tenant}: ${(error as Error).message}`);
        send('problem', { message: 'The coordinator could not read the batches; retrying' });
      } finally {
        busy = false;
      }
    };
    void poll();
    const pollTimer = setInterval(() => void poll(), POLL_INTERVAL_MS);
    const keepaliveTimer = setInterval(() => !closed && response.write(': keepalive\n\n'), KEEPALIVE_MS);
    const close = () => {
      if (closed) return;
      closed = true;
      clearInterval(pollTimer);
      clearInterval(keepaliveTimer);
      this.open.delete(close);
      response.end();
    };
    this.open.add(close);
    request.on('close', close);
  }

  beforeApplicationShutdown(): void {
    for (const close of [...this.open]) close();
  }
}
