/**
 * The one place the connector imports faros-airbyte-cdk from.
 *
 * The CDK's index loads every part of it (destinations, prompts, spec loader, tables) and its
 * stream base loads faros-js-client, the Faros GraphQL client, at load time: about 0.6 s of
 * start-up on every check, discover and read, for a single date helper the connector never
 * calls. So the connector imports only the three CDK modules it uses (the CDK is pinned to one
 * version in package.json, so these paths are fixed), and faros-js-client is loaded on first
 * use instead of at start (see deferModule): 0.7 s → 0.07 s to load the CDK.
 */
import Module from 'node:module';
import path from 'node:path';

// Before the CDK's modules below load (CommonJS runs these statements in order).
deferModule('faros-js-client', path.dirname(require.resolve('faros-airbyte-cdk')));

export { AirbyteLogger } from 'faros-airbyte-cdk/lib/logger';
export { type AirbyteMessage, SyncMode } from 'faros-airbyte-cdk/lib/protocol';
export { AirbyteStreamBase } from 'faros-airbyte-cdk/lib/sources/streams/stream-base';

/**
 * Makes `require(request)` from the directory `from` return a stand-in that loads the real
 * module the first time anything reads from it. For dependencies that are required at load
 * time but only used inside functions the connector may never call. Nothing changes for code
 * that does use them: every property read goes to the real module.
 */
export function deferModule(request: string, from: string): void {
  let file: string;
  try {
    file = require.resolve(request, { paths: [from] });
  } catch {
    return; // not installed where the CDK looks: its own require will say so
  }
  if (require.cache[file]) return;
  let real: Record<PropertyKey, unknown> | undefined;
  const load = (): Record<PropertyKey, unknown> => {
    if (!real) {
      delete require.cache[file];
      real = require(file) as Record<PropertyKey, unknown>;
    }
    return real;
  };
  const standIn = new Module(file);
  standIn.filename = file;
  standIn.loaded = true;
  standIn.exports = new Proxy(
    {},
    {
      get: (_target, key) => load()[key],
      has: (_target, key) => key in load(),
      ownKeys: () => Reflect.ownKeys(load()),
      getOwnPropertyDescriptor: (_target, key) => {
        const descriptor = Reflect.getOwnPropertyDescriptor(load(), key);
        // A proxy may only report configurable properties its (empty) target does not have.
        return descriptor && { ...descriptor, configurable: true };
      },
    },
  );
  require.cache[file] = standIn;
}
