import type { Response } from 'express';
import { ApiError } from '@headkv/api';
import type { RateDecision } from './rate-limiter.service';

/** A duration the way OpenAI's x-ratelimit-reset-* headers write it: "250ms", "1.5s", "2m30s". */
export function formatResetDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${Number(seconds.toFixed(3))}s`;
  const minutes = Math.floor(seconds / 60);
  return `${minutes}m${Number((seconds - minutes * 60).toFixed(3))}s`;
}

/** The x-ratelimit-* headers of every limited request, and Retry-After on a refusal. */
export function setRateLimitHeaders(response: Response, decision: RateDecision): void {
  response.setHeader('x-ratelimit-limit-requests', String(decision.limit));
  response.setHeader('x-ratelimit-remaining-requests', String(decision.remaining));
  response.setHeader('x-ratelimit-reset-requests', formatResetDuration(decision.resetMs));
  if (!decision.allowed) {
    response.setHeader('retry-after', String(Math.max(1, Math.ceil(decision.retryAfterMs / 1000))));
    response.setHeader('retry-after-ms', String(decision.retryAfterMs));
  }
}

/** The OpenAI-style 429 body: type "requests", code "rate_limit_exceeded". */
export function rateLimitError(decision: RateDecision): ApiError {
  return new ApiError(
    429,
    `Rate limit reached for requests on this API key: limit ${decision.limit} (burst). ` +
      `Please try again in ${formatResetDuration(decision.retryAfterMs)}.`,
    'requests',
    null,
    'rate_limit_exceeded',
  );
}
