// fixtures.ts: reading the committed test fixtures (test/fixtures/, built by
// tools/reference/make_fixtures.py with transformers).
import * as fs from 'node:fs';
import * as path from 'node:path';

import { FIXTURES_DIR, fixturePath } from './repo-paths';

export interface GoldenCase {
  prompt_ids: number[];
  logits: number[][];
  greedy_ids: number[];
}

export interface GoldenFixture {
  file: string;
  model: string;
  modelDir: string;
  tolerance: { logits_max_abs: number };
  cases: GoldenCase[];
}

// Small Llama fixture with a tokenizer: the default model of the engine tests.
export const LLAMA_FIXTURE_DIR = fixturePath('models', 'llama-f32');

export function readJsonFile<T>(file: string): T {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
}

// Every golden/<model>.json (the *.headkv.json compression fixtures are not greedy goldens).
export function goldenFixtures(): GoldenFixture[] {
  const dir = path.join(FIXTURES_DIR, 'golden');
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((name) => name.endsWith('.json') && !name.includes('.headkv.'))
    .sort()
    .map((name) => {
      const file = path.join(dir, name);
      const golden = readJsonFile<Omit<GoldenFixture, 'file' | 'modelDir'>>(file);
      return { ...golden, file, modelDir: path.resolve(FIXTURES_DIR, 'models', golden.model) };
    });
}
