// html.js: the htm tagged template bound to Preact, shared by every view.
import { h } from 'preact';
import htm from 'htm';

export const html = htm.bind(h);
