// @headkv/engine: the typed HeadKV engine used by the worker and the CLI.
export { Engine } from './engine';
export type { EngineOptions, EngineStats } from './engine';
export { EngineError } from './engine-error';
export { Tokenizer } from './tokenizer';
export type { EncodeOptions } from './tokenizer';
export { ChatTemplate } from './chat-template';
export type { ChatMessage, ChatTemplateOptions } from './chat-template';
export { IncrementalDetokenizer } from './detokenizer';
export { StopStringMatcher } from './stop-strings';
export { DEFAULT_MAX_TOKENS } from './generate-types';
export type {
  FinishReason,
  GenerateRequest,
  GenerateResult,
  GeneratedToken,
  KvOptions,
  KvSelection,
} from './generate-types';
export { KV_METHODS, loadNativeAddon } from './native-addon';
export type {
  EngineDevice,
  KvGranularity,
  KvMethod,
  NativeAddon,
  NativeContext,
  NativeContextStats,
  NativeModel,
  NativeModelInfo as ModelInfo,
  NativeSelection,
  NativeSequenceInfo,
  ProbeRule as NativeProbeRule,
} from './native-addon';
