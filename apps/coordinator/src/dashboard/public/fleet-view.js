// fleet-view.js: the live workers as their heartbeats describe them.
import { formatAgo, formatBytes } from './format.js';
import { html } from './html.js';

/**
 * Tokens/s of each worker from two consecutive heartbeats' cumulative token counts; only for
 * workers whose heartbeat reports `tokensGenerated`.
 */
export function tokenRates(previous, current) {
  const rates = new Map();
  for (const worker of current) {
    const before = previous.find((candidate) => candidate.workerId === worker.workerId);
    if (typeof worker.tokensGenerated !== 'number' || !before || typeof before.tokensGenerated !== 'number')
      continue;
    const seconds = (worker.sentAt - before.sentAt) / 1000;
    if (seconds > 0) rates.set(worker.workerId, (worker.tokensGenerated - before.tokensGenerated) / seconds);
  }
  return rates;
}

const NOT_REPORTED = html`<span class="muted" title="this worker's heartbeat does not report it"
  >not reported</span
>`;

export function FleetView({ workers, rates, now }) {
  if (workers === null) return html`<p>Waiting for the first update…</p>`;
  if (workers.length === 0) return html`<p>No live workers.</p>`;
  return html`
    <table class="list">
      <caption>
        Live workers
      </caption>
      <thead>
        <tr>
          <th scope="col">Worker</th>
          <th scope="col">Device</th>
          <th scope="col">Model</th>
          <th scope="col">Free slots</th>
          <th scope="col">KV held</th>
          <th scope="col">Full-cache equivalent</th>
          <th scope="col">Tokens/s</th>
          <th scope="col">Last heartbeat</th>
        </tr>
      </thead>
      <tbody>
        ${workers.map((worker) => {
          const rate = rates.get(worker.workerId);
          return html`
            <tr data-worker-id=${worker.workerId}>
              <th scope="row">
                ${worker.workerId}
                <div class="muted">${worker.hostname} pid ${worker.pid}</div>
              </th>
              <td>
                ${worker.device.name}
                <div class="muted">${worker.device.kind}, ${formatBytes(worker.device.memoryBytes)}</div>
              </td>
              <td>
                ${worker.model.id}
                <div class="muted">
                  ${worker.model.nLayers} layers x ${worker.model.nHeads} heads (${worker.model.nKvHeads} KV)
                </div>
              </td>
              <td>${worker.slots.free} of ${worker.slots.total}</td>
              <td>${formatBytes(worker.kvBytesHeld)}</td>
              <td>
                ${typeof worker.kvBytesFull === 'number' ? formatBytes(worker.kvBytesFull) : NOT_REPORTED}
              </td>
              <td>${rate === undefined ? NOT_REPORTED : rate.toFixed(1)}</td>
              <td>${formatAgo(now - worker.sentAt)}</td>
            </tr>
          `;
        })}
      </tbody>
    </table>
  `;
}
