// splits.ts: train / validation / test. Splits never share a case seed (each split owns its own
// range of seeds) nor an entity (every generated name belongs to exactly one split by its hash).
import { hashString } from '@headkv/profiles';

export const SPLITS = ['train', 'validation', 'test'] as const;
export type Split = (typeof SPLITS)[number];

// Each split's case seeds lie in [base, base + SEEDS_PER_SPLIT).
export const SEEDS_PER_SPLIT = 100_000_000;
export const CASES_PER_TASK = 100_000;
const SEED_BASE: Record<Split, number> = { train: 0, validation: SEEDS_PER_SPLIT, test: 2 * SEEDS_PER_SPLIT };

export function caseSeed(split: Split, task: string, index: number): number {
  if (!Number.isSafeInteger(index) || index < 0 || index >= CASES_PER_TASK) {
    throw new Error(`case index must be an integer in [0, ${CASES_PER_TASK}), got ${index}`);
  }
  // Each task owns a slice of the split's range, so two tasks never share a seed either.
  return SEED_BASE[split] + (hashString(task) % 1000) * CASES_PER_TASK + index;
}

export function splitOfSeed(seed: number): Split {
  const index = Math.floor(seed / SEEDS_PER_SPLIT);
  const split = SPLITS[index];
  if (split === undefined) throw new Error(`seed ${seed} lies outside every split`);
  return split;
}

// 80% of the name space is train, 10% validation, 10% test.
export function splitOfEntity(name: string): Split {
  const bucket = hashString(`entity:${name}`) % 10;
  return bucket < 8 ? 'train' : bucket === 8 ? 'validation' : 'test';
}
