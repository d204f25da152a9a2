import type { FakePipedrive } from './fake-pipedrive';
import {
  errorsOf,
  expectValidProtocol,
  ofType,
  recordsOf,
  type RunResult,
} from './helpers/connector';
import {
  configFor,
  discoveredCatalog,
  expectNoTokenPrinted,
  incremental,
  lastStatusOf,
  logsOf,
  run,
  startFake,
} from './helpers/scenarios';

/**
 * Issue 9, item 5, through bin/main against the fake: custom-field columns are the configured
 * catalog's, mapped by Pipedrive field key, whatever happens to the field definitions between
 * discover and read (renames, one of two same-named fields deactivated, a field added, one
 * deleted).
 */

const KEY = 'x-pipedrive-field-key';
const STREAMS = ['deals', 'leads'];

let fake: FakePipedrive;
let catalog: any;
/** Catalog column → field key, per stream, as discover declared them. */
const keyOfColumn = new Map<string, Map<string, string>>();

beforeAll(async () => {
  fake = await startFake({
    seed: 61,
    sizes: { deals: 25, archivedDeals: 0, deletedDeals: 0, leads: 20, archivedLeads: 0 },
  });
  const discover = await run(['discover'], { config: configFor(fake) });
  expect(discover.code).toBe(0);
  catalog = discoveredCatalog(discover, incremental(...STREAMS));
  for (const entry of catalog.streams) {
    const columns = new Map<string, string>();
    for (const [column, schema] of Object.entries<any>(entry.stream.json_schema.properties)) {
      // The keyword, or (catalogs of connector versions before it) the key in the description.
      const key =
        typeof schema[KEY] === 'string'
          ? schema[KEY]
          : /Pipedrive custom field ([0-9a-f]{40})\b/.exec(schema.description ?? '')?.[1];
      if (key && !schema['x-pipedrive-field-part']) columns.set(column, key);
    }
    keyOfColumn.set(entry.stream.name, columns);
  }
});
afterAll(() => fake?.stop());

const dealField = (name: string) => {
  const field = fake.fields().deal.find((f) => f.name === name);
  if (!field) throw new Error(`The fake has no deal field "${name}"`);
  return field;
};
const columnOf = (stream: string, key: string): string =>
  [...keyOfColumn.get(stream)!.entries()].find(([, k]) => k === key)![0];
const catalogColumns = (stream: string): string[] =>
  Object.keys(
    catalog.streams.find((s: any) => s.stream.name === stream).stream.json_schema.properties,
  );

/** The columns records of a stream carry (the union over its records). */
function emittedColumns(result: RunResult, stream: string): string[] {
  const columns = new Set<string>();
  for (const record of recordsOf(result, stream))
    for (const key of Object.keys(record)) columns.add(key);
  return [...columns].sort();
}

/** A deal's or lead's raw value of a custom field in the fake (v2 custom_fields, v1 root key). */
function rawValue(stream: string, record: Record<string, any>, key: string): unknown {
  if (stream === 'deals')
    return (fake.get('deals', record.id)!.custom_fields as any)?.[key] ?? null;
  return (fake.get('leads', record.id) as any)?.[key] ?? null;
}

