#!/usr/bin/env node
'use strict';
// tools/run-tests.js: the single test entry.
//   node tools/run-tests.js          native C++ tests (CMake + CTest), then every compiled
//                                    node:test file (dist/**/*.test.js)
//   node tools/run-tests.js native   only the native C++ tests
// Exits non-zero when anything fails. `npm test` builds first (npm run build), then runs this.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const NATIVE_BUILD_DIR = path.join('native', 'build-cmake');
const JOBS = String(Math.max(1, Math.min(os.cpus().length, 4)));
// Two test files at a time: the machine has few cores and engine tests are CPU bound.
const NODE_TEST_CONCURRENCY = '2';
// Per test; generous because the engine runs real (small) models on the CPU.
const NODE_TEST_TIMEOUT_MS = String(10 * 60 * 1000);
// Per C++ test executable.
const CTEST_TIMEOUT_S = '900';

function run(command, args) {
  process.stdout.write(`\n$ ${[command, ...args].join(' ')}\n`);
  const result = spawnSync(command, args, { cwd: ROOT, stdio: 'inherit' });
  if (result.error) {
    process.stderr.write(`run-tests: cannot run ${command}: ${result.error.message}\n`);
    return false;
  }
  return result.status === 0;
}

function nativeTests() {
  // HEADKV_CUDA=ON|OFF|AUTO overrides the CMake default (AUTO: build the CUDA backend when
  // nvcc and cuBLAS are found), e.g. HEADKV_CUDA=OFF for a quick CPU-only run.
  const cuda = process.env.HEADKV_CUDA ? [`-DHEADKV_CUDA=${process.env.HEADKV_CUDA}`] : [];
  return (
    run('cmake', ['-S', 'native', '-B', NATIVE_BUILD_DIR, '-DCMAKE_BUILD_TYPE=Release', ...cuda]) &&
    run('cmake', ['--build', NATIVE_BUILD_DIR, '-j', JOBS]) &&
    run('ctest', [
      '--test-dir',
      NATIVE_BUILD_DIR,
      '--output-on-failure',
      '-j',
      JOBS,
      '--timeout',
      CTEST_TIMEOUT_S,
    ])
  );
}

// Every *.test.js under dist/, outside node_modules.
function findCompiledTests(dir, found = []) {
  if (!fs.existsSync(dir)) return found;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory() && entry.name !== 'node_modules') findCompiledTests(full, found);
    else if (entry.isFile() && entry.name.endsWith('.test.js')) found.push(path.relative(ROOT, full));
  }
  return found.sort();
}

function nodeTests() {
  const files = findCompiledTests(path.join(ROOT, 'dist'));
  if (files.length === 0) {
    process.stderr.write('run-tests: no dist/**/*.test.js found: run npm run build first\n');
    return false;
  }
  return run(process.execPath, [
    '--test',
    '--test-reporter=spec',
    `--test-concurrency=${NODE_TEST_CONCURRENCY}`,
    `--test-timeout=${NODE_TEST_TIMEOUT_MS}`,
    ...files,
  ]);
}

function main() {
  const only = process.argv[2];
  if (only !== undefined && only !== 'native') {
    process.stderr.write(`run-tests: unknown argument '${only}' (expected nothing or 'native')\n`);
    return 2;
  }
  const results = [['native (ctest)', nativeTests()]];
  if (only !== 'native') results.push(['node (node --test)', nodeTests()]);
  process.stdout.write('\n== test summary\n');
  for (const [name, ok] of results) process.stdout.write(`${ok ? 'PASS' : 'FAIL'}  ${name}\n`);
  return results.every(([, ok]) => ok) ? 0 : 1;
}

process.exitCode = main();
