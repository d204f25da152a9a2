import VError from 'verror';

import {
  AccountError,
  ConfigError,
  ConnectorError,
  DailyBudgetExhaustedError,
  isSyncFatal,
  PermissionError,
  ResourceGoneError,
  streamError,
  traceOf,
  TransientError,
} from '../src/errors';

describe('errors on VError', () => {
  test('the classes keep their names, failure types and instanceof relations', () => {
    const cases: Array<[ConnectorError, string, string]> = [
      [new ConfigError('c'), 'ConfigError', 'config_error'],
      [new TransientError('t'), 'TransientError', 'transient_error'],
      [new PermissionError('p'), 'PermissionError', 'config_error'],
      [new AccountError('a'), 'AccountError', 'config_error'],
      [new ResourceGoneError('g', 410), 'ResourceGoneError', 'transient_error'],
      [new DailyBudgetExhaustedError('d'), 'DailyBudgetExhaustedError', 'transient_error'],
    ];
    for (const [error, name, type] of cases) {
      expect([error.name, error.failureType]).toEqual([name, type]);
      expect(error).toBeInstanceOf(ConnectorError);
      expect(error).toBeInstanceOf(VError);
      expect(error).toBeInstanceOf(Error);
    }
    expect(new PermissionError('p')).toBeInstanceOf(ConfigError);
    expect(isSyncFatal(new AccountError('a'))).toBe(true);
    expect(isSyncFatal(new PermissionError('p'))).toBe(false);
  });

  test('a message is text, never a printf format', () => {
    expect(new TransientError('93% of %s the limit %d').message).toBe('93% of %s the limit %d');
  });

  test('a cause chain from the HTTP failure to the stream error, with merged info', () => {
    const http = new TransientError('Pipedrive answered 503 for GET /v2/deals', {
      info: { endpoint: 'GET /v2/deals', status: 503 },
    });
    const stream = streamError('deals', http);
    expect(stream.message).toBe('Stream deals: Pipedrive answered 503 for GET /v2/deals');
    expect(stream.failureType).toBe('transient_error');
    expect(VError.cause(stream)).toBe(http);
    expect(stream.info).toEqual({ endpoint: 'GET /v2/deals', status: 503, stream: 'deals' });
    const trace = traceOf(stream);
    expect(trace.internalMessage).toContain('caused by: TransientError: Pipedrive answered 503');
    expect(trace.internalMessage).toContain('"stream":"deals"');
  });

  test('a bug under a stream stays a system_error', () => {
    expect(streamError('notes', new TypeError('x is undefined')).failureType).toBe('system_error');
  });

  test('a plain config mistake has no internal stack; skipCauseMessage keeps the message', () => {
    expect(traceOf(new ConfigError('fix it')).internalMessage).toBeUndefined();
    const error = new ConfigError('Cannot resolve x', {
      cause: new Error('getaddrinfo ENOTFOUND'),
      skipCauseMessage: true,
    });
    expect(error.message).toBe('Cannot resolve x');
    expect(traceOf(error).internalMessage).toContain('getaddrinfo ENOTFOUND');
  });

  test('ResourceGoneError carries its status as info', () => {
    const error = new ResourceGoneError('gone', 404, {
      info: { endpoint: 'GET /v1/deals/1/flow' },
    });
    expect([error.status, error.info]).toEqual([
      404,
      { status: 404, endpoint: 'GET /v1/deals/1/flow' },
    ]);
  });
});
