import fs from 'node:fs';
import path from 'node:path';

import {
  closestKey,
  CREDENTIAL_KEYS,
  KNOWN_KEYS,
  parseConfig,
  parseConfigWithNotes,
  rawSecrets,
  validateApiUrl,
} from '../src/config';
import { ConfigError } from '../src/errors';

const NOW = new Date('2026-06-01T12:00:00Z');
const TOKEN = 'abcdef0123456789';
const OAUTH = {
  auth_type: 'oauth2',
  client_id: 'client-id-1',
  client_secret: 'client-secret-0123',
  refresh_token: 'refresh-token-0123',
};

describe('the config and the spec agree', () => {
  const spec = JSON.parse(
    fs.readFileSync(path.join(__dirname, '..', 'resources', 'spec.json'), 'utf8'),
  ).connectionSpecification;

  test('the known keys are the spec’s properties', () => {
    expect([...KNOWN_KEYS].sort()).toEqual(Object.keys(spec.properties).sort());
  });

  test('every property reads well in the UI: title, description, order; a group at the top', () => {
    const problems: string[] = [];
    const groups = new Set(spec.groups.map((group: any) => group.id));
    for (const [name, property] of Object.entries<any>(spec.properties)) {
      for (const key of ['title', 'description', 'order', 'group']) {
        if (!(key in property)) problems.push(`${name} has no ${key}`);
      }
      if (!groups.has(property.group)) problems.push(`${name}: unknown group ${property.group}`);
      for (const option of property.oneOf ?? []) {
        if (!option.title || !option.description) problems.push(`${name} option without title`);
        for (const [inner, field] of Object.entries<any>(option.properties)) {
          if (!('order' in field)) problems.push(`${name}.${inner} has no order`);
          if (inner !== 'auth_type' && !field.description) {
            problems.push(`${name}.${inner} has no description`);
          }
        }
      }
    }
    expect(problems).toEqual([]);
  });

  test('the credential keys are the properties of each credentials option', () => {
    const options = spec.properties.credentials.oneOf.map((option: any) => [
      option.properties.auth_type.const,
      Object.keys(option.properties).sort(),
    ]);
    expect(Object.fromEntries(options)).toEqual({
      oauth2: [...CREDENTIAL_KEYS.oauth2].sort(),
      api_token: [...CREDENTIAL_KEYS.api_token].sort(),
    });
  });
});

