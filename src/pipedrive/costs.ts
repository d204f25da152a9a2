/**
 * Pipedrive's API token cost per request (x-token-cost in the official OpenAPI
 * files). The cost does not depend on `limit`, so every list uses limit=500.
 */
const V2_COSTS: Array<[RegExp, number]> = [
  [/^\/deals\/archived$/, 20],
  [/^\/(pipelines|stages)$/, 5],
  [/^\/[a-zA-Z]+\/\d+$/, 1],
  [/^\/[a-zA-Z]+\/search$/, 20],
];

const V1_COSTS: Array<[RegExp, number]> = [
  [/^\/users\/me$/, 2],
  [/^\/leadLabels$/, 10],
  [/^\/leadSources$/, 2],
  [/^\/roles\/\d+\/assignments$/, 10],
  [/^\/leads\/archived$/, 40],
  [/^\/deals\/\d+\/flow$/, 40],
  [/^\/deals\/\d+\/changelog$/, 20],
  [/^\/deals\/\d+\/participants$/, 10],
  [/^\/[a-zA-Z]+\/\d+$/, 2],
];

export function tokenCost(version: 'v1' | 'v2', path: string): number {
  const table = version === 'v2' ? V2_COSTS : V1_COSTS;
  for (const [pattern, cost] of table) if (pattern.test(path)) return cost;
  return version === 'v2' ? 10 : 20;
}

/**
 * A stable label for logs and stats: id segments become {id} (numbers, and the hex and UUID ids
 * of goals and permission sets), so a per-goal endpoint is one line of the summary.
 */
export function endpointLabel(version: 'v1' | 'v2', path: string): string {
  return `/${version}${path.replace(/\/(\d+|[0-9a-f]{32}|[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12})(?=\/|$)/gi, '/{id}')}`;
}
