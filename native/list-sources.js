'use strict';
// Prints the C++ sources of the headkv addon for binding.gyp, one per line, relative to native/:
// the addon's own files plus every engine file under src/. Listed at gyp time because other
// engineers add engine files; CUDA sources (.cu) are not globbed (node-gyp cannot compile them)
// and native/tests is outside src/ (test executables belong to the CMake build).
const fs = require('node:fs');
const path = require('node:path');

const root = __dirname;

function listFiles(dir, extension) {
  const found = [];
  for (const entry of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
    const relative = path.posix.join(dir, entry.name);
    if (entry.isDirectory()) found.push(...listFiles(relative, extension));
    else if (entry.isFile() && entry.name.endsWith(extension)) found.push(relative);
  }
  return found.sort();
}

const sources = [...listFiles('addon', '.cc'), ...listFiles('src', '.cpp')];
process.stdout.write(sources.join('\n') + '\n');
