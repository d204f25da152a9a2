import Ajv from 'ajv';
import addFormats from 'ajv-formats';

import {
  compileSchemaCoercer,
  isPlainObject,
  JsonSchema,
  toArrayValue,
  toBoolean,
  toDate,
  toInteger,
  toNumber,
  toObjectValue,
  toStringValue,
  toTimestamp,
} from '../src/normalize';

function newAjv(): Ajv {
  const ajv = new Ajv({ allowUnionTypes: true, allErrors: true });
  addFormats(ajv);
  return ajv;
}

describe('toTimestamp', () => {
  it.each<[string, unknown, string | null]>([
    // v1 shape, UTC
    ['v1 midnight', '2024-01-01 00:00:00', '2024-01-01T00:00:00Z'],
    ['v1 last second of a year', '2023-12-31 23:59:59', '2023-12-31T23:59:59Z'],
    ['v1 leap day', '2024-02-29 12:00:00', '2024-02-29T12:00:00Z'],
    ['v1 placeholder', '0000-00-00 00:00:00', null],
    ['v1 date placeholder', '0000-00-00', null],
    // RFC 3339
    ['already canonical', '2024-05-06T07:08:09Z', '2024-05-06T07:08:09Z'],
    ['milliseconds', '2026-01-30T10:00:00.123Z', '2026-01-30T10:00:00Z'],
    ['zero milliseconds', '2026-01-30T10:00:00.000Z', '2026-01-30T10:00:00Z'],
    ['microseconds', '2026-01-30T10:00:00.123456Z', '2026-01-30T10:00:00Z'],
    ['one fraction digit', '2026-01-30T10:00:00.5Z', '2026-01-30T10:00:00Z'],
    ['fraction truncated, not rounded', '2026-01-30T10:00:59.999Z', '2026-01-30T10:00:59Z'],
    ['positive offset', '2024-01-01T10:00:00+02:00', '2024-01-01T08:00:00Z'],
    ['negative half-hour offset', '2024-01-01T01:00:00-05:30', '2024-01-01T06:30:00Z'],
    ['offset without colon', '2024-01-01T10:00:00+0200', '2024-01-01T08:00:00Z'],
    ['offset hours only', '2024-01-01T10:00:00+02', '2024-01-01T08:00:00Z'],
    ['zero offset', '2024-01-01T10:00:00+00:00', '2024-01-01T10:00:00Z'],
    ['negative zero offset', '2024-01-01T10:00:00-00:00', '2024-01-01T10:00:00Z'],
    ['offset back into last year', '2024-01-01T01:00:00+02:00', '2023-12-31T23:00:00Z'],
    ['offset forward into next day', '2024-02-28T22:00:00-03:00', '2024-02-29T01:00:00Z'],
    ['offset with milliseconds', '2024-06-01T12:00:00.500+01:00', '2024-06-01T11:00:00Z'],
    ['lowercase separators', '2024-06-01t12:00:00z', '2024-06-01T12:00:00Z'],
    ['space and offset', '2024-06-01 12:00:00+01:00', '2024-06-01T11:00:00Z'],
    ['no zone means UTC', '2024-06-01T12:00:00', '2024-06-01T12:00:00Z'],
    ['no seconds', '2024-06-01T12:34Z', '2024-06-01T12:34:00Z'],
    ['surrounding blanks', ' 2024-06-01T12:00:00Z\n', '2024-06-01T12:00:00Z'],
    // dates
    ['date only', '2024-01-01', '2024-01-01T00:00:00Z'],
    ['leap day in a 400-year', '2000-02-29', '2000-02-29T00:00:00Z'],
    ['no leap day in a 100-year', '2100-02-29', null],
    ['no leap day in 2023', '2023-02-29', null],
    ['April 31st', '2024-04-31', null],
    ['month 13', '2024-13-01', null],
    ['month 0', '2024-00-10', null],
    ['day 32', '2024-01-32', null],
    ['day 0', '2024-01-00', null],
    // invalid times
    ['hour 24', '2024-01-01 24:00:00', null],
    ['minute 60', '2024-01-01T10:60:00Z', null],
    ['second 60', '2024-01-01T10:00:60Z', null],
    ['offset hour 24', '2024-01-01T10:00:00+24:00', null],
    ['offset minute 60', '2024-01-01T10:00:00+01:60', null],
    ['year past 9999 after offset', '9999-12-31T23:00:00-02:00', null],
    ['year before 0000 after offset', '0000-01-01T01:00:00+02:00', null],
    // garbage
    ['empty', '', null],
    ['blank', '   ', null],
    ['words', 'yesterday', null],
    ['trailing junk', '2024-01-01T10:00:00Zjunk', null],
    ['letters in digits', '2024-0a-01 10:00:00', null],
    ['letters in a canonical shape', '2024-01-01T1a:00:00Z', null],
    ['dashes for colons', '2024-01-01T10-00-00Z', null],
    ['letters in fraction', '2024-01-01T10:00:00.12aZ', null],
    ['slashes', '2024/01/01 10:00:00', null],
    ['two-digit year', '24-01-01', null],
    // non-strings
    ['null', null, null],
    ['undefined', undefined, null],
    ['epoch seconds', 1704067200, null],
    ['epoch milliseconds', 1704067200000, null],
    ['boolean', true, null],
    ['object', { value: '2024-01-01' }, null],
    ['array', ['2024-01-01'], null],
    ['Date', new Date('2024-01-01T10:00:00.789Z'), '2024-01-01T10:00:00Z'],
    ['invalid Date', new Date(Number.NaN), null],
  ])('%s: %p → %p', (_label, input, expected) => {
    expect(toTimestamp(input)).toBe(expected);
  });

  it('returns valid RFC 3339 date-times for every non-null result', () => {
    const validate = newAjv().compile({ type: 'string', format: 'date-time' });
    for (const input of ['2024-01-01', '2024-01-01 10:00:00', '2024-01-01T10:00:00.1+05:45']) {
      const result = toTimestamp(input);
      expect(result).not.toBeNull();
      expect(validate(result)).toBe(true);
      expect(result).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    }
  });
});

