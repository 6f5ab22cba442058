// The CUDA backend through the Node addon (the worker's path). Runs on a machine with a GPU and
// an addon built with CUDA (npm run build:native where nvcc is); skips elsewhere, saying why.
// The trained headkv-tiny model answers its needle tasks with wide margins, so the GPU (bf16
// activations) and the CPU (fp32) must give the same answers, alone and in a batch of 16 with
// HeadKV-R2 compression.
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, test } from 'node:test';

import { Engine, EngineError, GenerateRequest } from '@headkv/engine';
import { headScoresOf, profileModelOf, resolveProfile } from '@headkv/profiles';
import { answerLine, generateCase, pretokenCounter, splitPatternOf, SuiteCase } from '@headkv/suite';

import { REPO_ROOT } from '../helpers/repo-paths';

const MODEL_DIR = path.join(REPO_ROOT, 'models', 'headkv-tiny');

let gpu: Engine | undefined;
let cpu: Engine | undefined;
let skipReason: string | undefined;

before(async () => {
  try {
    gpu = await Engine.load(MODEL_DIR, { device: 'cuda', maxSequences: 16 });
  } catch (error) {
    if (!(error instanceof EngineError) || error.code !== 'HKV_ERR_UNSUPPORTED') throw error;
    skipReason = `no CUDA device: ${error.message}`;
    return;
  }
  cpu = await Engine.load(MODEL_DIR, { device: 'cpu', maxSequences: 16 });
});

after(async () => {
  await gpu?.dispose();
  await cpu?.dispose();
});

function cases(engine: Engine, count: number, length: number): SuiteCase[] {
  const tokenizer = engine.tokenizer;
  assert.ok(tokenizer);
  const counter = pretokenCounter(
    (text) => tokenizer.encode(text, { addSpecialTokens: false }).length,
    splitPatternOf(path.join(MODEL_DIR, 'tokenizer.json')),
  );
  return Array.from({ length: count }, (_, index) =>
    generateCase(
      {
        task: index % 2 ? 'niah_multivalue' : 'niah_single',
        split: 'test',
        index,
        length,
        depth: (index % 5) / 4,
      },
      (text) => counter(text) + 1,
    ),
  );
}

async function answers(engine: Engine, requests: GenerateRequest[]): Promise<string[]> {
  const results = await Promise.all(requests.map((request) => engine.generate(request)));
  return results.map((result) => answerLine(result.text));
}

test('the GPU engine reports its device', (t) => {
  if (skipReason) return t.skip(skipReason);
  assert.ok(gpu);
  assert.doesNotMatch(gpu.info.device, /^cpu/);
});

test('GPU answers equal CPU answers, alone and batched with HeadKV-R2', async (t) => {
  if (!gpu || !cpu) return t.skip(skipReason);
  const suiteCases = cases(gpu, 16, 2048);
  const { profile } = resolveProfile(undefined, MODEL_DIR, profileModelOf(gpu.info), 'headkv-r2');
  const plain = suiteCases.map((c): GenerateRequest => ({ prompt: c.prompt, maxTokens: 24 }));
  const compressed = plain.map((r): GenerateRequest => ({
    ...r,
    kv: { method: 'headkv-r2', kvSize: 64, headScores: headScoresOf(profile) },
  }));

  const alone: string[] = [];
  for (const request of plain.slice(0, 4)) alone.push(...(await answers(gpu, [request])));
  assert.deepEqual(alone, await answers(cpu, plain.slice(0, 4)));

  const gpuBatch = await answers(gpu, compressed);
  const cpuBatch = await answers(cpu, compressed);
  assert.deepEqual(gpuBatch, cpuBatch);
  const right = gpuBatch.filter((answer, i) => answer === suiteCases[i].answer).length;
  assert.ok(right >= 12, `HeadKV-R2 at kv_size 64 on the GPU answered ${right}/16 needle cases`);
});
