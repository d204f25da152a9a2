import { parseConfig, validateApiUrl } from '../src/config';
import { ConfigError } from '../src/errors';

const NOW = new Date('2026-06-01T12:00:00Z');
const TOKEN = 'abcdef0123456789';

describe('parseConfig', () => {
  test('applies defaults', () => {
    expect(parseConfig({ api_token: TOKEN }, NOW)).toEqual({
      api_token: TOKEN,
      company_domain: undefined,
      api_url: undefined,
      start_date: undefined,
      deals_lookback_hours: 24,
      notes_update_window_days: 0,
      max_requests_per_2_seconds: 20,
      max_requests_explicit: false,
      max_concurrent_requests: 64,
      daily_token_reserve: 0,
      custom_field_names: 'name',
    });
    expect(
      parseConfig({ api_token: TOKEN, max_requests_per_2_seconds: 40 }, NOW).max_requests_explicit,
    ).toBe(true);
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
    expect(config.api_token).toBe(TOKEN);
    expect(config.start_date).toBe('2024-01-01T00:00:00Z');
    expect(config.company_domain).toBe('acme');
    expect(config.api_url).toBe('http://127.0.0.1:8080');
  });

  // Each bad input names the field and what to do.
  test.each([
    [undefined, /JSON object/],
    [[], /JSON object/],
    [{}, /'api_token' is missing.*Settings/],
    [{ api_token: '' }, /'api_token' is empty/],
    [{ api_token: '   ' }, /'api_token' is empty/],
    [{ api_token: 42 }, /'api_token' must be a string/],
    [{ api_token: 'abc def' }, /'api_token' contains white space/],
    [{ api_token: TOKEN, start_date: 'yesterday' }, /'start_date' must be an RFC 3339/],
    [{ api_token: TOKEN, start_date: '2024-02-30T00:00:00Z' }, /'start_date' must be an RFC 3339/],
    [{ api_token: TOKEN, start_date: '2024-01-01' }, /'start_date' must be an RFC 3339/],
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
      { api_token: TOKEN, company_domain: 'acme.pipedrive.com' },
      /'company_domain' must be the subdomain only/,
    ],
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
    expect((caught as Error).message).not.toContain(TOKEN);
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
