// haystack.ts: the filler text of probe prompts, written by this project: sentences drawn from
// templates and word lists with a seeded generator, so that any length of varied, plain
// English prose can be produced deterministically. Every sentence ends with a period.
import { SeededRandom } from './seeded-random';

const PEOPLE = [
  'the engineer',
  'a gardener',
  'the old captain',
  'my neighbor',
  'a young teacher',
  'the baker',
  'the committee',
  'a traveling musician',
  'the librarian',
  'a retired nurse',
  'the night guard',
  'the mayor',
];
const THINGS = [
  'the bridge',
  'a wooden cart',
  'the harvest',
  'an old map',
  'the river',
  'a brass clock',
  'the orchard',
  'a stack of letters',
  'the market square',
  'a broken lantern',
  'the village well',
  'a spare bicycle',
  'the railway station',
  'a box of seeds',
  'the north road',
  'a paper kite',
];
const PLACES = [
  'near the harbor',
  'behind the school',
  'at the edge of town',
  'in the valley',
  'along the canal',
  'under the old oak',
  'beside the mill',
  'on the hill',
  'across the square',
  'inside the workshop',
  'by the lake',
  'past the quarry',
];
const TIMES = [
  'every morning',
  'in late autumn',
  'after the storm',
  'before sunrise',
  'on most weekends',
  'during the long winter',
  'at the end of each month',
  'in the spring',
  'once a year',
  'after supper',
];
const VERBS = [
  'repaired',
  'painted',
  'measured',
  'carried',
  'inspected',
  'cleaned',
  'described',
  'sketched',
  'moved',
  'counted',
  'photographed',
  'rebuilt',
];
const ADJECTIVES = [
  'quiet',
  'busy',
  'narrow',
  'crowded',
  'peaceful',
  'dusty',
  'bright',
  'cold',
  'familiar',
  'crooked',
  'simple',
  'steady',
];
const REASONS = [
  'because nobody else remembered how',
  'so that the children could use it',
  'since the weather had finally turned',
  'as the council had asked',
  'to settle an old argument',
  'while the others were away',
  'for reasons nobody questioned',
  'without telling anyone',
];
const IDEAS = [
  'patience',
  'good tools',
  'careful planning',
  'a little luck',
  'honest work',
  'friendship',
  'a steady routine',
  'curiosity',
  'long practice',
  'clear instructions',
];

type Template = (r: SeededRandom) => string;

const cap = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

const TEMPLATES: readonly Template[] = [
  (r) => `${cap(r.pick(PEOPLE))} ${r.pick(VERBS)} ${r.pick(THINGS)} ${r.pick(PLACES)} ${r.pick(TIMES)}.`,
  (r) => `${cap(r.pick(TIMES))}, ${r.pick(PEOPLE)} ${r.pick(VERBS)} ${r.pick(THINGS)} ${r.pick(REASONS)}.`,
  (r) => `The street ${r.pick(PLACES)} was ${r.pick(ADJECTIVES)} and ${r.pick(ADJECTIVES)} ${r.pick(TIMES)}.`,
  (r) =>
    `Most people agree that ${r.pick(IDEAS)} matters more than ${r.pick(IDEAS)} when you look after ${r.pick(THINGS)}.`,
  (r) =>
    `${cap(r.pick(PEOPLE))} once said that ${r.pick(IDEAS)} is the secret of a ${r.pick(ADJECTIVES)} life.`,
  (r) =>
    `Nobody knows why ${r.pick(THINGS)} ${r.pick(PLACES)} looks so ${r.pick(ADJECTIVES)} ${r.pick(TIMES)}.`,
  (r) => `There is a ${r.pick(ADJECTIVES)} path that leads from ${r.pick(THINGS)} to ${r.pick(THINGS)}.`,
  (r) =>
    `${cap(r.pick(PEOPLE))} and ${r.pick(PEOPLE)} ${r.pick(VERBS)} ${r.pick(THINGS)} together, ${r.pick(REASONS)}.`,
  (r) =>
    `It took ${2 + r.int(40)} days to finish the work on ${r.pick(THINGS)}, and ${r.pick(PEOPLE)} kept a record of each one.`,
  (r) =>
    `According to ${r.pick(PEOPLE)}, ${r.pick(THINGS)} had been ${r.pick(ADJECTIVES)} for ${3 + r.int(90)} years.`,
  (r) =>
    `If you ask ${r.pick(PEOPLE)} about ${r.pick(THINGS)}, you will hear a long story about ${r.pick(IDEAS)}.`,
  (r) =>
    `The ${r.pick(ADJECTIVES)} light ${r.pick(PLACES)} made ${r.pick(THINGS)} seem ${r.pick(ADJECTIVES)}.`,
  (r) => `${cap(r.pick(PEOPLE))} wrote a short note about ${r.pick(THINGS)} and left it ${r.pick(PLACES)}.`,
  (r) => `Some years ${r.pick(THINGS)} is ${r.pick(ADJECTIVES)}, and some years it is ${r.pick(ADJECTIVES)}.`,
  (r) =>
    `What people remember most about ${r.pick(THINGS)} is how ${r.pick(ADJECTIVES)} it felt ${r.pick(TIMES)}.`,
];

// An endless stream of filler sentences for one seed.
export class HaystackGenerator {
  private readonly random: SeededRandom;

  constructor(seed: number) {
    this.random = new SeededRandom(seed);
  }

  nextSentence(): string {
    return this.random.pick(TEMPLATES)(this.random);
  }
}