describe('toDate', () => {
  it.each<[string, unknown, string | null]>([
    ['date', '2024-01-01', '2024-01-01'],
    ['leap day', '2024-02-29', '2024-02-29'],
    ['v1 timestamp', '2024-01-01 10:00:00', '2024-01-01'],
    ['RFC 3339', '2024-01-01T10:00:00Z', '2024-01-01'],
    ['milliseconds', '2026-01-30T23:59:59.999Z', '2026-01-30'],
    ['offset keeps the written day', '2024-01-01T23:30:00-05:00', '2024-01-01'],
    ['date placeholder', '0000-00-00', null],
    ['timestamp placeholder', '0000-00-00 00:00:00', null],
    ['impossible date', '2024-02-30', null],
    ['impossible time', '2024-01-01 25:00:00', null],
    ['date then junk', '2024-01-01junk', null],
    ['date then blank junk', '2024-01-01 junk', null],
    ['empty', '', null],
    ['words', 'today', null],
    ['null', null, null],
    ['undefined', undefined, null],
    ['number', 20240101, null],
    ['Date', new Date('2024-03-04T23:59:59.999Z'), '2024-03-04'],
    ['invalid Date', new Date(Number.NaN), null],
  ])('%s: %p → %p', (_label, input, expected) => {
    expect(toDate(input)).toBe(expected);
  });
});

describe('toBoolean', () => {
  it.each<[unknown, boolean | null]>([
    [true, true],
    [false, false],
    [1, true],
    [0, false],
    ['1', true],
    ['0', false],
    ['true', true],
    ['false', false],
    [null, null],
    [undefined, null],
    ['', null],
    ['TRUE', null],
    ['yes', null],
    ['no', null],
    [2, null],
    [-1, null],
    [0.5, null],
    [Number.NaN, null],
    [{}, null],
    [[], null],
  ])('%p → %p', (input, expected) => {
    expect(toBoolean(input)).toBe(expected);
  });
});

describe('toInteger', () => {
  it.each<[unknown, number | null]>([
    [42, 42],
    [-7, -7],
    [0, 0],
    [3.0, 3],
    [1e21, 1e21],
    ['42', 42],
    ['-42', -42],
    ['+42', 42],
    ['42.0', 42],
    ['42.', 42],
    [' 42 ', 42],
    ['1e3', 1000],
    ['007', 7],
    [3.5, null],
    ['3.5', null],
    ['1e-3', null],
    ['abc', null],
    ['12abc', null],
    ['', null],
    [' ', null],
    ['-', null],
    ['0x10', null],
    ['0b11', null],
    ['Infinity', null],
    ['1e400', null],
    [Number.NaN, null],
    [Number.POSITIVE_INFINITY, null],
    [true, null],
    [false, null],
    [null, null],
    [undefined, null],
    [[], null],
    [[1], null],
    [{}, null],
  ])('%p → %p', (input, expected) => {
    expect(toInteger(input)).toBe(expected);
  });
});

