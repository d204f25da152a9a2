/**
 * The command line through bin/main: plain text for --help and --version, protocol messages
 * (a config_error TRACE) for every mistake, the usual mistakes with a config and a catalog, and
 * the network errors that a retry cannot fix.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { FakePipedrive } from './fake-pipedrive';
import {
  BIN_MAIN,
  configuredCatalog,
  errorsOf,
  expectValidProtocol,
  ofType,
  runConnector,
  type RunResult,
} from './helpers/connector';
import { REPO_ROOT } from './helpers/protocol';
import { tempFile } from './helpers/resilience';

const VERSION = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')).version;

const fake = new FakePipedrive({ seed: 51, sizes: { deals: 30, persons: 30 } });
let config: Record<string, unknown>;
let configFile: string;

beforeAll(async () => {
  await fake.start();
  config = { api_token: fake.token, api_url: fake.url };
  configFile = tempFile('cli-config.json', JSON.stringify(config));
});
afterAll(() => fake.stop());

const statusOf = (result: RunResult) => ofType(result, 'CONNECTION_STATUS')[0]?.connectionStatus;
const logsOf = (result: RunResult, level: string) =>
  ofType(result, 'LOG')
    .filter((m) => m.log.level === level)
    .map((m) => m.log.message);

describe('plain text for a person', () => {
  test('--help prints usage with every command, exit 0, no protocol message', async () => {
    for (const args of [['--help'], ['-h']]) {
      const result = await runConnector(args);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/^Usage: source-pipedrive \[options\] \[command\]/);
      for (const command of ['spec', 'check', 'discover', 'read']) {
        expect(result.stdout).toContain(`  ${command}`);
      }
      expect(result.stdout).not.toContain('"type"');
    }
  });

  test('read --help lists its options', async () => {
    const result = await runConnector(['read', '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/--config <file>[\s\S]*--catalog <file>[\s\S]*--state <file>/);
  });

  test('--version prints the package version, exit 0', async () => {
    for (const args of [['--version'], ['-V']]) {
      const result = await runConnector(args);
      expect([result.code, result.stdout]).toEqual([0, `${VERSION}\n`]);
    }
  });
});

describe('mistakes on the command line are config_error TRACEs', () => {
  test.each([
    [
      'an extra argument to spec',
      ['spec', 'extra'],
      /Unexpected argument "extra" after "spec": spec takes no arguments/,
    ],
    [
      'an extra argument to check',
      ['check', 'now', '--config', 'x.json'],
      /Unexpected argument "now" after "check"/,
    ],
    ['an unknown command', ['sync'], /Unknown command 'sync'/],
    [
      'a misspelt option',
      ['read', '--konfig', 'x.json'],
      /Unknown option '--konfig' \(did you mean --config\?\)/,
    ],
    [
      'an option without its file',
      ['check', '--config'],
      /Option '--config <file>' argument missing/,
    ],
    ['no command', [], /No command given/],
  ])('%s', async (_, args, message) => {
    const result = await runConnector(args);
    expect(result.code).toBe(1);
    expectValidProtocol(result);
    expect(result.messages).toHaveLength(1);
    const [error] = errorsOf(result);
    expect(error.failure_type).toBe('config_error');
    expect(error.message).toMatch(message);
    expect(error.message).toContain('Usage: source-pipedrive');
    expect(error.stack_trace).toBeUndefined();
  });

  test('--config=file works like --config file', async () => {
    const result = await runConnector(['check', `--config=${configFile}`]);
    expect(statusOf(result).status).toBe('SUCCEEDED');
  });
});

describe('spec starts fast', () => {
  test('answers without loading the CDK, the HTTP client or commander', () => {
    const script = `
      const index = require(${JSON.stringify(path.join(REPO_ROOT, 'lib', 'index.js'))});
      index.main(['spec']).then(() => {
        const loaded = Object.keys(require.cache).filter((f) => /node_modules\\/(faros-airbyte-cdk|commander)\\/|\\/lib\\/pipedrive\\//.test(f));
        process.stderr.write(JSON.stringify(loaded));
      });`;
    const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    expect(child.status).toBe(0);
    expect(JSON.parse(child.stdout).type).toBe('SPEC');
    expect(JSON.parse(child.stderr)).toEqual([]);
  });

  /** Runs `script` in a plain node (jest's module registry does not use require.cache). */
  const nodeEval = (script: string): any => {
    const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    expect(child.stderr).toBe('');
    return JSON.parse(child.stdout);
  };

  test('the streams load the CDK without faros-js-client and the CDK parts they do not use', () => {
    const loaded = nodeEval(`
      require(${JSON.stringify(path.join(REPO_ROOT, 'lib', 'streams', 'index.js'))});
      const real = Object.keys(require.cache).filter((f) => /node_modules\\/(graphql|table|zod)\\//.test(f));
      process.stdout.write(JSON.stringify(real));`);
    expect(loaded).toEqual([]);
  });

  test('the deferred faros-js-client is the real one as soon as the CDK uses it', () => {
    const result = nodeEval(`
      const cdk = require(${JSON.stringify(path.join(REPO_ROOT, 'lib', 'cdk.js'))});
      const before = Object.keys(require.cache).some((f) => /node_modules\\/graphql\\//.test(f));
      const client = require(require.resolve('faros-js-client', { paths: [require('path').dirname(require.resolve('faros-airbyte-cdk'))] }));
      const date = client.Utils.toDate('2024-01-02T03:04:05Z');
      const after = Object.keys(require.cache).some((f) => /node_modules\\/graphql\\//.test(f));
      const index = require('faros-airbyte-cdk');
      process.stdout.write(JSON.stringify({
        before, after, iso: date.toISOString(), hasUtils: 'Utils' in client, keys: Object.keys(client).includes('Utils'),
        sameClasses: index.AirbyteStreamBase === cdk.AirbyteStreamBase && index.AirbyteLogger === cdk.AirbyteLogger && index.SyncMode === cdk.SyncMode,
      }));`);
    expect(result).toEqual({
      before: false,
      after: true,
      iso: '2024-01-02T03:04:05.000Z',
      hasUtils: true,
      keys: true,
      sameClasses: true,
    });
  });

  test('bin/main spec answers in well under a second', () => {
    const started = process.hrtime.bigint();
    const child = spawnSync(process.execPath, [BIN_MAIN, 'spec'], { encoding: 'utf8' });
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    expect(child.status).toBe(0);
    // 0.1–0.3 s here; the bound leaves room for a loaded CI machine.
    expect(ms).toBeLessThan(1500);
  });
});

