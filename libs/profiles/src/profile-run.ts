// profile-run.ts: head-importance profiling (HEADKV.md section 2) over an engine that can
// decode a prompt greedily with an attention probe attached: build the probe trials, run each,
// keep the trials answered correctly, and average their head scores into a profile.
import { isAnswerCorrect } from './answer-check';
import {
  buildProbeTrials,
  DEFAULT_PROBE_BUFFER,
  DEFAULT_PROBE_DEPTHS,
  DEFAULT_PROBE_LENGTHS,
  locateSpan,
  ProbeTrial,
  probeDepths,
  probeLengths,
} from './probe-prompts';
import { ProfileError } from './profile-error';
import { parseProfile } from './profile-io';
import {
  HeadProfile,
  PROFILE_SCHEMA_VERSION,
  ProfileGranularity,
  ProfileMethod,
  ProfileModel,
  ScoredSpan,
} from './profile-schema';
import { aggregateTrialScores, TrialScores } from './trial-scores';

// The engine's scoring rules: HeadKV-R and HeadKV-R2.
export type ProbeRule = 'retrieval' | 'retrieval-reasoning';

export interface ProbeRunResult {
  // Generated text (the answer checked against the needle's).
  text: string;
  // The probe's per-head totals over the decode steps: n_layers * n_heads, layer-major.
  headScores: ArrayLike<number>;
}

// Greedy decoding of `promptIds` with a full KV cache and the probe of `rule` attached to the
// prompt positions [spanBegin, spanEnd); stops at a newline, an end token or maxNewTokens.
export interface ProbeRunner {
  run(
    promptIds: Int32Array,
    rule: ProbeRule,
    spanBegin: number,
    spanEnd: number,
    maxNewTokens: number,
  ): Promise<ProbeRunResult>;
}

export interface ProfileTokenizer {
  encode(text: string, options: { addSpecialTokens: boolean }): number[];
}

export interface ProfileRunOptions {
  method: ProfileMethod;
  granularity: ProfileGranularity;
  maxLength: number;
  seed: number;
  nLengths?: number;
  nDepths?: number;
  buffer?: number;
  // HeadKV-R2's scored span: 'answer' (the paper's rule, the default) or 'needle'.
  scoredSpan?: ScoredSpan;
  // Average every trial, answered correctly or not. The paper counts only correct trials; a
  // tiny test model answers none, so this keeps its profiling runnable end to end.
  countAllTrials?: boolean;
  engineVersion: string;
  now: Date;
  onProgress?: (done: number, total: number, correct: number) => void;
}

// Decode budget: the answer's length, as the reference stops after len(answer tokens) steps.
function answerTokens(tokenizer: ProfileTokenizer, answer: string): number {
  return Math.max(1, tokenizer.encode(answer, { addSpecialTokens: false }).length);
}

// The scored span's token positions: the text as it tokenizes after a space (BPE's "▁word" /
// "Ġword" forms inside running text) or alone, else the reference's best-overlap window.
export function spanOfText(
  promptIds: readonly number[],
  text: string,
  tokenizer: ProfileTokenizer,
): { begin: number; end: number } {
  const variants = [` ${text}`, text].map((t) => tokenizer.encode(t, { addSpecialTokens: false }));
  for (const ids of variants) {
    const span = locateSpan(promptIds, ids);
    if (ids.every((id, i) => promptIds[span.begin + i] === id)) return span;
  }
  return locateSpan(promptIds, variants[1]);
}

// HeadKV-R scores the whole needle (copies come from anywhere in it); HeadKV-R2 the correct
// answer sentence, or with scoredSpan 'needle' the whole needle: the answer, the distractor and
// the facts that decide between them, so that heads which read the facts earn a score too.
function scoredText(method: ProfileMethod, scoredSpan: ScoredSpan, trial: ProbeTrial): string {
  return method === 'headkv-r' || scoredSpan === 'needle' ? trial.needle.needle : trial.needle.answer;
}

export async function profileModel(
  runner: ProbeRunner,
  tokenizer: ProfileTokenizer,
  model: ProfileModel,
  options: ProfileRunOptions,
): Promise<HeadProfile> {
  const nLengths = options.nLengths ?? DEFAULT_PROBE_LENGTHS;
  const nDepths = options.nDepths ?? DEFAULT_PROBE_DEPTHS;
  const trials = buildProbeTrials(
    {
      method: options.method,
      maxLength: options.maxLength,
      seed: options.seed,
      nLengths,
      nDepths,
      buffer: options.buffer ?? DEFAULT_PROBE_BUFFER,
    },
    (text) => tokenizer.encode(text, { addSpecialTokens: false }).length,
  );
  const rule: ProbeRule = options.method === 'headkv-r' ? 'retrieval' : 'retrieval-reasoning';
  const scoredSpan = options.scoredSpan ?? 'answer';
  if (options.method === 'headkv-r' && scoredSpan !== 'answer')
    throw new ProfileError(
      "scored span 'needle' is HeadKV-R2's option: HeadKV-R always scores the whole needle",
    );
  const results: TrialScores[] = [];
  let correct = 0;
  for (const trial of trials) {
    const promptIds = tokenizer.encode(trial.prompt, { addSpecialTokens: true });
    const span = spanOfText(promptIds, scoredText(options.method, scoredSpan, trial), tokenizer);
    const run = await runner.run(
      Int32Array.from(promptIds),
      rule,
      span.begin,
      span.end,
      answerTokens(tokenizer, trial.needle.answer),
    );
    const ok = isAnswerCorrect(options.method, run.text, trial.needle.answer);
    if (ok) correct++;
    results.push({ scores: run.headScores, correct: ok || options.countAllTrials === true });
    options.onProgress?.(results.length, trials.length, correct);
  }
  let aggregated: { scores: number[][]; counted: number };
  try {
    aggregated = aggregateTrialScores(results, model.n_layers, model.n_heads);
  } catch (error) {
    if (!(error instanceof ProfileError) || options.countAllTrials) throw error;
    throw new ProfileError(
      `${error.message} (a model too small to answer can be profiled with countAllTrials)`,
    );
  }
  return parseProfile(
    {
      schema_version: PROFILE_SCHEMA_VERSION,
      model,
      method: options.method,
      granularity: options.granularity,
      scores: aggregated.scores,
      trials: aggregated.counted,
      probe: {
        max_length: options.maxLength,
        lengths: probeLengths(options.maxLength, nLengths),
        depths: probeDepths(nDepths),
        needles: Array.from(new Set(trials.map((t) => t.needle.id))),
        seed: options.seed,
        buffer: options.buffer ?? DEFAULT_PROBE_BUFFER,
        counted_trials: options.countAllTrials ? 'all' : 'correct',
        ...(scoredSpan === 'needle' ? { scored_span: scoredSpan } : {}),
      },
      engine_version: options.engineVersion,
      created_at: options.now.toISOString(),
    },
    'profile',
  );
}
