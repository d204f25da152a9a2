/**
 * The README's walk-through against the fake, step by step: `npm run catalog` for chosen
 * streams, a first incremental read, changes made over HTTP with Pipedrive's own write calls
 * and the fake's clock control (what the README does with curl), and a second read from the
 * saved state that returns exactly what changed (plus the cursor's own second, at-least-once).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { FakePipedrive } from './fake-pipedrive';
import {
  expectValidProtocol,
  lastStates,
  recordsOf,
  runConnector,
  type RunResult,
} from './helpers/connector';
import { REPO_ROOT } from './helpers/protocol';

const fake = new FakePipedrive({ seed: 71, sizes: { deals: 120, persons: 80, notes: 60 } });
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-walkthrough-'));
const configFile = path.join(dir, 'config.json');

beforeAll(async () => {
  await fake.start();
  fs.writeFileSync(configFile, JSON.stringify({ api_token: fake.token, api_url: fake.url }));
});
afterAll(async () => {
  await fake.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** `npm run catalog -- …` (the script itself, without npm's banner). */
function catalogScript(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        path.join(REPO_ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'),
        'scripts/catalog.ts',
        ...args,
      ],
      { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

async function call(method: string, url: string, body?: unknown): Promise<any> {
  const response = await fetch(`${fake.url}${url}`, {
    method,
    headers: { 'x-api-token': fake.token, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  expect(response.ok).toBe(true);
  return ((await response.json()) as any).data;
}

describe('the walk-through against the fake', () => {
  const catalogFile = path.join(dir, 'catalog.json');
  let first: RunResult;

  test('npm run catalog writes a configured catalog of the chosen streams', async () => {
    const result = await catalogScript([
      '--config',
      configFile,
      '--streams',
      'deals,persons,notes,users',
      '--mode',
      'incremental',
      '--out',
      catalogFile,
    ]);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/Full refresh \(no incremental mode\): users\./);
    const catalog = JSON.parse(fs.readFileSync(catalogFile, 'utf8'));
    expect(
      catalog.streams.map((entry: any) => [entry.stream.name, entry.sync_mode, entry.cursor_field]),
    ).toEqual([
      ['users', 'full_refresh', undefined],
      ['persons', 'incremental', ['update_time']],
      ['deals', 'incremental', ['update_time']],
      ['notes', 'incremental', ['update_time']],
    ]);
    expect(catalog.streams[2]).toMatchObject({
      destination_sync_mode: 'append_dedup',
      primary_key: [['id']],
    });
  }, 60_000);

  test('npm run catalog: an unknown stream is named with the closest one; no --streams leaves out deals_flow', async () => {
    const wrong = await catalogScript(['--config', configFile, '--streams', 'deal,persons']);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/unknown stream "deal" \(did you mean "deals"\?\)/);
    const all = path.join(dir, 'all.json');
    const result = await catalogScript(['--config', configFile, '--out', all]);
    expect(result.stderr).toMatch(/every stream except deals_flow/);
    const names = JSON.parse(fs.readFileSync(all, 'utf8')).streams.map((e: any) => e.stream.name);
    expect(names).toContain('deal_products');
    expect(names).not.toContain('deals_flow');
  }, 60_000);

  test('first read, changes over HTTP, second read from the state returns what changed', async () => {
    first = await runConnector(['read', '--config', configFile, '--catalog', catalogFile]);
    expect(first.code).toBe(0);
    expectValidProtocol(first);
    expect(recordsOf(first, 'deals').length).toBe(fake.count('deals'));

    // What the README does with curl.
    await call('POST', '/_fake/clock/advance?seconds=3600');
    const deal = fake.list('deals').find((d) => d.status === 'open')!;
    await call('PATCH', `/api/v2/deals/${deal.id}`, { title: 'Bigger deal', value: 5000 });
    const person = await call('POST', '/api/v2/persons', { name: 'Ada Lovelace' });
    const gone = fake.list('deals').find((d) => d.status === 'open' && d.id !== deal.id)!;
    await call('DELETE', `/api/v2/deals/${gone.id}`);
    const note = await call('POST', '/api/v1/notes', {
      content: 'Called Ada',
      person_id: person.id,
    });

    const stateFile = path.join(dir, 'state.json');
    fs.writeFileSync(stateFile, JSON.stringify(lastStates(first)));
    const second = await runConnector([
      'read',
      '--config',
      configFile,
      '--catalog',
      catalogFile,
      '--state',
      stateFile,
    ]);
    expect(second.code).toBe(0);
    expectValidProtocol(second);
    const changed = (stream: string) =>
      recordsOf(second, stream).filter((record) => record.update_time >= '2026-06-01T13:00:00Z');
    expect(
      changed('deals')
        .map((d) => [d.id, d.title, d.is_deleted])
        .sort(),
    ).toEqual(
      [
        [deal.id, 'Bigger deal', false],
        [gone.id, gone.title, true],
      ].sort(),
    );
    expect(changed('persons').map((p) => p.name)).toEqual(['Ada Lovelace']);
    expect(changed('notes').map((n) => [n.id, n.content])).toEqual([[note.id, 'Called Ada']]);
    // Besides the changes, only the saved cursor's own second (and the deals look-back) again.
    expect(recordsOf(second, 'deals').length).toBeLessThan(recordsOf(first, 'deals').length / 4);
    expect(recordsOf(second, 'persons').length).toBeLessThan(5);
  }, 60_000);
});