describe('catalog mistakes say how to fix them', () => {
  let discovered: any[];
  beforeAll(async () => {
    const result = await runConnector(['discover'], { config });
    discovered = ofType(result, 'CATALOG')[0].catalog.streams.filter((s: any) =>
      ['users', 'deals'].includes(s.name),
    );
  });

  test.each([
    ['a discovered catalog', () => ({ streams: discovered }), /is a discovered catalog/],
    [
      'the CATALOG message of discover',
      () => ({ type: 'CATALOG', catalog: { streams: discovered } }),
      /is the CATALOG message of discover/,
    ],
  ])('%s → how to wrap it, nothing read', async (_, catalog, message) => {
    fake.resetStats();
    const result = await runConnector(['read'], { config, catalog: catalog() });
    expect(result.code).toBe(1);
    const [error] = errorsOf(result);
    expect(error.failure_type).toBe('config_error');
    expect(error.message).toMatch(message);
    expect(error.message).toMatch(/npm run catalog -- --config <config file> --streams/);
    expect(error.message).toContain('"sync_mode": "incremental"');
    expect(fake.stats.requests).toBe(0);
  });

  test('a file of several output lines (discover > file, with LOG lines) says so', async () => {
    const output = await runConnector(['discover'], { config });
    // As discover prints it when it has something to say, e.g. about a config field.
    const log = JSON.stringify({ type: 'LOG', log: { level: 'INFO', message: 'hello' } });
    const file = tempFile('discover-output.jsonl', `${log}\n${output.stdout}`);
    const result = await runConnector(['read', '--config', configFile, '--catalog', file]);
    expect(errorsOf(result)[0].message).toMatch(
      /not valid JSON.*lines of connector output .*npm run catalog/,
    );
  });
});

