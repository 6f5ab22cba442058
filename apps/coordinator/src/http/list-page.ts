import { ApiError, type ListPage } from '@headkv/api';
import type Redis from 'ioredis';

export const DEFAULT_LIST_LIMIT = 20;
export const MAX_LIST_LIMIT = 100;

/** Parses the `limit` query parameter (1..100, default 20). */
export function parseLimit(raw: string | undefined): number {
  if (raw === undefined || raw === '') return DEFAULT_LIST_LIMIT;
  const limit = Number(raw);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
    throw ApiError.invalidRequest(`'limit' must be an integer between 1 and ${MAX_LIST_LIMIT}`, 'limit');
  }
  return limit;
}

/**
 * Cursor pagination over a per-tenant sorted set of ids scored by creation time, newest first
 * (or oldest first with order=asc): the page starts right after the `after` id.
 */
export async function listPage<T extends { id: string }>(
  redis: Redis,
  indexKey: string,
  options: { after?: string; limit: number; order: 'asc' | 'desc' },
  load: (id: string) => Promise<T | null>,
  keep: (item: T) => boolean = () => true,
): Promise<ListPage<T>> {
  let start = 0;
  if (options.after) {
    const rank =
      options.order === 'desc'
        ? await redis.zrevrank(indexKey, options.after)
        : await redis.zrank(indexKey, options.after);
    if (rank === null)
      throw ApiError.invalidRequest(`'after' names an unknown id "${options.after}"`, 'after');
    start = rank + 1;
  }
  const data: T[] = [];
  let hasMore = false;
  // Read in chunks so that filtered-out items (keep) do not shorten the page.
  const chunk = options.limit + 1;
  for (;;) {
    const ids =
      options.order === 'desc'
        ? await redis.zrevrange(indexKey, start, start + chunk - 1)
        : await redis.zrange(indexKey, start, start + chunk - 1);
    for (const id of ids) {
      const item = await load(id);
      if (item === null || !keep(item)) continue;
      if (data.length === options.limit) {
        hasMore = true;
        break;
      }
      data.push(item);
    }
    if (hasMore || ids.length < chunk) break;
    start += chunk;
  }
  return {
    object: 'list',
    data,
    first_id: data.length > 0 ? data[0].id : null,
    last_id: data.length > 0 ? data[data.length - 1].id : null,
    has_more: hasMore,
  };
}

export function parseOrder(raw: string | undefined): 'asc' | 'desc' {
  if (raw === undefined || raw === '' || raw === 'desc') return 'desc';
  if (raw === 'asc') return 'asc';
  throw ApiError.invalidRequest("'order' must be 'asc' or 'desc'", 'order');
}
