// @headkv/profiles: head-importance profiles of HeadKV (HEADKV.md section 2): the profile JSON
// and its validation, the reference's score files, and the probe prompts and scoring helpers.
export { ProfileError } from './profile-error';
export {
  PROFILE_GRANULARITIES,
  PROFILE_METHODS,
  PROFILE_SCHEMA_VERSION,
  profileModelOf,
  profileSchema,
  SCORED_SPANS,
} from './profile-schema';
export type {
  EngineModelIdentity,
  HeadProfile,
  ProbeSettings,
  ProfileGranularity,
  ProfileMethod,
  ProfileModel,
  ScoredSpan,
} from './profile-schema';
export {
  assertProfileForModel,
  headScoresOf,
  loadProfile,
  MODEL_PROFILE_FILE,
  parseProfile,
  resolveProfile,
  saveProfile,
  serializeProfile,
} from './profile-io';
export { parseReferenceScores, profileFromReference, toReferenceScores } from './reference-format';
export type { ReferenceImportOptions, ReferenceScores } from './reference-format';
export { HaystackGenerator } from './haystack';
export { RETRIEVAL_NEEDLES, RETRIEVAL_REASONING_NEEDLES } from './needles';
export type { ProbeNeedle } from './needles';
export {
  buildProbeTrials,
  DEFAULT_PROBE_BUFFER,
  DEFAULT_PROBE_DEPTHS,
  DEFAULT_PROBE_LENGTHS,
  defaultNeedles,
  locateSpan,
  probeDepths,
  probeLengths,
  probePromptText,
} from './probe-prompts';
export type { ProbeTrial, ProbeTrialOptions, TokenCounter } from './probe-prompts';
export { isAnswerCorrect, qaTokens, rouge1Recall, rougeTokens, tokenF1 } from './answer-check';
export { aggregateTrialScores } from './trial-scores';
export type { TrialScores } from './trial-scores';
export { profileModel, spanOfText } from './profile-run';
export type {
  ProbeRule,
  ProbeRunner,
  ProbeRunResult,
  ProfileRunOptions,
  ProfileTokenizer,
} from './profile-run';
export { ContextProbeRunner, ProfilingInterrupted } from './context-probe-runner';
export { allocateHeadBudgets, HEADKV_WINDOW } from './head-budget-allocation';
export type { AllocationSettings, HeadAllocation } from './head-budget-allocation';
export { hashString, SeededRandom } from './seeded-random';
