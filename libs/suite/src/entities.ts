// entities.ts: the invented names the tasks are about (people, keys, variables). Names are
// built from syllables, and each name belongs to one split (splits.ts), so a model evaluated on
// the test split has never seen any of its entities in training.
import { SeededRandom } from '@headkv/profiles';
import { Split, splitOfEntity } from './splits';

const ONSETS = [
  'b',
  'd',
  'f',
  'g',
  'k',
  'l',
  'm',
  'n',
  'p',
  'r',
  's',
  't',
  'v',
  'z',
  'br',
  'dr',
  'kr',
  'st',
  'th',
  'sh',
];
const VOWELS = ['a', 'e', 'i', 'o', 'u', 'ai', 'ou', 'ea'];
const CODAS = ['', '', '', 'n', 'r', 'l', 's', 'm', 'th', 'x'];
const LETTERS = 'ABCDEFGHJKLMNPQRSTUVWXYZ';

export type EntityKind = 'person' | 'key' | 'variable';

function syllableName(random: SeededRandom, syllables: number): string {
  let name = '';
  for (let i = 0; i < syllables; i++) name += random.pick(ONSETS) + random.pick(VOWELS) + random.pick(CODAS);
  return name.charAt(0).toUpperCase() + name.slice(1);
}

function candidate(kind: EntityKind, random: SeededRandom): string {
  switch (kind) {
    case 'person':
      return syllableName(random, random.range(2, 3));
    case 'key':
      return `${syllableName(random, 2)} ${syllableName(random, 2)}`;
    case 'variable': {
      let name = '';
      for (let i = 0; i < 4; i++) name += random.pick(LETTERS.split(''));
      return name;
    }
  }
}

// Draws `count` distinct names of one kind that belong to `split`.
export function drawEntities(kind: EntityKind, split: Split, count: number, random: SeededRandom): string[] {
  const names = new Set<string>();
  for (let attempts = 0; names.size < count; attempts++) {
    if (attempts > count * 1000) throw new Error(`cannot draw ${count} distinct ${kind} names for ${split}`);
    const name = candidate(kind, random);
    if (splitOfEntity(name) === split) names.add(name);
  }
  return [...names];
}
