// tasks.ts: the RULER-style task generators. Each draws, from one seeded generator, the needles
// (facts placed in the haystack), the question and the expected answer.
import { drawEntities } from './entities';
import { Needle } from './context-builder';
import { SeededRandom } from '@headkv/profiles';
import { Split } from './splits';

export const TASKS = [
  'niah_single',
  'niah_multikey',
  'niah_multivalue',
  'niah_multiquery',
  'variable_tracking',
  'two_hop',
  'summary',
] as const;
export type TaskName = (typeof TASKS)[number];

// exact: normalized exact match (LongBench normalization); rouge-l: ROUGE-L F1 against the answer.
export type CaseMetric = 'exact' | 'rouge-l';

export interface TaskDraw {
  needles: Needle[];
  question: string;
  answer: string;
  metric: CaseMetric;
  // Index into needles of the needle placed at the case's depth.
  depthNeedle: number;
}

const magicNumber = (r: SeededRandom): string => String(r.range(1_000_000, 9_999_999));
const magicNeedle = (key: string, value: string): string =>
  `The special magic number for ${key} is ${value}.`;

// Depths of needles placed around the case's own depth.
const otherDepth = (r: SeededRandom): number => Math.round(r.next() * 1000) / 1000;

function niahSingle(r: SeededRandom, split: Split, depth: number): TaskDraw {
  const [key] = drawEntities('key', split, 1, r);
  const value = magicNumber(r);
  return {
    needles: [{ text: magicNeedle(key, value), depth }],
    question: `What is the special magic number for ${key}?`,
    answer: value,
    metric: 'exact',
    depthNeedle: 0,
  };
}

// Four keys with a magic number each, one needle per key: the first key's needle at `depth`,
// the others at random depths (draws in that order, so cases stay what their seeds made).
function fourKeyedNeedles(r: SeededRandom, split: Split, depth: number) {
  const keys = drawEntities('key', split, 4, r);
  const values = keys.map(() => magicNumber(r));
  const needles = keys.map((key, i) => ({
    text: magicNeedle(key, values[i]),
    depth: i === 0 ? depth : otherDepth(r),
  }));
  return { keys, values, needles };
}

function niahMultikey(r: SeededRandom, split: Split, depth: number): TaskDraw {
  const { keys, values, needles } = fourKeyedNeedles(r, split, depth);
  return {
    needles,
    question: `What is the special magic number for ${keys[0]}?`,
    answer: values[0],
    metric: 'exact',
    depthNeedle: 0,
  };
}

function niahMultivalue(r: SeededRandom, split: Split, depth: number): TaskDraw {
  const [key] = drawEntities('key', split, 1, r);
  const values = [magicNumber(r), magicNumber(r), magicNumber(r)];
  const depths = [depth, otherDepth(r), otherDepth(r)];
  // The answer lists the values in the order they appear in the context.
  const order = [0, 1, 2].sort((a, b) => depths[a] - depths[b] || a - b);
  return {
    needles: values.map((value, i) => ({ text: magicNeedle(key, value), depth: depths[i] })),
    question: `What are all the special magic numbers for ${key}?`,
    answer: order.map((i) => values[i]).join(', '),
    metric: 'exact',
    depthNeedle: 0,
  };
}

function niahMultiquery(r: SeededRandom, split: Split, depth: number): TaskDraw {
  const { keys, values, needles } = fourKeyedNeedles(r, split, depth);
  return {
    needles,
    question: `What are the special magic numbers for ${keys[0]} and ${keys[1]}?`,
    answer: `${values[0]}, ${values[1]}`,
    metric: 'exact',
    depthNeedle: 0,
  };
}

// Chains of assignments (VAR B = A) from a number; the question asks for every variable holding it.
function variableTracking(r: SeededRandom, split: Split, depth: number): TaskDraw {
  const names = drawEntities('variable', split, 7, r);
  const chain = names.slice(0, 4);
  const decoy = names.slice(4);
  const value = String(r.range(10_000, 99_999));
  let decoyValue = String(r.range(10_000, 99_999));
  while (decoyValue === value) decoyValue = String(r.range(10_000, 99_999));
  // The chain starts at the case's depth; later links lie after it, in order.
  const later = [otherDepth(r), otherDepth(r), otherDepth(r)]
    .map((d) => depth + (1 - depth) * d)
    .sort((a, b) => a - b);
  const chainDepths = [depth, ...later];
  const decoyDepths = [otherDepth(r), otherDepth(r), otherDepth(r)].sort((a, b) => a - b);
  const link = (names: string[], first: string, i: number): string =>
    `VAR ${names[i]} = ${i === 0 ? first : names[i - 1]}.`;
  const needles: Needle[] = [
    ...chain.map((_, i) => ({ text: link(chain, value, i), depth: chainDepths[i] })),
    ...decoy.map((_, i) => ({ text: link(decoy, decoyValue, i), depth: decoyDepths[i] })),
  ];
  return {
    needles,
    question: `Which variables are assigned the value ${value}?`,
    answer: chain.join(', '),
    metric: 'exact',
    depthNeedle: 0,
  };
}

