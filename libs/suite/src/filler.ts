// filler.ts: the haystack. Plain English prose written by this project: runs of sentences in one
// of several registers (town chronicle, weather log, market report, workshop notes, travel
// diary, and the profile probes' own haystack), drawn from templates and word lists with a seeded
// generator, so that the text varies from sentence to sentence and paragraph to paragraph.
import { HaystackGenerator, SeededRandom } from '@headkv/profiles';

const cap = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

const W = {
  townsfolk: [
    'the blacksmith',
    'the ferryman',
    'a schoolteacher',
    'the innkeeper',
    'two fishermen',
    'the clerk',
    'a shepherd',
    'the carpenter',
    'the weaver',
    'a potter',
    'the postmaster',
    'the miller',
    'a stonemason',
    'the doctor',
    'a group of students',
    'the choir',
  ],
  buildings: [
    'the town hall',
    'the chapel',
    'the granary',
    'the old school',
    'the toll house',
    'the bakery',
    'the stables',
    'the boathouse',
    'the library',
    'the watchtower',
    'the tannery',
    'the covered market',
  ],
  events: [
    'the spring fair',
    'a council meeting',
    'the harvest supper',
    'a long drought',
    'the winter flood',
    'a wedding',
    'the bell festival',
    'a fire drill',
    'the sheep auction',
    'a rowing race',
  ],
  weather: [
    'a thin drizzle',
    'heavy fog',
    'a dry easterly wind',
    'hail',
    'bright sunshine',
    'low cloud',
    'a warm breeze',
    'sleet',
    'a sudden thunderstorm',
    'a hard frost',
  ],
  landscape: [
    'the marshes',
    'the upper pastures',
    'the pine ridge',
    'the estuary',
    'the chalk downs',
    'the river meadows',
    'the moor',
    'the coastal cliffs',
    'the beech wood',
    'the orchards',
  ],
  goods: [
    'wool',
    'barley',
    'salt',
    'copper wire',
    'lamp oil',
    'timber',
    'cheese',
    'linen',
    'dried fish',
    'honey',
    'leather',
    'candles',
    'apples',
    'rope',
  ],
  trend: [
    'rose slightly',
    'fell sharply',
    'held steady',
    'doubled',
    'dropped by a third',
    'recovered',
    'climbed again',
    'stayed low',
  ],
  tools: [
    'the lathe',
    'a hand plane',
    'the kiln',
    'a set of chisels',
    'the loom',
    'the bellows',
    'a spirit level',
    'the workbench',
    'a coil of twine',
    'the grindstone',
  ],
  tasks: [
    'sanded',
    'glued',
    'oiled',
    'sharpened',
    'trimmed',
    'assembled',
    'varnished',
    'tested',
    'sorted',
    'labelled',
  ],
  travel: [
    'the coach',
    'a narrow boat',
    'the night train',
    'a borrowed mule',
    'the mail cart',
    'a fishing ketch',
    'our bicycles',
  ],
  feelings: [
    'tired but cheerful',
    'unusually quiet',
    'hungry',
    'restless',
    'content',
    'soaked through',
    'curious',
    'in good spirits',
  ],
  colours: ['grey', 'golden', 'pale green', 'deep blue', 'rust red', 'silver', 'amber', 'dark brown'],
};

type Template = (r: SeededRandom) => string;

