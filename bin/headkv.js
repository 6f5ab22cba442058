#!/usr/bin/env node
'use strict';
// The `headkv` command: runs the compiled CLI in dist/, or says how to build it.
const fs = require('node:fs');
const path = require('node:path');

const main = path.join(__dirname, '..', 'dist', 'apps', 'cli', 'src', 'main.js');
if (!fs.existsSync(main)) {
  process.stderr.write('headkv: not built yet (dist/apps/cli/src/main.js is missing): run npm run build\n');
  process.exit(1);
}
require(main);
