// engine-throughput.ts: the worker's engine path (@headkv/engine over the Node addon) on one
// device: DOCS random-token documents of PROMPT tokens submitted together, NEW greedy tokens
// each, with a KV method; prints one JSON line with wall time, prefill and decode rates.
// Run by hand (docs/benchmarks.md quotes it):
//   node dist/tools/bench/engine-throughput.js --model DIR [--device cuda] [--docs 16]
//     [--prompt 8192] [--new 128] [--kv snapkv|full] [--kv-size 128] [--max-sequences 16]
import { parseArgs } from 'node:util';

import { Engine, KvMethod } from '@headkv/engine';

import { SeededRandom } from '@headkv/profiles';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      model: { type: 'string' },
      device: { type: 'string', default: 'cuda' },
      docs: { type: 'string', default: '16' },
      prompt: { type: 'string', default: '8192' },
      new: { type: 'string', default: '128' },
      kv: { type: 'string', default: 'snapkv' },
      'kv-size': { type: 'string', default: '128' },
      'max-sequences': { type: 'string', default: '16' },
    },
  });
  if (!values.model) throw new Error('engine-throughput: --model DIR is required');
  const device = values.device === 'cpu' ? 'cpu' : 'cuda';
  const docs = Number(values.docs);
  const promptTokens = Number(values.prompt);
  const newTokens = Number(values.new);
  const method = values.kv as KvMethod;
  if (method !== 'full' && method !== 'snapkv')
    throw new Error(
      `engine-throughput: --kv must be full or snapkv (a random model has no head profile), got ${method}`,
    );

  const t0 = performance.now();
  const engine = await Engine.load(values.model, { device, maxSequences: Number(values['max-sequences']) });
  const loadS = (performance.now() - t0) / 1e3;
  const random = new SeededRandom(7);
  const vocab = engine.info.vocabSize;
  const prompts = Array.from({ length: docs }, () =>
    Int32Array.from({ length: promptTokens }, () => random.int(vocab)),
  );
  try {
    const start = performance.now();
    const results = await Promise.all(
      prompts.map((promptIds) =>
        engine.generate({
          promptIds,
          maxTokens: newTokens,
          stopTokenIds: [],
          kv: method === 'full' ? undefined : { method, kvSize: Number(values['kv-size']), window: 32 },
        }),
      ),
    );
    const wallS = (performance.now() - start) / 1e3;
    const generated = results.reduce((sum, r) => sum + r.tokenIds.length, 0);
    const stats = engine.stats();
    process.stdout.write(
      JSON.stringify({
        what: 'engine_throughput',
        device: engine.info.device,
        docs,
        prompt: promptTokens,
        new_tokens: newTokens,
        kv: method,
        load_s: +loadS.toFixed(1),
        wall_s: +wallS.toFixed(2),
        generated_tokens: generated,
        tokens_per_s: +(generated / wallS).toFixed(1),
        prompt_tokens_per_s: +((docs * promptTokens) / wallS).toFixed(0),
        docs_per_hour: Math.round((docs / wallS) * 3600),
        mean_prefill_tokens_per_s: Math.round(
          results.reduce((s, r) => s + r.timings.prefillTokensPerS, 0) / docs,
        ),
        mean_decode_tokens_per_s: +(
          results.reduce((s, r) => s + r.timings.decodeTokensPerS, 0) / docs
        ).toFixed(1),
        kv_bytes_kept: results.reduce((s, r) => s + r.kv.bytesKept, 0),
        kv_bytes_full: results.reduce((s, r) => s + r.kv.bytesFull, 0),
        engine_stats: stats,
      }) + '\n',
    );
  } finally {
    await engine.dispose();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
