// format.js: numbers, sizes and times as the dashboard shows them.
const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function formatBytes(bytes) {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${BYTE_UNITS[unit]}`;
}

export function formatCount(value) {
  return value.toLocaleString('en-US');
}

/** Unix seconds as a local date and time. */
export function formatTime(unixSeconds) {
  return unixSeconds === null || unixSeconds === undefined
    ? '—'
    : new Date(unixSeconds * 1000).toLocaleString();
}

export function formatAgo(milliseconds) {
  const seconds = Math.max(0, milliseconds / 1000);
  return seconds < 60 ? `${seconds.toFixed(1)} s ago` : `${Math.round(seconds / 60)} min ago`;
}