const FAVORITES: Record<string, { items: string[]; tails: string[] }> = {
  hobby: {
    items: [
      'painting birds',
      'carving spoons',
      'building kites',
      'knitting scarves',
      'growing herbs',
      'restoring clocks',
      'fishing for trout',
      'playing chess',
    ],
    tails: [
      'by the river',
      'in the attic',
      'on rainy evenings',
      'with old friends',
      'every weekend',
      'at the harbor',
    ],
  },
  meal: {
    items: [
      'lentil soup',
      'grilled salmon',
      'mushroom pie',
      'roast chicken',
      'pear tart',
      'bean stew',
      'fried rice',
      'plum dumplings',
    ],
    tails: [
      'with warm bread',
      'after a long walk',
      'on cold nights',
      'with lemon sauce',
      'at the corner inn',
      'on Sundays',
    ],
  },
  place: {
    items: [
      'the rooftop garden',
      'the quiet pier',
      'the old mill',
      'the pine forest',
      'the night market',
      'the stone bridge',
      'the glass house',
      'the sea wall',
    ],
    tails: ['at sunset', 'in early spring', 'after the rain', 'before dawn', 'in midsummer', 'on market day'],
  },
  song: {
    items: [
      'a sailor ballad',
      'a slow waltz',
      'a harvest hymn',
      'a march for brass',
      'a lullaby',
      'a fiddle reel',
      'a folk duet',
      'a piano nocturne',
    ],
    tails: [
      'played on the radio',
      'sung at weddings',
      'hummed at work',
      'played by the band',
      'learned as a child',
      'heard at the fair',
    ],
  },
};

// Each comparison's mirror is its neighbour (older/younger, taller/shorter): index ^ 1.
const COMPARISONS = [
  {
    ask: 'older',
    measure: 'How old',
    fact: (name: string, n: number) => `${name} is ${n} years old.`,
    lookup: (n: number) => `Who is ${n} years old?`,
    low: 18,
    high: 90,
    pickHigher: true,
  },
  {
    ask: 'younger',
    measure: 'How old',
    fact: (name: string, n: number) => `${name} is ${n} years old.`,
    lookup: (n: number) => `Who is ${n} years old?`,
    low: 18,
    high: 90,
    pickHigher: false,
  },
  {
    ask: 'taller',
    measure: 'How tall',
    fact: (name: string, n: number) => `${name} is ${n} centimeters tall.`,
    lookup: (n: number) => `Who is ${n} centimeters tall?`,
    low: 150,
    high: 199,
    pickHigher: true,
  },
  {
    ask: 'shorter',
    measure: 'How tall',
    fact: (name: string, n: number) => `${name} is ${n} centimeters tall.`,
    lookup: (n: number) => `Who is ${n} centimeters tall?`,
    low: 150,
    high: 199,
    pickHigher: false,
  },
];

// One two_hop needle asked eight ways. `asked` is the suite's task; training adds the others so
// that the model must read the question's direction and compare the numbers: `mirrored` asks the
// opposite direction over the same needle (the other person's sentence), `comparison` and
// `mirroredComparison` ask only which person wins (the first hop alone), `value` and
// `mirroredValue` only the winner's number (the comparison without the name: "How old is the
// older one between A and B?"), `lookup` and `mirroredLookup` the name that goes with the
// winner's number, or the other one ("Who is 47 years old?": the step from the number to the
// name, without the comparison). `askedHigher`: the asked direction picks the larger number
// (older, taller), so the mirrored one picks the smaller.
export interface TwoHopVariants {
  askedHigher: boolean;
  asked: TaskDraw;
  mirrored: TaskDraw;
  comparison: TaskDraw;
  mirroredComparison: TaskDraw;
  value: TaskDraw;
  mirroredValue: TaskDraw;
  lookup: TaskDraw;
  mirroredLookup: TaskDraw;
}

