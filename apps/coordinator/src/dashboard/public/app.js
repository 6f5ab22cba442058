// app.js: the dashboard shell: asks for the API key, holds the live event stream and switches
// between the batches, fleet and profiles views.
/* global document */
import { render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { forgetKey, saveKey, savedKey } from './api.js';
import { BatchesView } from './batches-view.js';
import { openEventStream } from './event-stream.js';
import { FleetView, tokenRates } from './fleet-view.js';
import { html } from './html.js';
import { ProfilesView } from './profiles-view.js';

const TABS = [
  { id: 'batches', label: 'Batches' },
  { id: 'fleet', label: 'Fleet' },
  { id: 'profiles', label: 'Profiles' },
];

function KeyForm({ onKey, problem }) {
  const [key, setKey] = useState('');
  return html`
    <main class="sign-in">
      <h1>HeadKV Fleet dashboard</h1>
      <form
        onSubmit=${(event) => {
          event.preventDefault();
          if (key.trim() !== '') onKey(key.trim());
        }}
      >
        <label for="api-key">API key</label>
        <input
          id="api-key"
          type="password"
          autocomplete="off"
          required
          value=${key}
          onInput=${(event) => setKey(event.currentTarget.value)}
        />
        <button type="submit">Open the dashboard</button>
        <p class="hint">The key is kept in this tab only (sessionStorage) and sent as a Bearer header.</p>
        ${problem && html`<p role="alert" class="error">${problem}</p>`}
      </form>
    </main>
  `;
}

function Tabs({ active, onSelect }) {
  const move = (event, index) => {
    const step = event.key === 'ArrowRight' ? 1 : event.key === 'ArrowLeft' ? -1 : 0;
    if (step === 0) return;
    event.preventDefault();
    const next = TABS[(index + step + TABS.length) % TABS.length];
    onSelect(next.id);
    document.getElementById(`tab-${next.id}`)?.focus();
  };
  return html`
    <div role="tablist" aria-label="Dashboard sections">
      ${TABS.map(
        (tab, index) => html`
          <button
            type="button"
            role="tab"
            id=${`tab-${tab.id}`}
            aria-selected=${active === tab.id}
            aria-controls=${`panel-${tab.id}`}
            tabindex=${active === tab.id ? 0 : -1}
            onClick=${() => onSelect(tab.id)}
            onKeyDown=${(event) => move(event, index)}
          >
            ${tab.label}
          </button>
        `,
      )}
    </div>
  `;
}

function Dashboard({ apiKey, onSignOut }) {
  const [tab, setTab] = useState('batches');
  const [batches, setBatches] = useState(null);
  const [workers, setWorkers] = useState(null);
  const [rates, setRates] = useState(new Map());
  const [stream, setStream] = useState({ state: 'connecting', message: 'Connecting…' });
  const previousWorkers = useRef([]);
  useEffect(
    () =>
      openEventStream(
        apiKey,
        (name, value) => {
          if (name === 'batches') {
            setBatches(value);
            setStream((current) =>
              current.state === 'problem' ? { state: 'live', message: 'Live updates on' } : current,
            );
          } else if (name === 'workers') {
            setRates((known) => new Map([...known, ...tokenRates(previousWorkers.current, value)]));
            previousWorkers.current = value;
            setWorkers(value);
          } else if (name === 'problem') setStream({ state: 'problem', message: value.message });
        },
        (state, message) => {
          if (state === 'unauthorized') onSignOut(message);
          else setStream({ state, message });
        },
      ),
    [apiKey],
  );
  const panel = {
    batches: html`<${BatchesView} apiKey=${apiKey} batches=${batches} />`,
    fleet: html`<${FleetView} workers=${workers} rates=${rates} now=${Date.now()} />`,
    profiles: html`<${ProfilesView} apiKey=${apiKey} workers=${workers} />`,
  }[tab];
  return html`
    <header>
      <h1>HeadKV Fleet</h1>
      <p class=${`stream stream-${stream.state}`} role="status" aria-live="polite">${stream.message}</p>
      <button type="button" onClick=${() => onSignOut('')}>Forget the key</button>
    </header>
    <${Tabs} active=${tab} onSelect=${setTab} />
    <main id=${`panel-${tab}`} role="tabpanel" aria-labelledby=${`tab-${tab}`} tabindex="0">${panel}</main>
  `;
}

function App() {
  const [apiKey, setApiKey] = useState(savedKey());
  const [problem, setProblem] = useState('');
  if (apiKey === null) {
    return html`<${KeyForm}
      problem=${problem}
      onKey=${(key) => {
        saveKey(key);
        setProblem('');
        setApiKey(key);
      }}
    />`;
  }
  return html`<${Dashboard}
    apiKey=${apiKey}
    onSignOut=${(message) => {
      forgetKey();
      setProblem(message);
      setApiKey(null);
    }}
  />`;
}

const root = document.getElementById('app');
// Preact would keep the static "Loading" text beside what it renders.
root.replaceChildren();
render(html`<${App} />`, root);
