import fs from 'node:fs';
import path from 'node:path';

import { hasShared, REPO_ROOT, SHARED_DIR } from './helpers/protocol';

/**
 * The product contract: every table of ../shared/seed/pipedrive-pipelines.txt is a stream and
 * every column listed there is in that stream's schema under the seed's name.
 */
const SEED = path.join(SHARED_DIR, 'seed', 'pipedrive-pipelines.txt');

/** The seed's tables in the order of their column lists ("Campo Tipo"), as our stream names. */
const TABLES_IN_SEED_ORDER = [
  'activities',
  'activity_fields',
  'activity_fields_options',
  'activity_types',
  'deal_fields',
  'deal_fields_options',
  'deal_products',
  'deals',
  'deals_flow',
  'notes',
  'organization_fields',
  'organization_fields_options',
  'organizations',
  'persons',
  'persons_emails',
  'persons_phones',
  'products',
  'products_prices',
  'stages',
  'teams',
  'teams_users',
  'users',
  'pipelines',
];

const SEED_TYPES = new Set(['text', 'timestamp', 'boolean', 'float', 'int']);

/** Column names per column list: a name line followed (after blank lines) by a seed type. */
function seedColumnLists(text: string): string[][] {
  const blocks = text.split('Campo Tipo').slice(1);
  return blocks.map((block) => {
    const lines = block
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '');
    const columns: string[] = [];
    for (let i = 0; i + 1 < lines.length; i++) {
      if (/^[a-z][a-z0-9_]*$/.test(lines[i]) && SEED_TYPES.has(lines[i + 1])) {
        columns.push(lines[i]);
      }
    }
    return columns;
  });
}

const maybe = hasShared && fs.existsSync(SEED) ? describe : describe.skip;

maybe('the seed is the contract', () => {
  let lists: string[][] = [];
  beforeAll(() => {
    lists = seedColumnLists(fs.readFileSync(SEED, 'utf8'));
  });

  test('the seed has the tables this test maps to streams', () => {
    expect(lists).toHaveLength(TABLES_IN_SEED_ORDER.length);
  });

  test.each(TABLES_IN_SEED_ORDER.map((name, index) => [name, index] as const))(
    '%s has every seed column',
    (name, index) => {
      const schema = JSON.parse(
        fs.readFileSync(path.join(REPO_ROOT, 'resources', 'schemas', `${name}.json`), 'utf8'),
      );
      // The seed's *_custom_property_x/y/z are examples of custom fields, which come from
      // the account's field definitions instead.
      const expected = lists[index].filter((column) => !/_custom_property_/.test(column));
      expect(expected.length).toBeGreaterThan(0);
      const missing = expected.filter((column) => !(column in schema.properties));
      expect({ name, missing }).toEqual({ name, missing: [] });
    },
  );
});