describe('parseConfig', () => {
  test('applies defaults', () => {
    expect(parseConfig({ api_token: TOKEN }, NOW)).toEqual({
      credentials: { auth_type: 'api_token', api_token: TOKEN },
      company_domain: undefined,
      api_url: undefined,
      oauth_url: 'https://oauth.pipedrive.com',
      start_date: undefined,
      deals_lookback_hours: 24,
      notes_update_window_days: 0,
      max_requests_per_2_seconds: 20,
      max_requests_explicit: false,
      max_concurrent_requests: 64,
      daily_token_reserve: 0,
      custom_field_names: 'name',
      delete_detection: 'weekly',
    });
    expect(
      parseConfig({ api_token: TOKEN, max_requests_per_2_seconds: 40 }, NOW).max_requests_explicit,
    ).toBe(true);
  });

  test('the top-level api_token of earlier versions and credentials.api_token are the same', () => {
    const legacy = parseConfig({ api_token: TOKEN }, NOW);
    const current = parseConfig({ credentials: { auth_type: 'api_token', api_token: TOKEN } }, NOW);
    expect(current).toEqual(legacy);
  });

  test('normalises start_date to UTC seconds and trims strings', () => {
    const config = parseConfig(
      {
        api_token: ` ${TOKEN} `,
        start_date: '2024-01-01T02:00:00.123+02:00',
        company_domain: ' acme ',
        api_url: 'http://127.0.0.1:8080/',
      },
      NOW,
    );
    expect(config.credentials).toEqual({ auth_type: 'api_token', api_token: TOKEN });
    expect(config.start_date).toBe('2024-01-01T00:00:00Z');
    expect(config.company_domain).toBe('acme');
    expect(config.api_url).toBe('http://127.0.0.1:8080');
  });

  test('a date-only start_date is midnight UTC', () => {
    expect(parseConfig({ api_token: TOKEN, start_date: '2024-03-05' }, NOW).start_date).toBe(
      '2024-03-05T00:00:00Z',
    );
  });

  test.each([
    ['acme', 'acme'],
    ['acme.pipedrive.com', 'acme'],
    ['https://acme.pipedrive.com', 'acme'],
    ['https://Acme.pipedrive.com/', 'acme'],
    ['http://acme.pipedrive.com/api/v1/deals', 'acme'],
    ['acme.pipedrive.com/', 'acme'],
  ])('company_domain %s → %s, with a note when it changed', (value, expected) => {
    const { config, notes } = parseConfigWithNotes(
      { api_token: TOKEN, company_domain: value },
      NOW,
    );
    expect(config.company_domain).toBe(expected);
    expect(notes.length).toBe(value === expected ? 0 : 1);
    if (value !== expected) expect(notes[0].message).toContain(`"${expected}"`);
  });

  test.each([
    ['http://127.0.0.1:8080/api', 'http://127.0.0.1:8080', true],
    ['https://acme.pipedrive.com/api/v1', 'https://acme.pipedrive.com', true],
    ['https://acme.pipedrive.com/api/v2/', 'https://acme.pipedrive.com', true],
    ['https://api.pipedrive.com/v1', 'https://api.pipedrive.com', true],
    ['https://proxy.example/pipedrive/', 'https://proxy.example/pipedrive', false],
  ])(
    'api_url %s → %s (the connector adds /api/v1 and /api/v2 itself)',
    (value, expected, noted) => {
      const { config, notes } = parseConfigWithNotes({ api_token: TOKEN, api_url: value }, NOW);
      expect(config.api_url).toBe(expected);
      expect(notes.some((note) => /'api_url' ends in/.test(note.message))).toBe(noted);
    },
  );

  test('oauth_url: the base of the token endpoint; a full token URL is accepted', () => {
    const base = { credentials: OAUTH };
    expect(parseConfig({ ...base, oauth_url: 'http://127.0.0.1:9/' }, NOW).oauth_url).toBe(
      'http://127.0.0.1:9',
    );
    expect(
      parseConfig({ ...base, oauth_url: 'https://oauth.example/oauth/token' }, NOW).oauth_url,
    ).toBe('https://oauth.example');
  });

  test('OAuth credentials, with the OAuth burst limit by default', () => {
    const config = parseConfig(
      {
        credentials: {
          ...OAUTH,
          access_token: 'access-0123',
          token_expiry_date: '2026-06-01T13:00:00.123456+00:00',
          api_domain: 'https://acme.pipedrive.com/',
        },
      },
      NOW,
    );
    expect(config.credentials).toEqual({
      ...OAUTH,
      access_token: 'access-0123',
      token_expiry_date: '2026-06-01T13:00:00Z',
      api_domain: 'https://acme.pipedrive.com',
    });
    expect([config.max_requests_per_2_seconds, config.max_requests_explicit]).toEqual([80, false]);
  });

  test('auth_type is inferred when the credentials leave it out', () => {
    const { auth_type: _, ...withoutType } = OAUTH;
    expect(parseConfig({ credentials: withoutType }, NOW).credentials.auth_type).toBe('oauth2');
  });

  test('an unreadable token_expiry_date (seconds, no zone) means unknown: refresh first', () => {
    for (const expiry of [3599, '3599', '2026-06-01 13:00:00']) {
      const config = parseConfig({ credentials: { ...OAUTH, token_expiry_date: expiry } }, NOW);
      expect(config.credentials).toEqual(OAUTH);
    }
  });

  test('an explicit max_requests_per_2_seconds is kept and marked explicit', () => {
    const config = parseConfig({ credentials: OAUTH, max_requests_per_2_seconds: 20 }, NOW);
    expect([config.max_requests_per_2_seconds, config.max_requests_explicit]).toEqual([20, true]);
  });

  test('daily_token_reserve and delete_detection', () => {
    const config = parseConfig(
      { api_token: TOKEN, daily_token_reserve: 5000, delete_detection: 'daily' },
      NOW,
    );
    expect([config.daily_token_reserve, config.delete_detection]).toEqual([5000, 'daily']);
  });

  test('unknown keys are warned about with the closest known key', () => {
    const { notes } = parseConfigWithNotes(
      {
        api_token: TOKEN,
        start_time: '2024-01-01',
        _airbyte_internal: 1,
        credentials: { ...OAUTH, refreshtoken: 'x' },
      },
      NOW,
    );
    const messages = notes.map((note) => `${note.level} ${note.message}`);
    expect(messages).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/WARN Config field 'start_time' .*did you mean 'start_date'\?/),
        expect.stringMatching(
          /WARN Config field 'credentials.refreshtoken' .*did you mean 'credentials.refresh_token'\?/,
        ),
        expect.stringMatching(/WARN .*both 'credentials' and the older top-level 'api_token'/),
      ]),
    );
    expect(messages.join('\n')).not.toContain('_airbyte_internal');
  });

  test('closestKey', () => {
    expect(closestKey('start_time', KNOWN_KEYS)).toBe('start_date');
    expect(closestKey('max_request_per_2_seconds', KNOWN_KEYS)).toBe('max_requests_per_2_seconds');
    expect(closestKey('companydomain', KNOWN_KEYS)).toBe('company_domain');
  });

  test('rawSecrets finds every secret before validation', () => {
    expect(
      rawSecrets({
        api_token: ' a ',
        credentials: { ...OAUTH, access_token: 'acc', client_id: 'not-secret' },
      }).sort(),
    ).toEqual(['a', 'acc', 'client-secret-0123', 'refresh-token-0123']);
  });

  // Each bad input names the field and what to do.
  test.each([
    [undefined, /JSON object/],
    [[], /JSON object/],
    [{}, /'api_token' is missing.*Settings.*oauth2/],
    [{ api_token: '' }, /'api_token' is empty/],
    [{ api_token: '   ' }, /'api_token' is empty/],
    [{ api_token: 42 }, /'api_token' must be a string/],
    [{ api_token: 'abc def' }, /'api_token' contains white space/],
    [{ credentials: 'x' }, /'credentials' must be an object/],
    [
      { credentials: { auth_type: 'basic' } },
      /'credentials.auth_type' must be "api_token".*"oauth2"/,
    ],
    [{ credentials: { auth_type: 'api_token' } }, /'credentials.api_token' is missing/],
    [{ credentials: { ...OAUTH, client_secret: '' } }, /'credentials.client_secret' is empty/],
    [
      { credentials: { ...OAUTH, refresh_token: undefined } },
      /'credentials.refresh_token' is missing: authorise the app again/,
    ],
    [
      { credentials: { ...OAUTH, api_domain: 'http://acme.pipedrive.com' } },
      /'credentials.api_domain' uses plain http/,
    ],
    [{ credentials: OAUTH, oauth_url: 'http://oauth.example' }, /'oauth_url' uses plain http/],
    [{ api_token: TOKEN, start_date: 'yesterday' }, /'start_date' must be an RFC 3339.*or a date/],
    [{ api_token: TOKEN, start_date: '2024-02-30T00:00:00Z' }, /'start_date' must be an RFC 3339/],
    [{ api_token: TOKEN, start_date: '2024-02-30' }, /'start_date' must be an RFC 3339/],
    [{ api_token: TOKEN, start_date: '2030-01-01T00:00:00Z' }, /'start_date'.*in the future/],
    [{ api_token: TOKEN, start_date: 20240101 }, /'start_date' must be a string/],
    [
      { api_token: TOKEN, custom_field_names: 'label' },
      /'custom_field_names' must be "name" or "key"/,
    ],
    [{ api_token: TOKEN, deals_lookback_hours: -1 }, /'deals_lookback_hours' must be between 0/],
    [
      { api_token: TOKEN, deals_lookback_hours: '24' },
      /'deals_lookback_hours' must be a whole number/,
    ],
    [
      { api_token: TOKEN, notes_update_window_days: 1.5 },
      /'notes_update_window_days' must be a whole number/,
    ],
    [
      { api_token: TOKEN, max_requests_per_2_seconds: 0 },
      /'max_requests_per_2_seconds' must be between 1/,
    ],
    [{ api_token: TOKEN, daily_token_reserve: -5 }, /'daily_token_reserve' must be between 0/],
    [
      { api_token: TOKEN, max_concurrent_requests: 0 },
      /'max_concurrent_requests' must be between 1/,
    ],
    [
      { api_token: TOKEN, delete_detection: 'monthly' },
      /'delete_detection' must be one of "every_sync", "daily", "weekly", "off"/,
    ],
    [
      { api_token: TOKEN, company_domain: 'acme.example.com' },
      /'company_domain' must be your Pipedrive subdomain.*api_url/,
    ],
    [{ api_token: TOKEN, company_domain: 'ac me' }, /'company_domain' must be your Pipedrive/],
    [{ api_token: TOKEN, api_url: 'not a url' }, /'api_url' is not a valid URL/],
    [{ api_token: TOKEN, api_url: 'http://example.com' }, /plain http to example.com/],
    [{ api_token: TOKEN, api_url: 'ftp://127.0.0.1' }, /must use https/],
    [{ api_token: TOKEN, api_url: 'https://user:pw@example.com' }, /without credentials/],
  ])('%j → config error %s', (raw, message) => {
    let caught: unknown;
    try {
      parseConfig(raw, NOW);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).failureType).toBe('config_error');
    expect((caught as Error).message).toMatch(message);
    for (const secret of [TOKEN, OAUTH.client_secret, OAUTH.refresh_token]) {
      expect((caught as Error).message).not.toContain(secret);
    }
  });

  test.each([
    'http://127.0.0.1:9',
    'http://localhost:80',
    'http://[::1]:8080',
    'https://x.example',
  ])('accepts %s', (url) => {
    expect(() => validateApiUrl(url)).not.toThrow();
  });
});