describe('custom fields between discover and read (issue 9, item 5)', () => {
  let read: RunResult;
  let keys: { older: string; newer: string; renamed: string; deleted: string; added: string };

  beforeAll(async () => {
    // Two fields whose names make the same column: the older (lower id) got the plain name.
    const [older, newer] = [dealField('Deal Source'), dealField('deal source')].sort(
      (a, b) => a.id - b.id,
    );
    expect(columnOf('deals', older.key)).toBe('deal_source');
    expect(columnOf('deals', newer.key)).toBe(`deal_source_${newer.key.slice(0, 8)}`);
    const renamed = dealField('Seats').key;
    const deleted = dealField('Go-live Date').key;
    fake.renameCustomField('deal', renamed, 'Seat Count');
    fake.renameCustomField('deal', newer.key, 'Acquisition Channel');
    fake.deactivateCustomField('deal', older.key);
    fake.deleteCustomField('deal', deleted);
    const added = fake.addCustomField('deal', { name: 'Renewal Owner', type: 'varchar' }).key;
    fake.moveField('deal', renamed, 0);
    keys = { older: older.key, newer: newer.key, renamed, deleted, added };
    read = await run(['read'], { config: configFor(fake), catalog });
  });

  test('the read completes', () => {
    expectValidProtocol(read);
    expect({ code: read.code, errors: errorsOf(read) }).toEqual({ code: 0, errors: [] });
    for (const name of STREAMS) {
      expect(recordsOf(read, name).length).toBeGreaterThan(0);
      expect(lastStatusOf(read, name).status).toBe('COMPLETE');
    }
  });

  test('records carry exactly the catalog’s columns: none renamed, none added', () => {
    for (const name of STREAMS) {
      const allowed = new Set(catalogColumns(name));
      expect({ name, extra: emittedColumns(read, name).filter((c) => !allowed.has(c)) }).toEqual({
        name,
        extra: [],
      });
      expect(emittedColumns(read, name)).toEqual(
        expect.arrayContaining([...keyOfColumn.get(name)!.keys()]),
      );
      for (const record of recordsOf(read, name)) {
        expect(record).not.toHaveProperty('seat_count');
        expect(record).not.toHaveProperty('acquisition_channel');
        expect(record).not.toHaveProperty('renewal_owner');
      }
    }
  });

  test('values are mapped by field key: renamed fields keep their columns and values', () => {
    for (const name of STREAMS) {
      const seats = columnOf(name, keys.renamed);
      const channel = columnOf(name, keys.newer);
      expect([seats, channel]).toEqual(['seats', `deal_source_${keys.newer.slice(0, 8)}`]);
      let withValues = 0;
      for (const record of recordsOf(read, name)) {
        expect({ id: record.id, seats: record[seats] }).toEqual({
          id: record.id,
          seats: rawValue(name, record, keys.renamed),
        });
        expect({ id: record.id, channel: record[channel] }).toEqual({
          id: record.id,
          channel: rawValue(name, record, keys.newer),
        });
        if (record[seats] !== null && record[channel] !== null) withValues++;
      }
      expect(withValues).toBeGreaterThan(0);
    }
  });

  test('the deactivated one of two same-named fields leaves its column empty; the other does not move into it', () => {
    for (const name of STREAMS) {
      const plain = columnOf(name, keys.older);
      expect(plain).toBe('deal_source');
      const values = recordsOf(read, name).map((record) => record[plain]);
      expect({ name, values: [...new Set(values)] }).toEqual({ name, values: [null] });
    }
  });

  test('a field deleted in Pipedrive stays null with one warning; a new field is not emitted, with one INFO', () => {
    for (const name of STREAMS) {
      const column = columnOf(name, keys.deleted);
      expect(new Set(recordsOf(read, name).map((record) => record[column]))).toEqual(
        new Set([null]),
      );
      const warnings = logsOf(read, 'WARN').filter(
        (m) => m.startsWith(`[${name}]`) && m.includes(keys.deleted),
      );
      expect({ name, warnings: warnings.length }).toEqual({ name, warnings: 1 });
      expect(warnings[0]).toContain(column);
      const infos = logsOf(read, 'INFO').filter(
        (m) => m.startsWith(`[${name}]`) && m.includes('Renewal Owner'),
      );
      expect({ name, infos: infos.length }).toEqual({ name, infos: 1 });
      expect(infos[0]).toMatch(/refresh the source schema/);
      for (const record of recordsOf(read, name)) expect(record).not.toHaveProperty(keys.added);
    }
  });

  test('two reads with renames between them emit identical column sets', async () => {
    fake.renameCustomField('deal', dealField('Contract Value').key, 'Deal Amount');
    fake.renameCustomField('deal', keys.renamed, 'Licences');
    fake.moveField('deal', dealField('Industries').key, 2);
    const again = await run(['read'], { config: configFor(fake), catalog });
    expect(again.code).toBe(0);
    for (const name of STREAMS) {
      expect({ name, columns: emittedColumns(again, name) }).toEqual({
        name,
        columns: emittedColumns(read, name),
      });
    }
    expect(ofType(again, 'RECORD').length).toBe(ofType(read, 'RECORD').length);
  });
});

test('no run printed the token', () => {
  expectNoTokenPrinted();
});
