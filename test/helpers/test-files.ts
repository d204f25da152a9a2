/**
 * The configured catalogs and the future state under test_files/, derived from what the
 * connector discovers and the states it emits. test/tools/generate-test-files.ts writes them;
 * test/acceptance.test.ts checks that they still match the connector.
 */
import type { Json } from './cat';

export const FAR_FUTURE = '2999-12-31T23:59:59Z';

export const TEST_FILES = {
  sampleConfig: 'test_files/sample_config.json',
  invalidConfig: 'test_files/invalid_config.json',
  fullRefreshCatalog: 'test_files/full_refresh_catalog.json',
  incrementalCatalog: 'test_files/incremental_catalog.json',
  /** The README's walk-through: every stream but deals_flow (40 API tokens a deal). */
  walkthroughFullRefreshCatalog: 'test_files/walkthrough_full_refresh_catalog.json',
  walkthroughIncrementalCatalog: 'test_files/walkthrough_incremental_catalog.json',
  futureState: 'test_files/future_state.json',
};

/** The AirbyteStream part of a configured catalog entry, without the (account-specific) schema. */
function streamStub(stream: Json): Json {
  const stub: Json = {
    name: stream.name,
    json_schema: {},
    supported_sync_modes: stream.supported_sync_modes,
  };
  if (stream.source_defined_cursor !== undefined) {
    stub.source_defined_cursor = stream.source_defined_cursor;
  }
  if (stream.default_cursor_field) stub.default_cursor_field = stream.default_cursor_field;
  if (stream.source_defined_primary_key) {
    stub.source_defined_primary_key = stream.source_defined_primary_key;
  }
  return stub;
}

/** Every stream in full refresh (overwrite), or every incremental stream (append + dedup). */
export function configuredCatalogFile(streams: Json[], mode: 'full_refresh' | 'incremental'): Json {
  return {
    streams: streams
      .filter((stream) => stream.supported_sync_modes.includes(mode))
      .map((stream) => {
        const entry: Json = {
          stream: streamStub(stream),
          sync_mode: mode,
          destination_sync_mode: mode === 'incremental' ? 'append_dedup' : 'overwrite',
        };
        if (mode === 'incremental') entry.cursor_field = stream.default_cursor_field;
        if (stream.source_defined_primary_key)
          entry.primary_key = stream.source_defined_primary_key;
        return entry;
      }),
  };
}

/** Streams the walk-through catalogs leave out: costly on a real account, opt-in. */
export const WALKTHROUGH_EXCLUDED = ['deals_flow'];

/** Like configuredCatalogFile, without the streams a first try should not pay for. */
export function walkthroughCatalogFile(
  streams: Json[],
  mode: 'full_refresh' | 'incremental',
): Json {
  return configuredCatalogFile(
    streams.filter((stream) => !WALKTHROUGH_EXCLUDED.includes(stream.name)),
    mode,
  );
}

/**
 * A STREAM state per incremental stream with every position key far in the future: the keys
 * of the stream's final state in a real read, else its default cursor field.
 */
export function futureStateFile(streams: Json[], finalStates: Map<string, Json>): Json[] {
  return streams
    .filter((stream) => stream.supported_sync_modes.includes('incremental'))
    .map((stream) => {
      const seen = Object.keys(finalStates.get(stream.name) ?? {});
      const keys = seen.length > 0 ? seen : [stream.default_cursor_field[0]];
      return {
        type: 'STREAM',
        stream: {
          stream_descriptor: { name: stream.name },
          stream_state: Object.fromEntries(keys.map((key) => [key, futureValue(key)])),
        },
      };
    });
}

/**
 * A key's value in a far-future state: positions far ahead; the known ids of delete detection
 * an empty set and the fan-out memory empty (they are sets, not positions).
 */
function futureValue(key: string): unknown {
  if (key === 'known_ids') return ';';
  if (key === 'fanned_out') return {};
  return FAR_FUTURE;
}

/** The final stream_state of each stream of a read. */
export function finalStates(messages: Json[]): Map<string, Json> {
  const states = new Map<string, Json>();
  for (const message of messages) {
    if (message.type === 'STATE' && message.state?.stream) {
      states.set(message.state.stream.stream_descriptor.name, message.state.stream.stream_state);
    }
  }
  return states;
}
