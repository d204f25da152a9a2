import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { ConfigError } from '../src/errors';
import { parseConfiguredCatalog, parseInputState, readJsonFile } from '../src/protocol/input';

const KNOWN = new Map([
  ['deals', { incremental: true }],
  ['users', { incremental: false }],
]);

const entry = (name: string, sync_mode = 'full_refresh'): unknown => ({
  stream: { name, json_schema: {}, supported_sync_modes: ['full_refresh'] },
  sync_mode,
  destination_sync_mode: 'overwrite',
});

describe('configured catalog', () => {
  test('accepts known streams with supported modes', () => {
    expect(
      parseConfiguredCatalog({ streams: [entry('deals', 'incremental'), entry('users')] }, KNOWN),
    ).toEqual([
      { name: 'deals', syncMode: 'incremental' },
      { name: 'users', syncMode: 'full_refresh' },
    ]);
  });

  test.each([
    [{}, /"streams" list/],
    [{ streams: [{ sync_mode: 'full_refresh' }] }, /stream.name/],
    [{ streams: [entry('dealz')] }, /does not have: "dealz".*Run discover/],
    [{ streams: [entry('users', 'incremental')] }, /"users" only supports full_refresh/],
    [{ streams: [entry('deals', 'cdc')] }, /sync_mode "cdc"/],
    [{ streams: [entry('deals'), entry('deals')] }, /twice/],
  ])('%j → %s', (raw, message) => {
    expect(() => parseConfiguredCatalog(raw, KNOWN)).toThrow(ConfigError);
    expect(() => parseConfiguredCatalog(raw, KNOWN)).toThrow(message);
  });
});

describe('input state', () => {
  const parse = (raw: unknown): { states: Record<string, unknown>; warnings: string[] } => {
    const warnings: string[] = [];
    const states = Object.fromEntries(parseInputState(raw, (w) => warnings.push(w)));
    return { states, warnings };
  };

  test('the array of STREAM states Airbyte passes back', () => {
    const { states, warnings } = parse([
      {
        type: 'STREAM',
        stream: { stream_descriptor: { name: 'deals' }, stream_state: { update_time: 'x' } },
      },
    ]);
    expect(states).toEqual({ deals: { update_time: 'x' } });
    expect(warnings).toEqual([]);
  });

  test('the per-stream map form', () => {
    expect(parse({ deals: { update_time: 'x' } }).states).toEqual({ deals: { update_time: 'x' } });
  });

  test('legacy and malformed states warn and fall back', () => {
    const legacy = parse({ type: 'LEGACY', data: { format: 'base64/gzip', data: 'H4sI' } });
    expect(legacy.states).toEqual({});
    expect(legacy.warnings[0]).toMatch(/start from start_date/);
    const bad = parse([42, { type: 'STREAM', stream: { stream_descriptor: {} } }]);
    expect(bad.states).toEqual({});
    expect(bad.warnings).toHaveLength(2);
    expect(parse({ deals: 'yesterday' }).warnings[0]).toMatch(/not a JSON object/);
  });
});

describe('readJsonFile', () => {
  test('names the flag and the problem', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-input-'));
    const broken = path.join(dir, 'broken.json');
    fs.writeFileSync(broken, '{"streams": [');
    expect(() => readJsonFile(broken, '--catalog')).toThrow(/--catalog file .* is not valid JSON/);
    expect(() => readJsonFile(path.join(dir, 'missing.json'), '--state')).toThrow(
      /Cannot read the --state file .*no such file/,
    );
    expect(() => readJsonFile(undefined, '--config')).toThrow(/Missing --config/);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
