// suite.ts: named suites (tasks x lengths x depths) and the cases they generate. A case is
// directly trainable: prompt text in, answer text out.
import { buildPrompt, TokenCounter } from './context-builder';
import { SeededRandom } from '@headkv/profiles';
import { caseSeed, Split } from './splits';
import { CaseMetric, drawTask, drawTwoHopVariants, TaskDraw, TaskName, TASKS } from './tasks';

export interface SuiteCase {
  id: string;
  task: TaskName;
  split: Split;
  seed: number;
  // The requested prompt length in tokens; promptTokens is what the prompt measures.
  length: number;
  promptTokens: number;
  // Where the task's main needle sits, 0 (start of the context) to 1 (end).
  depth: number;
  prompt: string;
  answer: string;
  metric: CaseMetric;
  // Character offset of the main needle in prompt.
  needleOffset: number;
}

export interface SuiteSpec {
  name: string;
  description: string;
  tasks: readonly TaskName[];
  lengths: readonly number[];
  depths: readonly number[];
  // Cases per task and length (depths cycle through the cases).
  casesPerCell: number;
}

const ALL_DEPTHS = [0, 0.25, 0.5, 0.75, 1];

export const SUITES: Record<string, SuiteSpec> = {
  // What the shipped headkv-tiny model is trained and measured on.
  'ruler-tiny': {
    name: 'ruler-tiny',
    description: 'every task at 1K, 2K, 4K and 8K tokens, depths 0-100%',
    tasks: TASKS,
    lengths: [1024, 2048, 4096, 8192],
    depths: ALL_DEPTHS,
    casesPerCell: 20,
  },
  // The paper's comparison: long prompts (4K-8K) where a kv_size of 128 keeps about 1.5-3%.
  'ruler-long': {
    name: 'ruler-long',
    description: 'every task at 4K and 8K tokens, depths 0-100%',
    tasks: TASKS,
    lengths: [4096, 8192],
    depths: ALL_DEPTHS,
    casesPerCell: 20,
  },
};

export const DEFAULT_SUITE = 'ruler-tiny';

export function suiteSpec(name: string): SuiteSpec {
  const spec = SUITES[name];
  if (spec === undefined)
    throw new Error(`unknown suite '${name}' (known: ${Object.keys(SUITES).join(', ')})`);
  return spec;
}

export interface CaseRequest {
  task: TaskName;
  split: Split;
  index: number;
  length: number;
  depth: number;
}

export function generateCase(request: CaseRequest, countTokens: TokenCounter): SuiteCase {
  const seed = caseSeed(request.split, `${request.task}@${request.length}`, request.index);
  const draw = drawTask(request.task, new SeededRandom(seed), request.split, request.depth);
  return caseOf(
    request,
    seed,
    draw,
    `${request.split}/${request.task}/${request.length}/${request.index}`,
    countTokens,
  );
}

// A two_hop request's case and its training variants (tasks.ts, TwoHopVariants) over the same
// haystack (cut to each question's length), ids suffixed /mirrored, /comparison,
// /mirrored-comparison, /value, /mirrored-value, /lookup and /mirrored-lookup, each with what it
// asks (the favorite sentence of the winner, the winner's name, the winner's number, or the name
// that goes with a number) and whether its direction picks the larger number (for a lookup: whether
// the number looked up is the larger); the first is exactly generateCase's.
export interface TwoHopVariantCase {
  suiteCase: SuiteCase;
  asks: 'favorite' | 'winner' | 'value' | 'lookup';
  pickHigher: boolean;
}

export function generateTwoHopVariants(request: CaseRequest, countTokens: TokenCounter): TwoHopVariantCase[] {
  if (request.task !== 'two_hop') throw new Error(`two_hop variants asked for a ${request.task} case`);
  const seed = caseSeed(request.split, `${request.task}@${request.length}`, request.index);
  const variants = drawTwoHopVariants(new SeededRandom(seed), request.split, request.depth);
  const id = `${request.split}/${request.task}/${request.length}/${request.index}`;
  const variant = (draw: TaskDraw, suffix: string, asks: TwoHopVariantCase['asks'], pickHigher: boolean) => ({
    suiteCase: caseOf(request, seed, draw, id + suffix, countTokens),
    asks,
    pickHigher,
  });
  const higher = variants.askedHigher;
  return [
    variant(variants.asked, '', 'favorite', higher),
    variant(variants.mirrored, '/mirrored', 'favorite', !higher),
    variant(variants.comparison, '/comparison', 'winner', higher),
    variant(variants.mirroredComparison, '/mirrored-comparison', 'winner', !higher),
    variant(variants.value, '/value', 'value', higher),
    variant(variants.mirroredValue, '/mirrored-value', 'value', !higher),
    variant(variants.lookup, '/lookup', 'lookup', higher),
    variant(variants.mirroredLookup, '/mirrored-lookup', 'lookup', !higher),
  ];
}

function caseOf(
  request: CaseRequest,
  seed: number,
  draw: TaskDraw,
  id: string,
  countTokens: TokenCounter,
): SuiteCase {
  const built = buildPrompt(request.length, draw.needles, draw.question, seed ^ 0x9e3779b9, countTokens);
  return {
    id,
    task: request.task,
    split: request.split,
    seed,
    length: request.length,
    promptTokens: built.tokens,
    depth: request.depth,
    prompt: built.prompt,
    answer: draw.answer,
    metric: draw.metric,
    needleOffset: built.needleOffsets[draw.depthNeedle],
  };
}

export interface BuildOptions {
  split: Split;
  // At most this many cases per task and length (default: the suite's casesPerCell).
  limit?: number;
  // Restrict to these lengths (must belong to the suite).
  lengths?: readonly number[];
  // Restrict to these tasks (must belong to the suite).
  tasks?: readonly TaskName[];
}

// The suite's cases in a fixed order: by length, then task, then index.
export function buildSuite(spec: SuiteSpec, options: BuildOptions, countTokens: TokenCounter): SuiteCase[] {
  const perCell = Math.min(options.limit ?? spec.casesPerCell, spec.casesPerCell);
  const lengths = options.lengths ?? spec.lengths;
  for (const length of lengths) {
    if (!spec.lengths.includes(length))
      throw new Error(`suite ${spec.name} has no length ${length} (has ${spec.lengths.join(', ')})`);
  }
  const tasks = options.tasks ?? spec.tasks;
  for (const task of tasks) {
    if (!spec.tasks.includes(task)) throw new Error(`suite ${spec.name} has no task ${task}`);
  }
  const cases: SuiteCase[] = [];
  for (const length of lengths) {
    for (const task of tasks) {
      for (let index = 0; index < perCell; index++) {
        const depth = spec.depths[index % spec.depths.length];
        cases.push(generateCase({ task, split: options.split, index, length, depth }, countTokens));
      }
    }
  }
  return cases;
}
