import { offsetPage } from '../store/query';
import { EndpointContext, EndpointResult, ok, v1Limit, v1Start } from './common';

/**
 * v1 endpoints whose page size is capped below the usual 500 (files 100, call logs 50). Like
 * the other v1 endpoints they serve a larger `limit` as the cap, and `pagination.limit` says so.
 */
export function withLimitCap(context: EndpointContext, cap: number): EndpointContext {
  const limit = Math.min(v1Limit(context.query), cap);
  return { ...context, query: { ...context.query, limit: String(limit) } };
}

/** Offset paging over a list built per request, with a page size cap. */
export function cappedArrayPage<T>(
  context: EndpointContext,
  items: T[],
  options: { cap?: number; emptyAsNull: boolean },
): EndpointResult {
  const limit = Math.min(v1Limit(context.query), options.cap ?? Number.POSITIVE_INFINITY);
  const page = offsetPage(items, v1Start(context.query), limit);
  return ok(page.items.length === 0 && options.emptyAsNull ? null : page.items, {
    pagination: page.pagination,
  });
}
