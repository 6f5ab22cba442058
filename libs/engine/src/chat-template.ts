// chat-template.ts: renders a model's chat template exactly as transformers'
// tokenizer.apply_chat_template does: the Jinja template with trim_blocks and lstrip_blocks,
// `messages`, `add_generation_prompt`, every special token of the tokenizer by name (bos_token,
// eos_token, ...) and raise_exception. Rendered text is tokenized without adding special tokens.
import { Template } from '@huggingface/jinja';

import { EngineError } from './engine-error';

// Other fields of a message object (name, tool_calls, ...) reach the template unchanged.
export interface ChatMessage {
  role: string;
  content: string;
}

export interface ChatTemplateOptions {
  addGenerationPrompt?: boolean;
  // Extra template variables (e.g. `tools`, `documents`, `enable_thinking`).
  variables?: Record<string, unknown>;
}

export class ChatTemplate {
  private readonly template: Template;

  // `source` names where the template came from, for error messages.
  constructor(
    text: string,
    private readonly specialTokens: Record<string, string | string[]>,
    private readonly source: string,
  ) {
    try {
      this.template = new Template(text);
    } catch (error) {
      throw new EngineError(
        'HKV_TOKENIZER',
        `${source}: chat template does not parse: ${(error as Error).message}`,
      );
    }
  }

  render(messages: ChatMessage[], options: ChatTemplateOptions = {}): string {
    validateMessages(messages);
    try {
      return this.template.render({
        ...this.specialTokens,
        ...options.variables,
        messages,
        add_generation_prompt: options.addGenerationPrompt ?? true,
      });
    } catch (error) {
      throw new EngineError(
        'HKV_REQUEST',
        `${this.source}: chat template failed: ${(error as Error).message}`,
      );
    }
  }
}

function validateMessages(messages: ChatMessage[]): void {
  if (!Array.isArray(messages) || messages.length === 0) {
    throw new EngineError('HKV_REQUEST', 'messages must be a non-empty array of {role, content}');
  }
  messages.forEach((message, index) => {
    if (typeof message?.role !== 'string' || typeof message.content !== 'string') {
      throw new EngineError('HKV_REQUEST', `messages[${index}] must have a string role and a string content`);
    }
  });
}
