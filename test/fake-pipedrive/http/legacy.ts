import { badRequest } from './errors';

/**
 * Servers that predate what this fake otherwise follows. Pipedrive rolls changes out gradually,
 * so a connector meets both: notes and leads learnt `updated_since` on 2026-01-30, and the
 * December 2025 OpenAPI file has no `updated_since` on v2 products.
 */

export interface LegacyControls {
  /** v1 notes and leads silently ignore `updated_since` (a server from before 2026-01-30). */
  v1IgnoresUpdatedSince: boolean;
  /** v2 products answer 400 to `updated_since`/`updated_until` (the December 2025 file). */
  productsRejectUpdatedSince: boolean;
}

const V1_LISTS_WITH_UPDATED_SINCE = new Set([
  '/api/v1/notes',
  '/api/v1/leads',
  '/api/v1/leads/archived',
]);

/** The query the endpoint runs with on such a server; throws the 400 where it refuses. */
export function legacyQuery(
  controls: LegacyControls,
  template: string,
  query: Record<string, string>,
): Record<string, string> {
  if (controls.v1IgnoresUpdatedSince && V1_LISTS_WITH_UPDATED_SINCE.has(template)) {
    const { updated_since: _ignored, ...rest } = query;
    return rest;
  }
  if (controls.productsRejectUpdatedSince && template === '/api/v2/products') {
    for (const name of ['updated_since', 'updated_until']) {
      if (query[name] !== undefined) throw badRequest(`Parameter '${name}' is not allowed here`);
    }
  }
  return query;
}