// The paper's R2 probe shape: two favorite-thing sentences (the answer and a distractor) and the
// facts that decide between them; the answer is the chosen person's whole sentence.
export function drawTwoHopVariants(r: SeededRandom, split: Split, depth: number): TwoHopVariants {
  const people = drawEntities('person', split, 2, r);
  const category = r.pick(Object.keys(FAVORITES));
  const { items, tails } = FAVORITES[category];
  const [itemA, itemB] = r.sample(items, 2);
  const favorite = [
    `${people[0]}'s favorite ${category} is ${itemA} ${r.pick(tails)}.`,
    `${people[1]}'s favorite ${category} is ${itemB} ${r.pick(tails)}.`,
  ];
  const comparisonIndex = r.int(COMPARISONS.length); // as r.pick(COMPARISONS): test cases unchanged
  const comparison = COMPARISONS[comparisonIndex];
  const mirror = COMPARISONS[comparisonIndex ^ 1];
  const n0 = r.range(comparison.low, comparison.high);
  let n1 = r.range(comparison.low, comparison.high);
  while (n1 === n0) n1 = r.range(comparison.low, comparison.high);
  const winner = n0 > n1 === comparison.pickHigher ? 0 : 1;
  const numbers = [n0, n1];
  const facts = [comparison.fact(people[0], n0), comparison.fact(people[1], n1)];
  const sentences = r.next() < 0.5 ? [...favorite, ...facts] : [favorite[1], favorite[0], facts[1], facts[0]];
  const asked = r.next() < 0.5 ? people : [people[1], people[0]];
  const between = `between ${asked[0]} and ${asked[1]}?`;
  const draw = (question: string, answer: string): TaskDraw => ({
    needles: [{ text: sentences.join(' '), depth }],
    question,
    answer,
    metric: 'exact',
    depthNeedle: 0,
  });
  return {
    askedHigher: comparison.pickHigher,
    asked: draw(`What is the favorite ${category} of the ${comparison.ask} one ${between}`, favorite[winner]),
    mirrored: draw(
      `What is the favorite ${category} of the ${mirror.ask} one ${between}`,
      favorite[1 - winner],
    ),
    comparison: draw(`Who is the ${comparison.ask} one ${between}`, people[winner]),
    mirroredComparison: draw(`Who is the ${mirror.ask} one ${between}`, people[1 - winner]),
    value: draw(`${comparison.measure} is the ${comparison.ask} one ${between}`, String(numbers[winner])),
    mirroredValue: draw(`${mirror.measure} is the ${mirror.ask} one ${between}`, String(numbers[1 - winner])),
    lookup: draw(comparison.lookup(numbers[winner]), people[winner]),
    mirroredLookup: draw(comparison.lookup(numbers[1 - winner]), people[1 - winner]),
  };
}

// A training drill for two_hop's first hop with nothing else to read: which of two numbers that
// two_hop compares (ages or heights) is the larger, or the smaller. The trained test model did not
// know the order of number tokens; these bare questions teach it (tools/train/README.md, v4).
export function drawNumberOrder(r: SeededRandom, pickHigher: boolean): { question: string; answer: string } {
  const { low, high } = r.pick(COMPARISONS);
  const a = r.range(low, high);
  let b = r.range(low, high);
  while (b === a) b = r.range(low, high);
  return {
    question: `Which is ${pickHigher ? 'larger' : 'smaller'}: ${a} or ${b}?`,
    answer: String(pickHigher === a > b ? a : b),
  };
}

// A training drill for two_hop's second hop with nothing else to read: a few people's facts of one
// kind (ages or heights, all distinct) and the question whose number is whose ("Who is 47 years
// old?"). The trained test model answered two_hop's lookups with the same person whichever number
// was asked; several people make that guess pay less (tools/train/README.md, v5).
export function drawFactLookup(
  r: SeededRandom,
  split: Split,
  people: number,
): { facts: string; question: string; answer: string } {
  const names = drawEntities('person', split, people, r);
  const comparison = r.pick(COMPARISONS);
  const numbers = new Set<number>();
  while (numbers.size < people) numbers.add(r.range(comparison.low, comparison.high));
  const values = [...numbers];
  const asked = r.int(people);
  return {
    facts: names.map((name, i) => comparison.fact(name, values[i])).join(' '),
    question: comparison.lookup(values[asked]),
    answer: names[asked],
  };
}

const twoHop = (r: SeededRandom, split: Split, depth: number): TaskDraw =>
  drawTwoHopVariants(r, split, depth).asked;

const FACT_VERBS = ['repaired', 'sold', 'painted', 'inspected', 'bought', 'moved', 'measured', 'cleaned'];
const FACT_OBJECTS = [
  'the red boat',
  'the east gate',
  'the grain store',
  'the north bridge',
  'the clock tower',
  'the water pump',
  'the long fence',
  'the school bell',
  'the blue wagon',
  'the tide mill',
];

// An extractive summary: the report marks its key facts; the answer lists them in order.
function summary(r: SeededRandom, split: Split, depth: number): TaskDraw {
  const count = r.range(3, 4);
  const people = drawEntities('person', split, count, r);
  const facts = people.map((person) => `${person} ${r.pick(FACT_VERBS)} ${r.pick(FACT_OBJECTS)}.`);
  const later = facts
    .slice(1)
    .map(() => depth + (1 - depth) * otherDepth(r))
    .sort((a, b) => a - b);
  const depths = [depth, ...later];
  return {
    needles: facts.map((fact, i) => ({ text: `Key fact: ${fact}`, depth: depths[i] })),
    question: 'List every key fact the report states, in order.',
    answer: facts.join(' '),
    metric: 'rouge-l',
    depthNeedle: 0,
  };
}

const GENERATORS: Record<TaskName, (r: SeededRandom, split: Split, depth: number) => TaskDraw> = {
  niah_single: niahSingle,
  niah_multikey: niahMultikey,
  niah_multivalue: niahMultivalue,
  niah_multiquery: niahMultiquery,
  variable_tracking: variableTracking,
  two_hop: twoHop,
  summary,
};

export function drawTask(task: TaskName, random: SeededRandom, split: Split, depth: number): TaskDraw {
  return GENERATORS[task](random, split, depth);
}