describe('toNumber', () => {
  it.each<[unknown, number | null]>([
    [3.5, 3.5],
    [-0.25, -0.25],
    [0, 0],
    [42, 42],
    ['3.5', 3.5],
    ['-0.25', -0.25],
    ['+1.5', 1.5],
    ['.5', 0.5],
    ['5.', 5],
    ['1e-3', 0.001],
    ['1E3', 1000],
    ['1e+3', 1000],
    ['\t12.5\n', 12.5],
    ['', null],
    ['.', null],
    ['-', null],
    ['e5', null],
    ['1e', null],
    ['1e+', null],
    ['1.2.3', null],
    ['1,5', null],
    ['1 000', null],
    ['0x10', null],
    ['NaN', null],
    ['Infinity', null],
    ['-Infinity', null],
    ['1e400', null],
    [Number.NaN, null],
    [Number.NEGATIVE_INFINITY, null],
    [true, null],
    [null, null],
    [undefined, null],
    [{ value: 1 }, null],
    [[1], null],
  ])('%p → %p', (input, expected) => {
    expect(toNumber(input)).toBe(expected);
  });
});

describe('toStringValue', () => {
  const circular: Record<string, unknown> = {};
  circular.self = circular;

  it.each<[string, unknown, string | null]>([
    ['string', 'abc', 'abc'],
    ['empty string', '', ''],
    ['integer', 42, '42'],
    ['float', 1.5, '1.5'],
    ['true', true, 'true'],
    ['false', false, 'false'],
    ['bigint', BigInt(10), '10'],
    ['object', { a: 1, b: 'x' }, '{"a":1,"b":"x"}'],
    ['array', [1, 'x', null], '[1,"x",null]'],
    ['empty object', {}, '{}'],
    ['Date', new Date('2024-01-01T00:00:00.500Z'), '2024-01-01T00:00:00Z'],
    ['null', null, null],
    ['undefined', undefined, null],
    ['symbol', Symbol('s'), null],
    ['function', () => 1, null],
    ['circular object', circular, null],
  ])('%s', (_label, input, expected) => {
    expect(toStringValue(input)).toBe(expected);
  });
});

describe('toObjectValue and toArrayValue', () => {
  it.each<[string, unknown, unknown]>([
    ['object', { a: 1 }, { a: 1 }],
    ['JSON object text', '{"a":1}', { a: 1 }],
    ['JSON object text with blanks', ' \n{"a":1} ', { a: 1 }],
    ['JSON array text', '[1]', null],
    ['broken JSON', '{"a":', null],
    ['plain text', 'hello', null],
    ['array', [1], null],
    ['number', 1, null],
    ['null', null, null],
  ])('toObjectValue: %s', (_label, input, expected) => {
    expect(toObjectValue(input)).toEqual(expected);
  });

  it.each<[string, unknown, unknown]>([
    ['array', [1, 'a'], [1, 'a']],
    ['JSON array text', '[1,"a"]', [1, 'a']],
    ['JSON object text', '{"a":1}', null],
    ['broken JSON', '[1,', null],
    ['plain text', '1,2', null],
    ['object', { a: 1 }, null],
    ['number', 1, null],
    ['undefined', undefined, null],
  ])('toArrayValue: %s', (_label, input, expected) => {
    expect(toArrayValue(input)).toEqual(expected);
  });

  it('returns objects and arrays it is given as they are', () => {
    const object = { a: 1 };
    const array = [1];
    expect(toObjectValue(object)).toBe(object);
    expect(toArrayValue(array)).toBe(array);
  });

  it('isPlainObject tells JSON objects from null and arrays', () => {
    expect(isPlainObject({})).toBe(true);
    expect(isPlainObject(null)).toBe(false);
    expect(isPlainObject([])).toBe(false);
    expect(isPlainObject('x')).toBe(false);
  });
});

