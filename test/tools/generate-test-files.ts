/**
 * Regenerates test_files/full_refresh_catalog.json, incremental_catalog.json, their
 * walk-through variants without deals_flow (walkthrough_*_catalog.json) and future_state.json from what the connector (lib/, so build first) discovers and the states it
 * emits, against the fake Pipedrive. Run after adding or changing a stream:
 *   npm run test-files
 */
import fs from 'node:fs';
import path from 'node:path';

import { FakePipedrive } from '../fake-pipedrive';
import { runConnector } from '../helpers/connector';
import { REPO_ROOT } from '../helpers/protocol';
import {
  configuredCatalogFile,
  finalStates,
  futureStateFile,
  TEST_FILES,
  walkthroughCatalogFile,
} from '../helpers/test-files';

function write(file: string, value: unknown): void {
  fs.writeFileSync(path.join(REPO_ROOT, file), `${JSON.stringify(value, null, 2)}\n`);
  console.log(`wrote ${file}`);
}

async function main(): Promise<void> {
  const fake = new FakePipedrive({ seed: 1, burstLimit: null });
  await fake.start();
  try {
    const config = { api_token: fake.token, api_url: fake.url, max_requests_per_2_seconds: 480 };
    const discover = await runConnector(['discover'], { config });
    const streams = discover.messages.find((m) => m.type === 'CATALOG')?.catalog.streams;
    if (discover.code !== 0 || !streams) {
      throw new Error(
        `discover failed (exit ${discover.code}):\n${discover.stdout.slice(0, 2000)}`,
      );
    }
    const fullRefresh = configuredCatalogFile(streams, 'full_refresh');
    const incremental = configuredCatalogFile(streams, 'incremental');
    const read = await runConnector(['read'], { config, catalog: incremental });
    if (read.code !== 0) {
      throw new Error(`incremental read failed (exit ${read.code}):\n${read.stdout.slice(-2000)}`);
    }
    write(TEST_FILES.fullRefreshCatalog, fullRefresh);
    write(TEST_FILES.incrementalCatalog, incremental);
    write(
      TEST_FILES.walkthroughFullRefreshCatalog,
      walkthroughCatalogFile(streams, 'full_refresh'),
    );
    write(TEST_FILES.walkthroughIncrementalCatalog, walkthroughCatalogFile(streams, 'incremental'));
    write(TEST_FILES.futureState, futureStateFile(streams, finalStates(read.messages)));
  } finally {
    await fake.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
