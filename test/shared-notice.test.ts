import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { SHARED_DIR } from './helpers/protocol';
import { sharedSkipNotice } from './helpers/shared';

describe('npm test without ../shared says what it skips', () => {
  test('every missing part is named with what runs without it', () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-no-shared-'));
    const notice = sharedSkipNotice(empty, path.join(empty, 'pipedrive-openapi')) ?? '';
    fs.rmSync(empty, { recursive: true });
    expect(notice).toContain(`looked in ${empty}`);
    expect(notice).toMatch(/airbyte_protocol.yaml: .*official AirbyteMessage schema/);
    expect(notice).toMatch(/openapi-v2.yaml: test\/fake-contract.test.ts .* is skipped/);
    expect(notice).toMatch(/pipedrive-pipelines.txt: test\/seed-contract.test.ts .* is skipped/);
  });

  test('nothing to say when the files are there', () => {
    if (!fs.existsSync(SHARED_DIR)) return; // a fresh clone: the notice is the point
    expect(sharedSkipNotice()).toBeUndefined();
  });
});
