// event-stream.js: reads GET /dashboard/events (server-sent events) through fetch, so the key goes
// in the Authorization header; reconnects after a dropped connection.
/* global AbortController, fetch, TextDecoderStream, setTimeout */
import { authHeaders } from './api.js';

const RECONNECT_MS = 2000;

/** Parses complete "event: x / data: y" blocks from `buffer`; returns what is left over. */
function dispatchEvents(buffer, onEvent) {
  let rest = buffer;
  for (let end = rest.indexOf('\n\n'); end >= 0; end = rest.indexOf('\n\n')) {
    const block = rest.slice(0, end);
    rest = rest.slice(end + 2);
    let name = 'message';
    const data = [];
    for (const line of block.split('\n')) {
      if (line.startsWith('event: ')) name = line.slice(7);
      else if (line.startsWith('data: ')) data.push(line.slice(6));
    }
    if (data.length > 0) onEvent(name, JSON.parse(data.join('\n')));
  }
  return rest;
}

/**
 * Streams events to onEvent(name, value); onStatus(state, message) reports 'live', 'reconnecting'
 * or 'unauthorized' (which stops). Returns a function that closes the stream.
 */
export function openEventStream(key, onEvent, onStatus) {
  const controller = new AbortController();
  const run = async () => {
    while (!controller.signal.aborted) {
      try {
        const response = await fetch('/dashboard/events', {
          headers: authHeaders(key),
          signal: controller.signal,
        });
        if (response.status === 401) {
          const body = await response.json().catch(() => null);
          onStatus('unauthorized', body?.error?.message ?? 'The API key was refused');
          return;
        }
        if (!response.ok || response.body === null) throw new Error(`HTTP ${response.status}`);
        onStatus('live', 'Live updates on');
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer = dispatchEvents(buffer + value, onEvent);
        }
      } catch (error) {
        if (controller.signal.aborted) return;
        onStatus('reconnecting', `Live updates interrupted (${error.message}); reconnecting`);
      }
      await new Promise((resolve) => setTimeout(resolve, RECONNECT_MS));
    }
  };
  void run();
  return () => controller.abort();
}
