'use strict';
// build-addon.js: builds the Node addon (`npm run build:native`). node-gyp cannot compile CUDA,
// so where nvcc is found (and HEADKV_CUDA is not OFF) the CUDA backend is first compiled by the
// engine's CMake build into an archive, and binding.gyp links it (see addon-cuda.js); elsewhere
// the addon is CPU-only and a CUDA model load fails with an error saying so.
//   HEADKV_CUDA=ON|OFF|AUTO (default AUTO; ON fails the build when nvcc is missing)
//   HEADKV_NATIVE_ARCH=OFF  portable code instead of -march=native (a build carried to another machine)
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const NATIVE = __dirname;
const CMAKE_BUILD_DIR = path.join(NATIVE, 'build-cmake');
const CUDA_LINK_FILE = path.join(CMAKE_BUILD_DIR, 'addon-cuda.json');

function run(command, args, env = process.env) {
  process.stdout.write(`build-addon: ${[command, ...args].join(' ')}\n`);
  const result = spawnSync(command, args, { cwd: path.dirname(NATIVE), stdio: 'inherit', env });
  if (result.error) throw new Error(`build-addon: cannot run ${command}: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`build-addon: ${command} exited with ${result.status}`);
}

function hasCommand(command) {
  return spawnSync(command, ['--version'], { stdio: 'ignore' }).status === 0;
}

// Returns the path of addon-cuda.json when the CUDA archive was built, else null.
function buildCudaArchive(mode) {
  if (mode === 'OFF') return null;
  if (!hasCommand('cmake')) {
    if (mode === 'ON') throw new Error('build-addon: HEADKV_CUDA=ON needs cmake to compile the CUDA backend');
    process.stdout.write('build-addon: no cmake found; building the CPU-only addon\n');
    return null;
  }
  // A link file left by an earlier configure must not outlive a machine that lost nvcc.
  fs.rmSync(CUDA_LINK_FILE, { force: true });
  const nativeArch = process.env.HEADKV_NATIVE_ARCH === 'OFF' ? 'OFF' : 'ON';
  run('cmake', [
    '-S',
    'native',
    '-B',
    CMAKE_BUILD_DIR,
    '-DCMAKE_BUILD_TYPE=Release',
    `-DHEADKV_CUDA=${mode}`,
    `-DHKV_NATIVE_ARCH=${nativeArch}`,
  ]);
  if (!fs.existsSync(CUDA_LINK_FILE)) return null; // AUTO without nvcc: CMake said so
  const jobs = String(Math.max(1, Math.min(require('node:os').cpus().length, 4)));
  run('cmake', ['--build', CMAKE_BUILD_DIR, '--target', 'headkv_cuda_addon', '-j', jobs]);
  return CUDA_LINK_FILE;
}

function main() {
  const mode = (process.env.HEADKV_CUDA ?? 'AUTO').toUpperCase();
  if (!['ON', 'OFF', 'AUTO'].includes(mode)) throw new Error(`build-addon: HEADKV_CUDA must be ON, OFF or AUTO, got '${mode}'`);
  const cudaLink = buildCudaArchive(mode);
  const env = { ...process.env };
  if (cudaLink) env.HEADKV_ADDON_CUDA = cudaLink;
  else delete env.HEADKV_ADDON_CUDA;
  const nodeGyp = require.resolve('node-gyp/bin/node-gyp.js');
  run(process.execPath, [nodeGyp, 'rebuild', '-C', 'native', '-j', '2'], env);
  process.stdout.write(`build-addon: built the ${cudaLink ? 'CPU + CUDA' : 'CPU-only'} addon\n`);
}

try {
  main();
} catch (err) {
  process.stderr.write(`${err.message}\n`);
  process.exit(1);
}
