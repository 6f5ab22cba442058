// @headkv/suite: the RULER-style long-context fidelity suite (seeded task generators, splits,
// scoring) and LongBench's format and metrics.
export { SeededRandom, hashString } from '@headkv/profiles';
export { CASES_PER_TASK, SEEDS_PER_SPLIT, SPLITS, caseSeed, splitOfEntity, splitOfSeed } from './splits';
export type { Split } from './splits';
export { drawEntities } from './entities';
export type { EntityKind } from './entities';
export { FillerGenerator } from './filler';
export { buildPrompt, promptText } from './context-builder';
export type { BuiltPrompt, Needle, TokenCounter } from './context-builder';
export { TASKS, drawFactLookup, drawNumberOrder, drawTask, drawTwoHopVariants } from './tasks';
export type { CaseMetric, TaskDraw, TaskName, TwoHopVariants } from './tasks';
export { DEFAULT_SUITE, SUITES, buildSuite, generateCase, generateTwoHopVariants, suiteSpec } from './suite';
export type { BuildOptions, CaseRequest, SuiteCase, SuiteSpec, TwoHopVariantCase } from './suite';
export { answerLine, exactMatch, normalizeAnswer, qaF1Score, rougeL, scoreCase, tokenF1 } from './scoring';
export {
  longBenchMetric,
  longBenchPrompt,
  parseLongBenchJsonl,
  readLongBenchJsonl,
  scoreLongBench,
} from './longbench';
export type { LongBenchMetric, LongBenchRecord } from './longbench';
export { pretokenCounter, splitPatternOf } from './token-counter';
export { formatEvalTable, summarizeEval } from './eval-report';
export type { ConfigSummary, EvalRecord, EvalSummary } from './eval-report';
export { evalPlotSvg } from './svg-plot';