const REGISTERS: readonly (readonly Template[])[] = [
  // town chronicle
  [
    (r) => `${cap(r.pick(W.townsfolk))} spent most of ${r.pick(W.events)} near ${r.pick(W.buildings)}.`,
    (r) =>
      `The roof of ${r.pick(W.buildings)} was mended in ${1700 + r.int(250)}, long before ${r.pick(W.events)} became a custom.`,
    (r) =>
      `At ${r.pick(W.events)}, ${r.pick(W.townsfolk)} argued with ${r.pick(W.townsfolk)} about the price of ${r.pick(W.goods)}.`,
    (r) => `Visitors often ask why ${r.pick(W.buildings)} faces away from ${r.pick(W.landscape)}.`,
    (r) =>
      `${cap(r.pick(W.townsfolk))} keeps a ledger of everyone who passes ${r.pick(W.buildings)} after dark.`,
    (r) => `Old records say that ${r.pick(W.buildings)} once stored ${r.pick(W.goods)} for the whole parish.`,
  ],
  // weather log
  [
    (r) => `${cap(r.pick(W.weather))} moved in over ${r.pick(W.landscape)} by the middle of the afternoon.`,
    (r) =>
      `The sky above ${r.pick(W.landscape)} turned ${r.pick(W.colours)} shortly before ${r.pick(W.weather)} arrived.`,
    (r) =>
      `For ${2 + r.int(9)} days in a row the gauge by ${r.pick(W.buildings)} showed ${r.pick(W.weather)}.`,
    (r) =>
      `Walkers crossing ${r.pick(W.landscape)} were warned about ${r.pick(W.weather)} and turned back early.`,
    (r) =>
      `By evening ${r.pick(W.weather)} had given way to ${r.pick(W.weather)}, and the lamps were lit early.`,
  ],
  // market report
  [
    (r) =>
      `The price of ${r.pick(W.goods)} ${r.pick(W.trend)} this week, while ${r.pick(W.goods)} ${r.pick(W.trend)}.`,
    (r) =>
      `Traders from beyond ${r.pick(W.landscape)} brought ${10 + r.int(90)} crates of ${r.pick(W.goods)} to the square.`,
    (r) => `Demand for ${r.pick(W.goods)} usually ${r.pick(W.trend)} after ${r.pick(W.events)}.`,
    (r) => `${cap(r.pick(W.townsfolk))} sold out of ${r.pick(W.goods)} before noon and closed the stall.`,
    (r) =>
      `Buyers complained that the ${r.pick(W.goods)} on offer was damp, so the merchants lowered their prices.`,
  ],
  // workshop notes
  [
    (r) => `First the frame was ${r.pick(W.tasks)}, then ${r.pick(W.tools)} was set aside to cool.`,
    (r) => `${cap(r.pick(W.townsfolk))} ${r.pick(W.tasks)} the panels with ${r.pick(W.tools)} before lunch.`,
    (r) => `Remember to check ${r.pick(W.tools)} for cracks whenever the shop has been cold overnight.`,
    (r) =>
      `Each joint took about ${3 + r.int(25)} minutes to fit, and every piece was ${r.pick(W.tasks)} twice.`,
    (r) => `The apprentice ${r.pick(W.tasks)} a spare handle while ${r.pick(W.townsfolk)} watched.`,
  ],
  // travel diary
  [
    (r) => `We took ${r.pick(W.travel)} across ${r.pick(W.landscape)} and arrived ${r.pick(W.feelings)}.`,
    (r) => `On the second morning ${r.pick(W.travel)} broke down somewhere past ${r.pick(W.landscape)}.`,
    (r) => `Our guide pointed out ${r.pick(W.buildings)} and told us a story about ${r.pick(W.events)}.`,
    (r) =>
      `The views over ${r.pick(W.landscape)} were ${r.pick(W.colours)} and wide, and everyone felt ${r.pick(W.feelings)}.`,
    (r) => `We shared supper with ${r.pick(W.townsfolk)}, who had never left ${r.pick(W.landscape)}.`,
  ],
];

// An endless, seeded stream of filler sentences: paragraphs of 3 to 8 sentences, each paragraph
// in one register (one in six from the profile probes' haystack).
export class FillerGenerator {
  private readonly random: SeededRandom;
  private readonly probeHaystack: HaystackGenerator;
  private left = 0;
  private register = -1;

  constructor(seed: number) {
    this.random = new SeededRandom(seed);
    this.probeHaystack = new HaystackGenerator(seed ^ 0x5bd1e995);
  }

  nextSentence(): string {
    if (this.left === 0) {
      this.register = this.random.int(REGISTERS.length + 1);
      this.left = this.random.range(3, 8);
    }
    this.left--;
    if (this.register === REGISTERS.length) return this.probeHaystack.nextSentence();
    return this.random.pick(REGISTERS[this.register])(this.random);
  }
}
