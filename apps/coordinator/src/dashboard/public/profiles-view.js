// profiles-view.js: a model's head-importance heatmap and, for chosen kv_size/beta, the per-head
// budget allocation with the bytes it keeps; a second profile of the same model side by side.
/* global URLSearchParams */
import { useEffect, useState } from 'preact/hooks';
import { apiJson } from './api.js';
import { formatBytes, formatCount } from './format.js';
import { Heatmap } from './heatmap.js';
import { html } from './html.js';

const DEFAULT_SETTINGS = { kvSize: 128, beta: 1.2, headDim: 128, elementBytes: 2 };

function profilePath(summary) {
  return `/v1/profiles/${summary.model.fingerprint}/${summary.method}/${summary.granularity}`;
}

function labelOf(summary, servedBy) {
  const model =
    servedBy.get(summary.model.fingerprint) ??
    `${summary.model.architecture} ${summary.model.fingerprint.slice(0, 12)}`;
  return `${model}: ${summary.method}, ${summary.granularity}`;
}

function ProfilePanel({ apiKey, summary, settings, label, panelId }) {
  const [profile, setProfile] = useState(null);
  const [allocation, setAllocation] = useState(null);
  const [error, setError] = useState('');
  useEffect(() => {
    let current = true;
    setError('');
    const query = new URLSearchParams({
      kv_size: String(settings.kvSize),
      beta: String(settings.beta),
      head_dim: String(settings.headDim),
      element_bytes: String(settings.elementBytes),
    });
    Promise.all([
      apiJson(apiKey, 'GET', profilePath(summary)),
      apiJson(
        apiKey,
        'GET',
        `/dashboard/profiles/${summary.model.fingerprint}/${summary.method}/${summary.granularity}/allocation?${query}`,
      ),
    ])
      .then(([loaded, allocated]) => {
        if (!current) return;
        setProfile(loaded);
        setAllocation(allocated);
      })
      .catch((failure) => current && setError(failure.message));
    return () => {
      current = false;
    };
  }, [apiKey, summary, settings]);
  const heads = summary.granularity === 'kv-head' ? 'KV head' : 'Head';
  return html`
    <section class="profile-panel" aria-labelledby=${`${panelId}-title`}>
      <h3 id=${`${panelId}-title`}>${label}</h3>
      ${error && html`<p role="alert" class="error">${error}</p>`}
      ${
        profile &&
        html`<${Heatmap}
          id=${`${panelId}-importance`}
          caption=${`Head importance (${profile.method}), layers x query heads`}
          values=${profile.scores}
          columnLabel="Head"
          format=${(value) => value.toFixed(4)}
        />`
      }
      ${
        allocation &&
        html`
          <${Heatmap}
            id=${`${panelId}-allocation`}
            caption=${`Selected tokens per ${heads.toLowerCase()} at kv_size ${allocation.kv_size}, beta ${allocation.beta} (plus ${allocation.window} window tokens each)`}
            values=${allocation.caps}
            columnLabel=${heads}
            format=${(value) => formatCount(value)}
          />
          <p class="totals" data-bytes-kept=${allocation.bytes_kept}>
            Kept:
            <strong>${formatBytes(allocation.bytes_kept)}</strong> (${formatCount(allocation.tokens_kept)}
            tokens) per sequence, against ${formatBytes(allocation.uniform_bytes)} with every head at kv_size.
            Floor ${allocation.floor} tokens per head, pool ${formatCount(allocation.pool)}.
          </p>
        `
      }
    </section>
  `;
}

function SettingsForm({ settings, onApply }) {
  const [draft, setDraft] = useState(settings);
  const field = (name, label, attributes) => html`
    <label>
      ${label}
      <input
        type="number"
        name=${name}
        required
        value=${draft[name]}
        ...${attributes}
        onInput=${(event) => setDraft({ ...draft, [name]: Number(event.currentTarget.value) })}
      />
    </label>
  `;
  return html`
    <form
      class="settings"
      aria-label="Allocation settings"
      onSubmit=${(event) => {
        event.preventDefault();
        onApply(draft);
      }}
    >
      ${field('kvSize', 'kv_size (tokens per head)', { min: 9, step: 1 })}
      ${field('beta', 'beta (pool factor)', { min: 1, step: 0.005 })}
      ${field('headDim', 'head dimension', { min: 1, step: 1 })}
      ${field('elementBytes', 'bytes per element', { min: 1, max: 4, step: 1 })}
      <button type="submit">Show allocation</button>
    </form>
  `;
}

export function ProfilesView({ apiKey, workers }) {
  const [profiles, setProfiles] = useState(null);
  const [error, setError] = useState('');
  const [primaryId, setPrimaryId] = useState('');
  const [compareId, setCompareId] = useState('');
  const [settings, setSettings] = useState(DEFAULT_SETTINGS);
  useEffect(() => {
    apiJson(apiKey, 'GET', '/v1/profiles')
      .then((list) => {
        setProfiles(list.data);
        if (list.data.length > 0) setPrimaryId(list.data[0].id);
      })
      .catch((failure) => setError(failure.message));
  }, [apiKey]);
  if (error) return html`<p role="alert" class="error">${error}</p>`;
  if (profiles === null) return html`<p>Loading profiles…</p>`;
  if (profiles.length === 0)
    return html`<p>No head profiles yet. Compute one with <code>POST /v1/profiles</code>.</p>`;
  const servedBy = new Map((workers ?? []).map((worker) => [worker.model.fingerprint, worker.model.id]));
  const primary = profiles.find((summary) => summary.id === primaryId) ?? profiles[0];
  const sameModel = profiles.filter(
    (summary) => summary.id !== primary.id && summary.model.fingerprint === primary.model.fingerprint,
  );
  const compared = sameModel.find((summary) => summary.id === compareId) ?? null;
  return html`
    <div class="profiles">
      <div class="pickers">
        <label>
          Profile
          <select value=${primary.id} onChange=${(event) => setPrimaryId(event.currentTarget.value)}>
            ${profiles.map((summary) => html`<option value=${summary.id}>${labelOf(summary, servedBy)}</option>`)}
          </select>
        </label>
        <label>
          Compare with
          <select value=${compared?.id ?? ''} onChange=${(event) => setCompareId(event.currentTarget.value)}>
            <option value="">(nothing)</option>
            ${sameModel.map((summary) => html`<option value=${summary.id}>${labelOf(summary, servedBy)}</option>`)}
          </select>
        </label>
      </div>
      <${SettingsForm} settings=${settings} onApply=${setSettings} />
      <div class=${compared ? 'panels two' : 'panels'}>
        <${ProfilePanel}
          apiKey=${apiKey}
          summary=${primary}
          settings=${settings}
          label=${labelOf(primary, servedBy)}
          panelId="primary"
        />
        ${
          compared &&
          html`<${ProfilePanel}
            apiKey=${apiKey}
            summary=${compared}
            settings=${settings}
            label=${labelOf(compared, servedBy)}
            panelId="compared"
          />`
        }
      </div>
    </div>
  `;
}
