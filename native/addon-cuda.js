'use strict';
// addon-cuda.js: what binding.gyp adds to link the CUDA backend into the addon, read from the
// addon-cuda.json that the engine's CMake build writes and build-addon.js names in
// HEADKV_ADDON_CUDA. Prints nothing when that variable is unset (a CPU-only addon).
//   node addon-cuda.js defines|libraries
const fs = require('node:fs');

const what = process.argv[2];
const linkFile = process.env.HEADKV_ADDON_CUDA;
if (linkFile) {
  const link = JSON.parse(fs.readFileSync(linkFile, 'utf8'));
  if (what === 'defines') process.stdout.write('HEADKV_WITH_CUDA=1\n');
  else if (what === 'libraries') process.stdout.write([link.archive, link.cudart, '-ldl', '-lrt', '-lpthread'].join('\n') + '\n');
  else throw new Error(`addon-cuda.js: unknown request '${what}' (defines or libraries)`);
}
