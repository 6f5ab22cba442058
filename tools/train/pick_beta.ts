// pick_beta.ts: prints the HeadKV pool factor beta whose headkv-r2 accuracy, averaged over the
// kv sizes, is highest on the validation split (models/headkv-tiny/eval/beta-sweep-validation/
// beta-*/results.json, made by tools/train/fidelity.sh); ties go to the smaller beta. The paper
// sweeps beta and reports the best; choosing it on validation keeps the test split unseen.
import * as fs from 'node:fs';
import * as path from 'node:path';

import type { EvalSummary } from '@headkv/suite';

const SWEEP = path.resolve(
  __dirname,
  '..',
  '..',
  '..',
  'models',
  'headkv-tiny',
  'eval',
  'beta-sweep-validation',
);

export function sweepScores(dir: string): { beta: number; accuracy: number }[] {
  if (!fs.existsSync(dir))
    throw new Error(`${dir} is missing: run the beta sweep of tools/train/fidelity.sh`);
  return fs
    .readdirSync(dir)
    .filter((name) => name.startsWith('beta-'))
    .map((name) => {
      const summary = JSON.parse(
        fs.readFileSync(path.join(dir, name, 'results.json'), 'utf8'),
      ) as EvalSummary;
      const configs = summary.configs.filter((c) => c.method === 'headkv-r2');
      if (configs.length === 0) throw new Error(`${name}/results.json has no headkv-r2 results`);
      return {
        beta: Number(name.slice('beta-'.length)),
        accuracy: configs.reduce((a, c) => a + c.accuracy, 0) / configs.length,
      };
    })
    .sort((a, b) => a.beta - b.beta);
}

if (require.main === module) {
  const scores = sweepScores(SWEEP);
  const best = scores.reduce((a, s) => (s.accuracy > a.accuracy ? s : a));
  process.stdout.write(`${best.beta}\n`);
}
