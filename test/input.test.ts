import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { ConfigError } from '../src/errors';
import {
  parseConfiguredCatalog,
  parseInputState,
  readJsonFile,
  readStateFile,
  validStreamState,
} from '../src/protocol/input';

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
      { name: 'deals', syncMode: 'incremental', jsonSchema: {} },
      { name: 'users', syncMode: 'full_refresh', jsonSchema: {} },
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
  const parse = (
    raw: unknown,
  ): { states: Record<string, unknown>; warnings: string[]; infos: string[] } => {
    const warnings: string[] = [];
    const infos: string[] = [];
    const states = Object.fromEntries(
      parseInputState(raw, { warn: (w) => warnings.push(w), info: (i) => infos.push(i) }),
    );
    return { states, warnings, infos };
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

  test('the per-stream map form is migrated with an INFO', () => {
    const { states, infos } = parse({ deals: { update_time: 'x' } });
    expect(states).toEqual({ deals: { update_time: 'x' } });
    expect(infos[0]).toMatch(/map/);
  });

  test('a LEGACY state holding a map and a GLOBAL state are migrated', () => {
    const legacy = parse({ type: 'LEGACY', data: { deals: { update_time: 'y' } } });
    expect(legacy.states).toEqual({ deals: { update_time: 'y' } });
    expect(legacy.infos[0]).toMatch(/LEGACY/);
    const global = parse({
      type: 'GLOBAL',
      global: {
        shared_state: {},
        stream_states: [
          { stream_descriptor: { name: 'notes' }, stream_state: { update_time: 'z' } },
        ],
      },
    });
    expect(global.states).toEqual({ notes: { update_time: 'z' } });
    expect(global.infos[0]).toMatch(/GLOBAL/);
  });

  test('a state it cannot read at all is a config error that says what was expected', () => {
    expect(() => parse([42])).toThrow(ConfigError);
    expect(() => parse([42])).toThrow(/Expected what Airbyte passes/);
    expect(() => parse({ type: 'LEGACY', data: 'H4sI' })).toThrow(/LEGACY data/);
    expect(() => parse([{ type: 'STREAM', stream: { stream_descriptor: {} } }])).toThrow(
      /no stream name/,
    );
    // One stream's state that is not an object only costs that stream.
    expect(parse({ deals: 'yesterday' }).warnings[0]).toMatch(/not a JSON object/);
  });
});

describe('readStateFile', () => {
  const log = () => {
    const lines: string[] = [];
    return {
      lines,
      warn: (m: string) => lines.push(`WARN ${m}`),
      info: (m: string) => lines.push(`INFO ${m}`),
    };
  };
  const write = (text: string): string => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-state-'));
    const file = path.join(dir, 'state.json');
    fs.writeFileSync(file, text);
    return file;
  };

  test("the previous run's messages file: the last STATE of each stream", () => {
    const state = (name: string, time: string) =>
      JSON.stringify({
        type: 'STATE',
        state: {
          type: 'STREAM',
          stream: { stream_descriptor: { name }, stream_state: { update_time: time } },
          sourceStats: { recordCount: 1 },
        },
      });
    const file = write(
      [
        JSON.stringify({ type: 'LOG', log: { level: 'INFO', message: 'hi' } }),
        state('deals', '2024-01-01T00:00:00Z'),
        JSON.stringify({ type: 'RECORD', record: { stream: 'deals', data: {}, emitted_at: 1 } }),
        state('deals', '2024-02-01T00:00:00Z'),
        state('notes', '2024-03-01T00:00:00Z'),
        '',
      ].join('\n'),
    );
    const sink = log();
    const states = readStateFile(file, sink);
    expect(Object.fromEntries(states)).toEqual({
      deals: { update_time: '2024-02-01T00:00:00Z' },
      notes: { update_time: '2024-03-01T00:00:00Z' },
    });
    expect(sink.lines[0]).toMatch(/^INFO .*messages file/);
  });

  test('a file that is not JSON nor JSON lines is a config error', () => {
    expect(() => readStateFile(write('update_time=2024'), log())).toThrow(ConfigError);
    expect(() => readStateFile(write('update_time=2024'), log())).toThrow(/not valid JSON/);
  });
});

describe('validStreamState', () => {
  const stream = {
    name: 'deals',
    positionKeys: ['update_time', 'archived_update_time'],
    extraStateKeys: ['fanned_out'],
  };
  const check = (raw: Record<string, unknown>) => {
    const lines: string[] = [];
    const state = validStreamState(stream, raw, {
      warn: (m) => lines.push(`WARN ${m}`),
      info: (m) => lines.push(`INFO ${m}`),
    });
    return { state, lines };
  };

  test('positions are normalised to RFC 3339 UTC whole seconds, with an INFO', () => {
    const { state, lines } = check({
      update_time: '2024-01-01 10:00:00',
      archived_update_time: '2024-01-01T12:30:00.999+02:00',
      fanned_out: { update_time: 'abc:1' },
    });
    expect(state).toEqual({
      update_time: '2024-01-01T10:00:00Z',
      archived_update_time: '2024-01-01T10:30:00Z',
      fanned_out: { update_time: 'abc:1' },
    });
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^INFO .*read as 2024-01-01T10:00:00Z/);
  });

  test('a position that is not a time warns and is dropped; retired keys go silently', () => {
    const { state, lines } = check({
      update_time: 'yesterday',
      archived_update_time: '2024-01-01T00:00:00Z',
      update_time_listed_at: '2024-01-01T00:00:00Z',
    });
    expect(state).toEqual({ archived_update_time: '2024-01-01T00:00:00Z' });
    expect(lines).toEqual([expect.stringMatching(/^WARN .*update_time="yesterday"/)]);
  });

  test('a state of another format warns: the stream starts from start_date', () => {
    const { state, lines } = check({ cursor: 12 });
    expect(state).toEqual({});
    expect(lines).toEqual([expect.stringMatching(/^WARN .*no known position/)]);
  });
});

describe('readJsonFile', () => {
  test('names the flag and the problem', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-input-'));
    const broken = path.join(dir, 'broken.json');
    fs.writeFileSync(broken, '{"streams": [');
    expect(() => readJsonFile(broken, '--catalog')).toThrow(/--catalog file .* is not valid JSON/);
    expect(() => readJsonFile(path.join(dir, 'missing.json'), '--config')).toThrow(
      /Cannot read the --config file .*no such file/,
    );
    expect(() => readJsonFile(undefined, '--config')).toThrow(/Missing --config/);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
