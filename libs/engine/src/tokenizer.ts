// tokenizer.ts: a Hugging Face tokenizer (tokenizer.json + tokenizer_config.json) with the
// model's chat template, matching transformers' encode / decode / apply_chat_template.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';

import { ChatMessage, ChatTemplate, ChatTemplateOptions } from './chat-template';
import { EngineError } from './engine-error';

// The special-token attributes transformers passes to chat templates (special_tokens_map).
const SPECIAL_TOKEN_NAMES = [
  'bos_token',
  'eos_token',
  'unk_token',
  'sep_token',
  'pad_token',
  'cls_token',
  'mask_token',
] as const;

type JsonObject = Record<string, unknown>;

function readJson(file: string): JsonObject {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new EngineError(
      'HKV_ERR_IO',
      `${file}: cannot read: ${(error as NodeJS.ErrnoException).code ?? error}`,
    );
  }
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new Error('top level is not an object');
    }
    return value as JsonObject;
  } catch (error) {
    throw new EngineError('HKV_TOKENIZER', `${file}: invalid JSON: ${(error as Error).message}`);
  }
}

// A token in tokenizer_config.json is either "<s>" or {"content": "<s>", ...} (AddedToken).
function tokenContent(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null && typeof (value as JsonObject).content === 'string') {
    return (value as JsonObject).content as string;
  }
  return undefined;
}

function specialTokensOf(config: JsonObject, map: JsonObject): Record<string, string | string[]> {
  const tokens: Record<string, string | string[]> = {};
  for (const name of SPECIAL_TOKEN_NAMES) {
    const content = tokenContent(config[name]) ?? tokenContent(map[name]);
    if (content !== undefined) tokens[name] = content;
  }
  const additional = config.additional_special_tokens ?? map.additional_special_tokens;
  if (Array.isArray(additional)) {
    tokens.additional_special_tokens = additional
      .map(tokenContent)
      .filter((t): t is string => t !== undefined);
  }
  return tokens;
}

// tokenizer_config.json's chat_template is a string or a list of {name, template} (the one named
// "default" is used, as transformers does); newer checkpoints keep it in chat_template.jinja.
function chatTemplateText(dir: string, config: JsonObject): { text: string; source: string } | undefined {
  const configFile = path.join(dir, 'tokenizer_config.json');
  const value = config.chat_template;
  if (typeof value === 'string') return { text: value, source: configFile };
  if (Array.isArray(value)) {
    const named = value.find((entry) => (entry as JsonObject)?.name === 'default') as JsonObject | undefined;
    if (named && typeof named.template === 'string') return { text: named.template, source: configFile };
    throw new EngineError('HKV_TOKENIZER', `${configFile}: chat_template list has no entry named "default"`);
  }
  const jinjaFile = path.join(dir, 'chat_template.jinja');
  if (fs.existsSync(jinjaFile)) return { text: fs.readFileSync(jinjaFile, 'utf8'), source: jinjaFile };
  return undefined;
}

export interface EncodeOptions {
  // Adds BOS/EOS as the tokenizer's post-processor says (transformers' default: true).
  addSpecialTokens?: boolean;
}

export class Tokenizer {
  private constructor(
    private readonly tokenizer: HfTokenizer,
    private readonly chatTemplate: ChatTemplate | undefined,
    private readonly dir: string,
  ) {}

  static fromDir(dir: string): Tokenizer {
    const tokenizerFile = path.join(dir, 'tokenizer.json');
    const tokenizerJson = readJson(tokenizerFile);
    const configFile = path.join(dir, 'tokenizer_config.json');
    const config = fs.existsSync(configFile) ? readJson(configFile) : {};
    const mapFile = path.join(dir, 'special_tokens_map.json');
    const specialTokensMap = fs.existsSync(mapFile) ? readJson(mapFile) : {};
    let tokenizer: HfTokenizer;
    try {
      tokenizer = new HfTokenizer(tokenizerJson, config);
    } catch (error) {
      throw new EngineError(
        'HKV_TOKENIZER',
        `${tokenizerFile}: unsupported tokenizer: ${(error as Error).message}`,
      );
    }
    const specialTokens = specialTokensOf(config, specialTokensMap);
    const template = chatTemplateText(dir, config);
    const chatTemplate = template
      ? new ChatTemplate(template.text, specialTokens, template.source)
      : undefined;
    return new Tokenizer(tokenizer, chatTemplate, dir);
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    return this.tokenizer.encode(text, { add_special_tokens: options.addSpecialTokens ?? true }).ids;
  }

  decode(ids: readonly number[], options: { skipSpecialTokens?: boolean } = {}): string {
    // @huggingface/tokenizers refuses an empty list; transformers decodes it to ''.
    if (ids.length === 0) return '';
    return this.tokenizer.decode([...ids], { skip_special_tokens: options.skipSpecialTokens ?? false });
  }

  // The prompt text of a conversation, as apply_chat_template(messages, tokenize=False).
  renderChat(messages: ChatMessage[], options: ChatTemplateOptions = {}): string {
    if (!this.chatTemplate) {
      throw new EngineError(
        'HKV_REQUEST',
        `${path.join(this.dir, 'tokenizer_config.json')}: the model has no chat_template (nor chat_template.jinja)`,
      );
    }
    return this.chatTemplate.render(messages, options);
  }

  // Token ids of a conversation, as apply_chat_template(messages, tokenize=True): the rendered
  // text already holds the special tokens, so none are added.
  encodeChat(messages: ChatMessage[], options: ChatTemplateOptions = {}): number[] {
    return this.encode(this.renderChat(messages, options), { addSpecialTokens: false });
  }
}
