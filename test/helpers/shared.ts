import fs from 'node:fs';
import path from 'node:path';

import { OPENAPI_DIR } from '../fake-pipedrive/openapi';
import { SHARED_DIR } from './protocol';

/** What each part of ../shared enables, and what runs without it. */
function parts(dir: string, openApiDir: string): Array<[file: string, without: string]> {
  return [
    [
      path.join(dir, 'airbyte-protocol', 'airbyte_protocol.yaml'),
      "every stdout line is checked for its payload only, not against Airbyte's official AirbyteMessage schema; test/costs.test.ts (token costs against the OpenAPI files) is skipped",
    ],
    [
      path.join(openApiDir, 'openapi-v2.yaml'),
      "test/fake-contract.test.ts (the fake against Pipedrive's OpenAPI files) is skipped",
    ],
    [
      path.join(dir, 'seed', 'pipedrive-pipelines.txt'),
      'test/seed-contract.test.ts (every seed table and column is a stream and a column) is skipped',
    ],
  ];
}

/** Why suites are skipped when ../shared (or part of it) is missing; undefined when complete. */
export function sharedSkipNotice(
  dir: string = SHARED_DIR,
  openApiDir: string = OPENAPI_DIR,
): string | undefined {
  const missing = parts(dir, openApiDir).filter(([file]) => !fs.existsSync(file));
  if (missing.length === 0) return undefined;
  return [
    `Note: reference files of ../shared are missing (looked in ${dir}; set PIPEDRIVE_SHARED_DIR to their folder). Without them:`,
    ...missing.map(([file, without]) => `  - no ${file}: ${without}`),
    'Every other suite runs as usual.',
  ].join('\n');
}
