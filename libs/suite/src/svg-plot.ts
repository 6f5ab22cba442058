// svg-plot.ts: the eval's plot, written as plain SVG: accuracy against the share of the cache
// kept (log scale), one line per method over its kv sizes, the full cache as a dashed line.
import { EvalSummary } from './eval-report';

const WIDTH = 640;
const HEIGHT = 400;
const MARGIN = { left: 60, right: 150, top: 30, bottom: 50 };
const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2'];

const escape = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function evalPlotSvg(summary: EvalSummary, title: string): string {
  const points = summary.configs.filter((c) => c.kvSize !== null && c.cacheShare > 0);
  const full = summary.configs.find((c) => c.kvSize === null);
  const shares = points.map((p) => p.cacheShare);
  const minShare = shares.length > 0 ? Math.min(...shares) : 0.01;
  const maxShare = shares.length > 0 ? Math.max(...shares) : 1;
  const logMin = Math.log10(minShare) - 0.1;
  const logMax = Math.log10(maxShare) + 0.1;
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const x = (share: number): number =>
    MARGIN.left + ((Math.log10(share) - logMin) / (logMax - logMin)) * plotW;
  const y = (accuracy: number): number => MARGIN.top + (1 - accuracy / 100) * plotH;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="11">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    `<text x="${WIDTH / 2}" y="18" text-anchor="middle" font-size="13">${escape(title)}</text>`,
    `<line x1="${MARGIN.left}" y1="${MARGIN.top + plotH}" x2="${MARGIN.left + plotW}" y2="${MARGIN.top + plotH}" stroke="black"/>`,
    `<line x1="${MARGIN.left}" y1="${MARGIN.top}" x2="${MARGIN.left}" y2="${MARGIN.top + plotH}" stroke="black"/>`,
  ];
  for (let a = 0; a <= 100; a += 20) {
    parts.push(
      `<line x1="${MARGIN.left - 4}" y1="${y(a)}" x2="${MARGIN.left + plotW}" y2="${y(a)}" stroke="#ddd"/>`,
    );
    parts.push(`<text x="${MARGIN.left - 8}" y="${y(a) + 4}" text-anchor="end">${a}</text>`);
  }
  for (let e = Math.ceil(logMin * 2) / 2; e <= logMax; e += 0.5) {
    const share = 10 ** e;
    parts.push(
      `<line x1="${x(share)}" y1="${MARGIN.top + plotH}" x2="${x(share)}" y2="${MARGIN.top + plotH + 4}" stroke="black"/>`,
    );
    parts.push(
      `<text x="${x(share)}" y="${MARGIN.top + plotH + 16}" text-anchor="middle">${(100 * share).toPrecision(2)}%</text>`,
    );
  }
  parts.push(
    `<text x="${MARGIN.left + plotW / 2}" y="${HEIGHT - 12}" text-anchor="middle">share of the KV cache kept (log scale)</text>`,
  );
  parts.push(
    `<text transform="translate(16 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle">accuracy</text>`,
  );
  if (full) {
    parts.push(
      `<line x1="${MARGIN.left}" y1="${y(full.accuracy)}" x2="${MARGIN.left + plotW}" y2="${y(full.accuracy)}" stroke="black" stroke-dasharray="5 4"/>`,
    );
  }
  const methods = [...new Set(points.map((p) => p.method))];
  methods.forEach((method, i) => {
    const color = COLORS[i % COLORS.length];
    const line = points.filter((p) => p.method === method).sort((a, b) => a.cacheShare - b.cacheShare);
    parts.push(
      `<polyline fill="none" stroke="${color}" stroke-width="2" points="${line.map((p) => `${x(p.cacheShare).toFixed(1)},${y(p.accuracy).toFixed(1)}`).join(' ')}"/>`,
    );
    for (const p of line)
      parts.push(
        `<circle cx="${x(p.cacheShare).toFixed(1)}" cy="${y(p.accuracy).toFixed(1)}" r="3" fill="${color}"><title>${escape(`${method} kv_size ${p.kvSize}: ${p.accuracy.toFixed(1)}`)}</title></circle>`,
      );
    const ly = MARGIN.top + 14 + i * 16;
    parts.push(
      `<line x1="${WIDTH - MARGIN.right + 12}" y1="${ly}" x2="${WIDTH - MARGIN.right + 32}" y2="${ly}" stroke="${color}" stroke-width="2"/>`,
    );
    parts.push(`<text x="${WIDTH - MARGIN.right + 36}" y="${ly + 4}">${escape(method)}</text>`);
  });
  if (full) {
    const ly = MARGIN.top + 14 + methods.length * 16;
    parts.push(
      `<line x1="${WIDTH - MARGIN.right + 12}" y1="${ly}" x2="${WIDTH - MARGIN.right + 32}" y2="${ly}" stroke="black" stroke-dasharray="5 4"/>`,
    );
    parts.push(
      `<text x="${WIDTH - MARGIN.right + 36}" y="${ly + 4}">full (${full.accuracy.toFixed(1)})</text>`,
    );
  }
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
