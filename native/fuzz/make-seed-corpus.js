#!/usr/bin/env node
'use strict';
// native/fuzz/make-seed-corpus.js: regenerates the committed seed corpora in native/fuzz/corpus/
// from the model fixtures in test/fixtures/models (run from the repository root):
//   node native/fuzz/make-seed-corpus.js
// fuzz_safetensors: each fixture's header with every dimension cut to at most 2 and the
//   data_offsets recomputed, followed by that much data (a few KB instead of ~1 MB per file,
//   so that mutations reach the header instead of being spent on weights).
// fuzz_model_config: every fixture config.json.
// fuzz_json: the config, generation_config, tokenizer_config and shard index files, and the
//   shrunken safetensors headers.
const fs = require('node:fs');
const path = require('node:path');

const MODELS = path.join('test', 'fixtures', 'models');
const CORPUS = path.join('native', 'fuzz', 'corpus');
const DTYPE_BYTES = { F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I8: 1, U8: 1, BOOL: 1 };
const MAX_DIM = 2;

function shrunkenSafetensors(file) {
  const bytes = fs.readFileSync(file);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8'));
  const shrunk = {};
  let offset = 0;
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      shrunk[name] = entry;
      continue;
    }
    const shape = entry.shape.map((dim) => Math.min(dim, MAX_DIM));
    const elementBytes = DTYPE_BYTES[entry.dtype];
    if (elementBytes === undefined) throw new Error(`${file}: tensor "${name}": dtype ${entry.dtype} not in DTYPE_BYTES`);
    const size = shape.reduce((a, b) => a * b, 1) * elementBytes;
    shrunk[name] = { dtype: entry.dtype, shape, data_offsets: [offset, offset + size] };
    offset += size;
  }
  const headerBytes = Buffer.from(JSON.stringify(shrunk), 'utf8');
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(headerBytes.length));
  // Data: a deterministic byte ramp (values do not matter to the parser).
  const data = Buffer.alloc(offset);
  for (let i = 0; i < offset; i++) data[i] = i & 0xff;
  return { file: Buffer.concat([length, headerBytes, data]), header: headerBytes };
}

function writeSeed(target, name, contents) {
  const dir = path.join(CORPUS, target);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, name), contents);
}

function main() {
  fs.rmSync(CORPUS, { recursive: true, force: true });
  for (const model of fs.readdirSync(MODELS).sort()) {
    const dir = path.join(MODELS, model);
    for (const entry of fs.readdirSync(dir).sort()) {
      const full = path.join(dir, entry);
      const seedName = `${model}--${entry}`;
      if (entry.endsWith('.safetensors')) {
        const { file, header } = shrunkenSafetensors(full);
        writeSeed('fuzz_safetensors', seedName, file);
        writeSeed('fuzz_json', `${seedName}.header.json`, header);
      } else if (entry === 'config.json') {
        writeSeed('fuzz_model_config', seedName, fs.readFileSync(full));
        writeSeed('fuzz_json', seedName, fs.readFileSync(full));
      } else if (entry.endsWith('.json') && entry !== 'tokenizer.json') {
        writeSeed('fuzz_json', seedName, fs.readFileSync(full));
      }
    }
  }
}

main();
