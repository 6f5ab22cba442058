import type { ChatCompletion, ChatCompletionRequest } from '@headkv/api';
import type { GenerateResult } from '@headkv/engine';

/** The chat.completion body of a finished generation, with KV accounting in `usage`. */
export function chatCompletionOf(
  requestId: string,
  request: ChatCompletionRequest,
  result: GenerateResult,
  fingerprint: string,
): ChatCompletion {
  const completionTokens = result.tokenIds.length;
  return {
    id: requestId.startsWith('chatcmpl-') ? requestId : `chatcmpl-${requestId.replace(/^batch_req_/, '')}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: request.model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: result.text, refusal: null },
        finish_reason: result.finishReason,
        logprobs: null,
      },
    ],
    usage: {
      prompt_tokens: result.promptTokens,
      completion_tokens: completionTokens,
      total_tokens: result.promptTokens + completionTokens,
      kv_compression: {
        method: result.kv.method,
        kv_size: result.kv.kvSize,
        kv_bytes_full: result.kv.bytesFull,
        kv_bytes_kept: result.kv.bytesKept,
      },
    },
    system_fingerprint: fingerprint,
  };
}
