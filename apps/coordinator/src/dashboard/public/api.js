// api.js: calls to the coordinator's API with the operator's key (kept in sessionStorage only, so
// it is gone when the tab closes).
/* global sessionStorage, fetch, URL, document, setTimeout */
const KEY_STORAGE = 'headkv.apiKey';

export function savedKey() {
  return sessionStorage.getItem(KEY_STORAGE);
}

export function saveKey(key) {
  sessionStorage.setItem(KEY_STORAGE, key);
}

export function forgetKey() {
  sessionStorage.removeItem(KEY_STORAGE);
}

export function authHeaders(key) {
  return { Authorization: `Bearer ${key}` };
}

/** The API's error message of a failed response. */
async function errorOf(response) {
  const text = await response.text();
  try {
    return new Error(JSON.parse(text).error.message);
  } catch {
    return new Error(`HTTP ${response.status}: ${text.slice(0, 200)}`);
  }
}

export async function apiJson(key, method, route, body) {
  const headers = authHeaders(key);
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(route, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw await errorOf(response);
  return response.json();
}

/** Saves a file's content: links cannot carry the Authorization header, so fetch it and hand over a blob. */
export async function downloadFile(key, fileId, filename) {
  const response = await fetch(`/v1/files/${encodeURIComponent(fileId)}/content`, {
    headers: authHeaders(key),
  });
  if (!response.ok) throw await errorOf(response);
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}
