// heatmap.js: a layers x heads matrix as a table of coloured cells (viridis), with a legend. A
// table keeps every value reachable by keyboard and screen readers, not only by colour.
import { html } from './html.js';

const VIRIDIS = [
  '#440154',
  '#482878',
  '#3e4989',
  '#31688e',
  '#26828e',
  '#1f9e89',
  '#35b779',
  '#6ece58',
  '#b5de2b',
  '#fde725',
];

function rgbOf(hex) {
  return [1, 3, 5].map((start) => parseInt(hex.slice(start, start + 2), 16));
}

/** The viridis colour of t in [0, 1]. */
export function viridis(t) {
  const position = Math.min(1, Math.max(0, t)) * (VIRIDIS.length - 1);
  const low = Math.floor(position);
  const high = Math.min(VIRIDIS.length - 1, low + 1);
  const mix = position - low;
  const [a, b] = [rgbOf(VIRIDIS[low]), rgbOf(VIRIDIS[high])];
  const channel = (i) => Math.round(a[i] + (b[i] - a[i]) * mix);
  return `rgb(${channel(0)}, ${channel(1)}, ${channel(2)})`;
}

/**
 * values[row][column]; caption names the table; format renders a value; id is used for the
 * test hook and the legend's label.
 */
export function Heatmap({ id, caption, values, format, columnLabel }) {
  const flat = values.flat();
  const min = Math.min(...flat);
  const max = Math.max(...flat);
  const scale = (value) => (max === min ? 0.5 : (value - min) / (max - min));
  return html`
    <figure class="heatmap" data-heatmap=${id}>
      <p class="heatmap-title" aria-hidden="true">${caption}</p>
      <div class="heatmap-scroll" tabindex="0" role="region" aria-label=${caption}>
        <table>
          <caption class="visually-hidden">
            ${caption}
          </caption>
          <thead>
            <tr>
              <th scope="col">Layer</th>
              ${values[0].map((_, column) => html`<th scope="col"><span class="visually-hidden">${columnLabel} </span>${column}</th>`)}
            </tr>
          </thead>
          <tbody>
            ${values.map(
              (row, layer) => html`
                <tr>
                  <th scope="row">${layer}</th>
                  ${row.map(
                    (value, column) => html`
                      <td
                        style=${{ background: viridis(scale(value)) }}
                        title=${`layer ${layer}, ${columnLabel.toLowerCase()} ${column}: ${format(value)}`}
                      >
                        <span class="visually-hidden">${format(value)}</span>
                      </td>
                    `,
                  )}
                </tr>
              `,
            )}
          </tbody>
        </table>
      </div>
      <figcaption class="legend">
        <span>${format(min)}</span>
        <span
          class="legend-bar"
          aria-hidden="true"
          style=${{ background: `linear-gradient(to right, ${VIRIDIS.join(', ')})` }}
        ></span>
        <span>${format(max)}</span>
      </figcaption>
    </figure>
  `;
}
