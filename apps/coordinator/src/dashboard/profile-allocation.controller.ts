// profile-allocation.controller.ts: GET /dashboard/profiles/:fingerprint/:method/:granularity/allocation,
// the per-head budgets a stored profile gives for a kv_size/beta, and the bytes they keep.
import { Controller, Get, Param, Query, Req } from '@nestjs/common';
import type { Request } from 'express';
import { ApiError } from '@headkv/api';
import { allocateHeadBudgets, HEADKV_WINDOW } from '@headkv/profiles';
import { CoordinatorServices } from './coordinator-services';

function numberParam(
  query: Record<string, string | undefined>,
  name: string,
  check: (value: number) => boolean,
  rule: string,
  fallback?: number,
): number {
  const raw = query[name];
  if (raw === undefined || raw === '') {
    if (fallback !== undefined) return fallback;
    throw ApiError.invalidRequest(`'${name}' is required (${rule})`, name, 'missing_required_parameter');
  }
  const value = Number(raw);
  if (!check(value))
    throw ApiError.invalidRequest(`'${name}' must be ${rule}, got ${JSON.stringify(raw)}`, name);
  return value;
}

@Controller('dashboard/profiles')
export class ProfileAllocationController {
  constructor(private readonly services: CoordinatorServices) {}

  @Get(':fingerprint/:method/:granularity/allocation')
  async allocation(
    @Req() request: Request,
    @Param('fingerprint') fingerprint: string,
    @Param('method') method: string,
    @Param('granularity') granularity: string,
    @Query() query: Record<string, string | undefined>,
  ) {
    this.services.authenticate(request);
    const kvSize = numberParam(
      query,
      'kv_size',
      (v) => Number.isInteger(v) && v > HEADKV_WINDOW,
      `an integer > ${HEADKV_WINDOW}`,
    );
    const beta = numberParam(query, 'beta', (v) => Number.isFinite(v) && v >= 1, 'a number >= 1');
    const headDim = numberParam(
      query,
      'head_dim',
      (v) => Number.isInteger(v) && v > 0,
      'a positive integer',
      128,
    );
    const elementBytes = numberParam(query, 'element_bytes', (v) => [1, 2, 4].includes(v), '1, 2 or 4', 2);
    const profiles = this.services.profiles;
    const profile = await profiles.get(profiles.identity(fingerprint, method, granularity));
    const allocation = allocateHeadBudgets(profile.scores, profile.model.n_kv_heads, { kvSize, beta });
    // kv-head profiles keep one cache per KV head; query-head ones one per query head.
    const caps = profile.granularity === 'kv-head' ? allocation.kvHeadCaps : allocation.queryHeadCaps;
    const bytesPerToken = 2 * headDim * elementBytes;
    const tokensKept = caps.flat().reduce((sum, cap) => sum + cap + HEADKV_WINDOW, 0);
    const heads = caps.length * caps[0].length;
    return {
      object: 'profile.allocation',
      model: profile.model,
      method: profile.method,
      granularity: profile.granularity,
      kv_size: kvSize,
      beta,
      window: HEADKV_WINDOW,
      head_dim: headDim,
      element_bytes: elementBytes,
      floor: allocation.floor,
      pool: allocation.pool,
      // Selected prompt tokens per [layer][head], the window excluded.
      caps,
      tokens_kept: tokensKept,
      bytes_kept: tokensKept * bytesPerToken,
      // The same kv_size given to every head alike, for comparison.
      uniform_bytes: heads * kvSize * bytesPerToken,
    };
  }
}
