// batches-view.js: the tenant's batches with live progress bars, and one batch's detail (cancel,
// output and error files).
import { useState } from 'preact/hooks';
import { apiJson, downloadFile } from './api.js';
import { formatCount, formatTime } from './format.js';
import { html } from './html.js';

const CANCELLABLE = new Set(['validating', 'in_progress']);

export function ProgressBar({ batch }) {
  const { total, completed, failed } = batch.request_counts;
  const finished = completed + failed;
  const percent = total === 0 ? 0 : Math.round((finished / total) * 100);
  const share = (count) => (total === 0 ? 0 : (count / total) * 100);
  return html`
    <div class="progress-cell">
      <div
        class="progress"
        role="progressbar"
        aria-label=${`Progress of ${batch.id}`}
        aria-valuemin="0"
        aria-valuemax=${total}
        aria-valuenow=${finished}
        aria-valuetext=${`${completed} of ${total} done, ${failed} failed`}
        data-percent=${percent}
      >
        <div class="progress-done" style=${{ width: `${share(completed)}%` }}></div>
        <div class="progress-failed" style=${{ width: `${share(failed)}%` }}></div>
      </div>
      <span class="progress-text"
        >${completed}/${total} done${failed > 0 ? `, ${failed} failed` : ''} (${percent}%)</span
      >
    </div>
  `;
}

function BatchDetail({ apiKey, batch }) {
  const [message, setMessage] = useState('');
  const act = async (label, action) => {
    setMessage(`${label}…`);
    try {
      await action();
      setMessage(`${label}: done`);
    } catch (error) {
      setMessage(`${label} failed: ${error.message}`);
    }
  };
  const cancel = () => act('Cancelling', () => apiJson(apiKey, 'POST', `/v1/batches/${batch.id}/cancel`));
  const download = (fileId, kind) =>
    act(`Downloading the ${kind} file`, () => downloadFile(apiKey, fileId, `${batch.id}_${kind}.jsonl`));
  const rows = [
    ['Status', batch.status],
    ['Endpoint', batch.endpoint],
    ['Input file', batch.input_file_id],
    ['Created', formatTime(batch.created_at)],
    ['Started', formatTime(batch.in_progress_at)],
    ['Completed', formatTime(batch.completed_at)],
    ['Tokens generated', formatCount(batch.completion_tokens_generated)],
  ];
  return html`
    <section class="detail" aria-labelledby="batch-detail-title">
      <h3 id="batch-detail-title">Batch ${batch.id}</h3>
      <${ProgressBar} batch=${batch} />
      <dl>
        ${rows.map(
          ([term, value]) =>
            html`<dt>${term}</dt>
              <dd>${value}</dd>`,
        )}
      </dl>
      ${batch.metadata && html`<p>Metadata: <code>${JSON.stringify(batch.metadata)}</code></p>`}
      ${
        batch.errors &&
        html`<ul class="errors">
          ${batch.errors.data.map((error) => html`<li>${error.line === null ? '' : `line ${error.line}: `}${error.message}</li>`)}
        </ul>`
      }
      <div class="actions">
        <button type="button" class="danger" disabled=${!CANCELLABLE.has(batch.status)} onClick=${cancel}>
          Cancel batch
        </button>
        <button
          type="button"
          disabled=${batch.output_file_id === null}
          onClick=${() => download(batch.output_file_id, 'output')}
        >
          Download output file
        </button>
        <button
          type="button"
          disabled=${batch.error_file_id === null}
          onClick=${() => download(batch.error_file_id, 'errors')}
        >
          Download error file
        </button>
      </div>
      <p role="status" aria-live="polite">${message}</p>
    </section>
  `;
}

export function BatchesView({ apiKey, batches }) {
  const [selectedId, setSelectedId] = useState(null);
  if (batches === null) return html`<p>Waiting for the first update…</p>`;
  const selected = batches.find((batch) => batch.id === selectedId) ?? null;
  return html`
    <div class="batches">
      ${
        batches.length === 0
          ? html`<p>No batches yet. Submit one with <code>headkv batch submit</code> or the Batches API.</p>`
          : html`
              <table class="list">
                <caption>
                  Your batches, most recent first
                </caption>
                <thead>
                  <tr>
                    <th scope="col">Batch</th>
                    <th scope="col">Status</th>
                    <th scope="col">Progress</th>
                    <th scope="col">Tokens generated</th>
                    <th scope="col">Created</th>
                  </tr>
                </thead>
                <tbody>
                  ${batches.map(
                    (batch) => html`
                      <tr data-batch-id=${batch.id} class=${batch.id === selectedId ? 'selected' : ''}>
                        <th scope="row">
                          <button
                            type="button"
                            class="link"
                            aria-pressed=${batch.id === selectedId}
                            onClick=${() => setSelectedId(batch.id)}
                          >
                            ${batch.id}
                          </button>
                        </th>
                        <td><span class=${`status status-${batch.status}`}>${batch.status}</span></td>
                        <td><${ProgressBar} batch=${batch} /></td>
                        <td>${formatCount(batch.completion_tokens_generated)}</td>
                        <td>${formatTime(batch.created_at)}</td>
                      </tr>
                    `,
                  )}
                </tbody>
              </table>
            `
      }
      ${selected && html`<${BatchDetail} apiKey=${apiKey} batch=${selected} />`}
    </div>
  `;
}
