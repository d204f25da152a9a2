import fs from 'node:fs';
import path from 'node:path';

import { endpointLabel, tokenCost } from '../src/pipedrive/costs';
import { idListingCost } from '../src/streams/readers';
import { hasShared, SHARED_DIR } from './helpers/protocol';

/** Every GET the connector makes, with an example concrete path. */
const CALLED: Array<['v1' | 'v2', string, string]> = [
  ['v1', '/users/me', '/users/me'],
  ['v1', '/users', '/users'],
  ['v1', '/activityTypes', '/activityTypes'],
  ['v1', '/activityFields', '/activityFields'],
  ['v1', '/dealFields', '/dealFields'],
  ['v1', '/personFields', '/personFields'],
  ['v1', '/organizationFields', '/organizationFields'],
  ['v1', '/productFields', '/productFields'],
  ['v1', '/notes', '/notes'],
  ['v1', '/legacyTeams', '/legacyTeams'],
  ['v1', '/legacyTeams/{id}/users', '/legacyTeams/3/users'],
  ['v1', '/deals/{id}/flow', '/deals/42/flow'],
  ['v1', '/projects', '/projects'],
  ['v1', '/tasks', '/tasks'],
  ['v1', '/projects/boards', '/projects/boards'],
  ['v1', '/projects/phases', '/projects/phases'],
  ['v1', '/deals/{id}/participants', '/deals/42/participants'],
  ['v1', '/leads', '/leads'],
  ['v1', '/leads/archived', '/leads/archived'],
  ['v1', '/leadLabels', '/leadLabels'],
  ['v1', '/currencies', '/currencies'],
  ['v1', '/files', '/files'],
  ['v1', '/filters', '/filters'],
  ['v1', '/goals/find', '/goals/find'],
  ['v1', '/goals/{id}/results', '/goals/5e0d3370a6a322268586bb568c33a650/results'],
  ['v1', '/mailbox/mailThreads', '/mailbox/mailThreads'],
  ['v1', '/mailbox/mailThreads/{id}/mailMessages', '/mailbox/mailThreads/30/mailMessages'],
  ['v1', '/callLogs', '/callLogs'],
  ['v1', '/leadSources', '/leadSources'],
  ['v1', '/noteFields', '/noteFields'],
  ['v1', '/permissionSets', '/permissionSets'],
  [
    'v1',
    '/permissionSets/{id}/assignments',
    '/permissionSets/8b6da43c-6267-473a-b1b0-f8887b4db7bf/assignments',
  ],
  ['v1', '/roles', '/roles'],
  ['v1', '/roles/{id}/assignments', '/roles/4/assignments'],
  ['v2', '/deals', '/deals'],
  ['v2', '/deals/archived', '/deals/archived'],
  ['v2', '/deals/products', '/deals/products'],
  ['v2', '/deals/installments', '/deals/installments'],
  ['v2', '/deals/{id}/followers', '/deals/42/followers'],
  ['v2', '/persons/{id}/followers', '/persons/42/followers'],
  ['v2', '/organizations/{id}/followers', '/organizations/42/followers'],
  ['v2', '/products/{id}/followers', '/products/42/followers'],
  ['v2', '/products/{id}/variations', '/products/42/variations'],
  ['v2', '/persons', '/persons'],
  ['v2', '/organizations', '/organizations'],
  ['v2', '/activities', '/activities'],
  ['v2', '/products', '/products'],
  ['v2', '/pipelines', '/pipelines'],
  ['v2', '/stages', '/stages'],
];

/** GET x-token-cost per path from one OpenAPI file. */
function openApiCosts(file: string): Map<string, number> {
  const costs = new Map<string, number>();
  let currentPath = '';
  let method = '';
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const pathMatch = /^ {2}'?(\/[^:']*)'?:\s*$/.exec(line);
    if (pathMatch) currentPath = pathMatch[1];
    const methodMatch = /^ {4}(get|post|put|patch|delete):/.exec(line);
    if (methodMatch) method = methodMatch[1];
    const costMatch = /^ {6}x-token-cost: (\d+)/.exec(line);
    if (costMatch && method === 'get') costs.set(currentPath, Number(costMatch[1]));
  }
  return costs;
}

const maybe = hasShared ? describe : describe.skip;

maybe('token costs match the official OpenAPI files', () => {
  const dir = path.join(SHARED_DIR, 'pipedrive-openapi');
  // Read in beforeAll: describe.skip still runs this body to collect the tests.
  let v1 = new Map<string, number>();
  let v2 = new Map<string, number>();
  beforeAll(() => {
    v1 = openApiCosts(path.join(dir, 'openapi-v1.yaml'));
    v2 = openApiCosts(path.join(dir, 'openapi-v2.yaml'));
  });

  test.each(CALLED)('%s %s', (version, template, concrete) => {
    const official = (version === 'v1' ? v1 : v2).get(template);
    expect(official).toBeDefined();
    expect(tokenCost(version, concrete)).toBe(official);
  });
});

test('endpoint labels: numeric, hex (goals) and UUID (permission sets) ids are {id}', () => {
  const [, , goal] = CALLED.find(([, template]) => template === '/goals/{id}/results')!;
  const [, , set] = CALLED.find(([, template]) => template === '/permissionSets/{id}/assignments')!;
  expect(endpointLabel('v1', goal)).toBe('/v1/goals/{id}/results');
  expect(endpointLabel('v1', set)).toBe('/v1/permissionSets/{id}/assignments');
  expect(endpointLabel('v1', '/roles/4/assignments')).toBe('/v1/roles/{id}/assignments');
  expect(endpointLabel('v1', '/mailbox/mailThreads')).toBe('/v1/mailbox/mailThreads');
});

test('a delete check is priced before it starts: a page of each pass, the rest on the main list', () => {
  const v2 = (path: string) => ({ key: 'update_time', reader: 'v2' as const, path });
  // 6,000 activities: 12 pages of 10 tokens.
  expect(idListingCost([v2('/activities')], 6000)).toBe(120);
  expect(idListingCost([v2('/activities')], 500)).toBe(10);
  expect(idListingCost([v2('/activities')], 0)).toBe(10);
  // Deals: open/won/lost (10 a page) and archived (20): 710 ids, 2 + 1 pages.
  expect(idListingCost([v2('/deals'), v2('/deals/archived')], 710)).toBe(40);
  // v1 lists cost 20 a page; newest-first ones (files) page by 100.
  expect(idListingCost([{ key: 'update_time', reader: 'v1', path: '/notes' }], 1001)).toBe(60);
  expect(
    idListingCost([{ key: 'update_time', reader: 'v1-newest-first', path: '/files' }], 250),
  ).toBe(60);
});