describe('config mistakes that do not stop the sync', () => {
  test('unknown keys: a warning in check and read, naming the closest known key', async () => {
    const typo = { ...config, start_time: '2024-01-01', credentails: {} };
    const check = await runConnector(['check'], { config: typo });
    const read = await runConnector(['read'], {
      config: typo,
      catalog: configuredCatalog(['users']),
    });
    for (const result of [check, read]) {
      const warnings = logsOf(result, 'WARN').join('\n');
      expect(warnings).toMatch(/'start_time' is not a setting .*did you mean 'start_date'\?/);
      expect(warnings).toMatch(/'credentails' .*did you mean 'credentials'\?/);
    }
    expect(statusOf(check).status).toBe('SUCCEEDED');
    expect(read.code).toBe(0);
  });

  test('company_domain as a URL and api_url ending in /api/v1 are normalised, with an INFO', async () => {
    const result = await runConnector(['check'], {
      config: {
        ...config,
        company_domain: 'https://acme.pipedrive.com/',
        api_url: `${fake.url}/api/v1`,
      },
    });
    expect(statusOf(result).status).toBe('SUCCEEDED');
    const infos = logsOf(result, 'INFO').join('\n');
    expect(infos).toMatch(
      /'company_domain' is "https:\/\/acme.pipedrive.com\/": using the subdomain "acme"/,
    );
    expect(infos).toMatch(/'api_url' ends in \/api\/v1; .* uses http:\/\/127.0.0.1:\d+\./);
  });
});

describe('a host that does not resolve: an immediate config_error naming the setting', () => {
  test.each([
    [
      'api_url',
      { api_url: 'https://acme.invalid' },
      {},
      /Cannot resolve acme.invalid \(ENOTFOUND\): check api_url/,
    ],
    [
      'company_domain',
      { api_url: undefined, company_domain: 'acme' },
      { PIPEDRIVE_BASE_DOMAIN: 'pipedrive.invalid' },
      /Cannot resolve acme.pipedrive.invalid \(ENOTFOUND\): check company_domain \("acme"\)/,
    ],
  ])('%s', async (_, extra, env, message) => {
    const check = await runConnector(['check'], {
      config: { ...config, ...extra },
      env: { PIPEDRIVE_RETRY_BASE_MS: '2000', ...env },
    });
    expect(statusOf(check)).toEqual({ status: 'FAILED', message: expect.stringMatching(message) });
    // No retry: a retry would have logged "retrying" and waited seconds.
    expect(logsOf(check, 'WARN').filter((m) => /retrying/.test(m))).toEqual([]);

    const read = await runConnector(['read'], {
      config: { ...config, ...extra },
      catalog: configuredCatalog(['users']),
      env: { PIPEDRIVE_RETRY_BASE_MS: '2000', ...env },
    });
    expect(read.code).toBe(1);
    const errors = errorsOf(read);
    expect(errors[0]).toMatchObject({ failure_type: 'config_error' });
    expect(errors[0].message).toMatch(message);
  });
});

describe('check reports the plan’s limits when Pipedrive’s headers show them', () => {
  test('burst limit and daily budget in the SUCCEEDED message and the INFO log', async () => {
    const limited = new FakePipedrive({ seed: 52, burstLimit: 40, dailyTokenBudget: 90_000 });
    await limited.start();
    try {
      const result = await runConnector(['check'], {
        config: { api_token: limited.token, api_url: limited.url },
      });
      const message = statusOf(result).message;
      expect(message).toMatch(
        /burst limit 40 requests per 2 s \(the connector keeps to 20\); 89,998 of 90,000 API tokens left today/,
      );
      expect(logsOf(result, 'INFO')).toContain(message);
    } finally {
      await limited.stop();
    }
  });
});