describe('compileSchemaCoercer', () => {
  const schema: JsonSchema = {
    type: 'object',
    properties: {
      col: { type: ['null', 'integer'] },
      t: { type: ['null', 'string'], format: 'date-time' },
      d: { type: ['null', 'string'], format: 'date' },
      b: { type: ['null', 'boolean'] },
      n: { type: ['null', 'number'] },
      s: { type: ['null', 'string'] },
      o: { type: ['null', 'object'] },
      a: { type: ['null', 'array'] },
    },
  };
  // Generated code, and the loop used where code generation is disabled (forced by making
  // `Function` throw the way --disallow-code-generation-from-strings does).
  const generated = compileSchemaCoercer(schema);
  const originalFunction = globalThis.Function;
  globalThis.Function = function disallowed() {
    throw new EvalError('Code generation from strings disallowed for this context');
  } as unknown as FunctionConstructor;
  let fallback: ReturnType<typeof compileSchemaCoercer>;
  try {
    fallback = compileSchemaCoercer(schema);
  } finally {
    globalThis.Function = originalFunction;
  }
  const coercers = [
    ['generated code', generated],
    ['loop fallback', fallback],
  ] as const;

  it('the fallback is a different function (the test covers both)', () => {
    expect(generated.name).toBe('coerce');
    expect(fallback).not.toBe(generated);
    expect(fallback.name).not.toBe('coerce');
  });

  it.each<[string, unknown, unknown]>([
    ['col', 42, 42],
    ['col', '42', 42],
    ['col', '42.0', 42],
    ['col', 4.2, null],
    ['col', 'x', null],
    ['col', true, null],
    ['col', { id: 1 }, null],
    ['t', '2024-01-01 10:00:00', '2024-01-01T10:00:00Z'],
    ['t', '2024-01-01T10:00:00.123Z', '2024-01-01T10:00:00Z'],
    ['t', '2024-01-01T10:00:00+01:00', '2024-01-01T09:00:00Z'],
    ['t', '0000-00-00 00:00:00', null],
    ['t', 1704067200, null],
    ['t', 'soon', null],
    ['d', '2024-01-01', '2024-01-01'],
    ['d', '2024-01-01 10:00:00', '2024-01-01'],
    ['d', '0000-00-00', null],
    ['d', 'never', null],
    ['b', true, true],
    ['b', 0, false],
    ['b', '1', true],
    ['b', 'false', false],
    ['b', 'maybe', null],
    ['n', 1.5, 1.5],
    ['n', '1.5', 1.5],
    ['n', 'NaN', null],
    ['n', [], null],
    ['s', 'text', 'text'],
    ['s', 12, '12'],
    ['s', false, 'false'],
    ['s', { a: 1 }, '{"a":1}'],
    ['s', [1, 2], '[1,2]'],
    ['o', { a: 1 }, { a: 1 }],
    ['o', '{"a":1}', { a: 1 }],
    ['o', '[1]', null],
    ['o', [1], null],
    ['o', 'text', null],
    ['o', 1, null],
    ['a', [1, 'x'], [1, 'x']],
    ['a', '[1,"x"]', [1, 'x']],
    ['a', '{"a":1}', null],
    ['a', { a: 1 }, null],
    ['a', 'x,y', null],
  ])('%s: %p → %p', (column, input, expected) => {
    for (const [, coerce] of coercers) {
      const record: Record<string, unknown> = { [column]: input };
      expect(coerce(record)[column]).toEqual(expected);
    }
  });

  it.each(coercers)('%s coerces in place and returns the same record', (_name, coerce) => {
    const record = { col: '1', other: 'kept' };
    expect(coerce(record)).toBe(record);
    expect(record).toEqual({ col: 1, other: 'kept' });
  });

  it.each(coercers)(
    '%s leaves properties the schema does not declare untouched',
    (_name, coerce) => {
      const nested = { deep: '1' };
      const record = { unknown: '2024-01-01 10:00:00', nested, col: 7 };
      coerce(record);
      expect(record).toEqual({ unknown: '2024-01-01 10:00:00', nested: { deep: '1' }, col: 7 });
      expect(record.nested).toBe(nested);
    },
  );

  it.each(coercers)(
    '%s does not add declared properties the record lacks, and keeps nulls',
    (_name, coerce) => {
      const record: Record<string, unknown> = { s: null, n: undefined };
      coerce(record);
      expect(Object.keys(record)).toEqual(['s', 'n']);
      expect(record.s).toBeNull();
      expect(record.n).toBeUndefined();
    },
  );

  it.each(coercers)(
    '%s does not write values that are already right (frozen records pass)',
    (_name, coerce) => {
      const record = Object.freeze({
        col: 1,
        t: '2024-01-01T00:00:00Z',
        d: '2024-01-01',
        b: true,
        n: 1.5,
        s: 's',
        o: { a: 1 },
        a: [1],
      });
      expect(() => coerce(record)).not.toThrow();
    },
  );

  it.each(coercers)('%s is idempotent', (_name, coerce) => {
    const record = { col: '1', t: '2024-01-01 10:00:00', s: { a: 1 }, o: '{"a":1}' };
    const once = { ...coerce(record) };
    expect(coerce(record)).toEqual(once);
  });

  it('accepts a type given as a single string', () => {
    const coerceSingle = compileSchemaCoercer({
      type: 'object',
      properties: { id: { type: 'integer' }, at: { type: 'string', format: 'date-time' } },
    });
    expect(coerceSingle({ id: '5', at: '2024-01-01 00:00:00' })).toEqual({
      id: 5,
      at: '2024-01-01T00:00:00Z',
    });
  });

  it('leaves properties alone whose schema names no usable type', () => {
    const coerceLoose = compileSchemaCoercer({
      type: 'object',
      properties: {
        anything: {},
        nullOnly: { type: 'null' },
        combined: { anyOf: [{ type: 'string' }, { type: 'integer' }] },
        odd: { type: ['null', 'mystery'] },
        oddUnion: { type: ['string', 'mystery'] },
      },
    });
    const record = { anything: 1, nullOnly: 'x', combined: true, odd: [1], oddUnion: 2 };
    expect(coerceLoose({ ...record })).toEqual(record);
  });

  it('keeps a value that fits one member of a union type, else takes the first that fits', () => {
    const coerceUnion = compileSchemaCoercer({
      type: 'object',
      properties: {
        integerOrString: { type: ['null', 'integer', 'string'] },
        numberOrBoolean: { type: ['null', 'number', 'boolean'] },
        stampOrInteger: { type: ['null', 'string', 'integer'], format: 'date-time' },
        objectOrArray: { type: ['null', 'object', 'array'] },
        booleanOrString: { type: ['boolean', 'string'] },
      },
    });
    expect(coerceUnion({ integerOrString: 'abc' }).integerOrString).toBe('abc');
    expect(coerceUnion({ integerOrString: 5 }).integerOrString).toBe(5);
    expect(coerceUnion({ integerOrString: 1.5 }).integerOrString).toBe('1.5');
    expect(coerceUnion({ numberOrBoolean: 'true' }).numberOrBoolean).toBe(true);
    expect(coerceUnion({ numberOrBoolean: '2' }).numberOrBoolean).toBe(2);
    expect(coerceUnion({ numberOrBoolean: 'x' }).numberOrBoolean).toBeNull();
    expect(coerceUnion({ stampOrInteger: '2024-01-01' }).stampOrInteger).toBe(
      '2024-01-01T00:00:00Z',
    );
    expect(coerceUnion({ stampOrInteger: 7 }).stampOrInteger).toBe(7);
    expect(coerceUnion({ objectOrArray: { a: 1 } }).objectOrArray).toEqual({ a: 1 });
    expect(coerceUnion({ objectOrArray: [1] }).objectOrArray).toEqual([1]);
    expect(coerceUnion({ objectOrArray: '[1]' }).objectOrArray).toEqual([1]);
    expect(coerceUnion({ objectOrArray: 'x' }).objectOrArray).toBeNull();
    expect(coerceUnion({ booleanOrString: false }).booleanOrString).toBe(false);
    expect(coerceUnion({ booleanOrString: 1 }).booleanOrString).toBe(true);
    expect(coerceUnion({ booleanOrString: 2 }).booleanOrString).toBe('2');
  });

  it('handles a schema without properties', () => {
    const record = { a: 1 };
    expect(compileSchemaCoercer({ type: 'object' })(record)).toBe(record);
  });

  describe('records validate against the schema after coercion', () => {
    const validate = newAjv().compile(schema);
    const awkwardValues: unknown[] = [
      null,
      '',
      ' ',
      'text',
      '0',
      '1',
      '42',
      '4.2',
      'true',
      '2024-01-01',
      '2024-01-01 10:00:00',
      '2024-02-30 10:00:00',
      '0000-00-00 00:00:00',
      '2026-01-30T10:00:00.123Z',
      '{"a":1}',
      '[1,2]',
      '{broken',
      0,
      1,
      -3,
      4.2,
      1e21,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      true,
      false,
      {},
      { a: 1 },
      [],
      [1, 'x'],
      new Date('2024-01-01T00:00:00Z'),
    ];
    const columns = Object.keys(schema.properties ?? {});

    it.each(awkwardValues.map((value) => [value]))('every column given %p', (value) => {
      for (const [, coerce] of coercers) {
        const record: Record<string, unknown> = { extra: value };
        for (const column of columns) record[column] = value;
        coerce(record);
        const valid = validate(record);
        expect(validate.errors ?? []).toEqual([]);
        expect(valid).toBe(true);
      }
    });
  });
});
