/**
 * Value normalisation for records on their way out of the connector.
 *
 * Pipedrive mixes v1 and v2 shapes (`YYYY-MM-DD HH:MM:SS` next to RFC 3339, `0`/`1` next to
 * booleans, numbers as strings), while Airbyte destinations validate records against the
 * declared JSON schema. Every function here maps a raw value onto the declared type or onto
 * null, never throws and never returns NaN, so a record always validates.
 *
 * These functions run once per value of hundreds of thousands of records per second: the
 * common shapes are recognised by looking at character codes, and regular expressions and
 * `Date` objects are kept for the rare shapes.
 */

/** The subset of JSON Schema that Airbyte stream schemas use. */
export interface JsonSchema {
  type?: string | string[];
  format?: string;
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  [keyword: string]: unknown;
}

export type JsonRecord = Record<string, any>;

const CHAR_0 = 48;
const CHAR_9 = 57;
const CHAR_DASH = 45;
const CHAR_COLON = 58;
const CHAR_DOT = 46;
const CHAR_SPACE = 32;
const CHAR_UPPER_T = 84;
const CHAR_UPPER_Z = 90;
const CHAR_PLUS = 43;
const CHAR_LOWER_E = 101;
const CHAR_UPPER_E = 69;

/** Two decimal digits at `index` as a number, or -1 if they are not both digits. */
function twoDigitsAt(text: string, index: number): number {
  const tens = text.charCodeAt(index) - CHAR_0;
  const ones = text.charCodeAt(index + 1) - CHAR_0;
  if (tens < 0 || tens > 9 || ones < 0 || ones > 9) return -1;
  return tens * 10 + ones;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) {
    const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
    return leap ? 29 : 28;
  }
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/**
 * Whether `text` starts with a real calendar date `YYYY-MM-DD`. Checking the day against the
 * month matters because destinations (and Ajv's `format: date`) reject `2024-02-30`.
 */
function startsWithValidDate(text: string): boolean {
  if (text.length < 10) return false;
  if (text.charCodeAt(4) !== CHAR_DASH || text.charCodeAt(7) !== CHAR_DASH) return false;
  const century = twoDigitsAt(text, 0);
  const yearInCentury = twoDigitsAt(text, 2);
  const month = twoDigitsAt(text, 5);
  const day = twoDigitsAt(text, 8);
  if (century < 0 || yearInCentury < 0 || month < 1 || month > 12 || day < 1) return false;
  return day <= daysInMonth(century * 100 + yearInCentury, month);
}

/** Whether `text` holds a valid `HH:MM:SS` at `index`. */
function hasValidTimeAt(text: string, index: number): boolean {
  if (text.charCodeAt(index + 2) !== CHAR_COLON || text.charCodeAt(index + 5) !== CHAR_COLON) {
    return false;
  }
  const hours = twoDigitsAt(text, index);
  const minutes = twoDigitsAt(text, index + 3);
  const seconds = twoDigitsAt(text, index + 6);
  return (
    hours >= 0 && hours <= 23 && minutes >= 0 && minutes <= 59 && seconds >= 0 && seconds <= 59
  );
}

function hasOnlyDigitsBetween(text: string, start: number, end: number): boolean {
  if (start >= end) return false;
  for (let index = start; index < end; index++) {
    const code = text.charCodeAt(index);
    if (code < CHAR_0 || code > CHAR_9) return false;
  }
  return true;
}

/**
 * Rare shapes: offsets, lowercase separators, missing seconds, no zone at all, surrounding
 * blanks. Only reached when none of the fixed-width shapes matched.
 */
const LENIENT_TIMESTAMP =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,]\d+)?)?\s*(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?)?$/;

function parseLenientTimestamp(text: string): string | null {
  const match = LENIENT_TIMESTAMP.exec(text.trim());
  if (!match) return null;
  const [, year, month, day, hours = '00', minutes = '00', seconds = '00'] = match;
  const datePart = `${year}-${month}-${day}`;
  const timePart = `${hours}:${minutes}:${seconds}`;
  if (!startsWithValidDate(datePart) || !hasValidTimeAt(timePart, 0)) return null;
  const offsetSign = match[8];
  // No zone is read as UTC, like v1's `YYYY-MM-DD HH:MM:SS`.
  if (offsetSign === undefined) return `${datePart}T${timePart}Z`;
  const offsetHours = Number(match[9]);
  const offsetMinutes = Number(match[10] ?? '0');
  if (offsetHours > 23 || offsetMinutes > 59) return null;
  const offsetMs = (offsetHours * 60 + offsetMinutes) * 60_000 * (offsetSign === '-' ? -1 : 1);
  const localAsUtc = new Date(`${datePart}T${timePart}Z`).getTime();
  return formatEpochMs(localAsUtc - offsetMs);
}

/** `2026-01-01T00:00:00Z`: RFC 3339 UTC in whole seconds, the precision Pipedrive's updated_since accepts. */
export function toApiTime(date: Date): string {
  const text = formatEpochMs(date.getTime());
  if (text === null) throw new RangeError(`Not a representable time: ${String(date)}`);
  return text;
}

function formatEpochMs(epochMs: number): string | null {
  if (!Number.isFinite(epochMs)) return null;
  const iso = new Date(epochMs).toISOString();
  // Years outside 0000–9999 come out as `+010000-…`, which is not RFC 3339.
  if (iso.length !== 24) return null;
  return iso.slice(0, 19) + 'Z';
}

/**
 * RFC 3339 UTC without fractional seconds (`2024-01-01T00:00:00Z`), or null.
 *
 * Accepts v1 `YYYY-MM-DD HH:MM:SS` (UTC), RFC 3339 with `Z`, an offset or fractional seconds
 * (truncated, not rounded, so a cursor never moves past a record), `YYYY-MM-DD` (midnight
 * UTC) and `Date` objects. Pipedrive's `0000-00-00…` placeholders, epoch numbers and anything
 * unparsable give null.
 */
export function toTimestamp(value: unknown): string | null {
  if (typeof value !== 'string') {
    return value instanceof Date ? formatEpochMs(value.getTime()) : null;
  }
  const length = value.length;
  if (length === 20) {
    // `2024-01-01T00:00:00Z`: v2's usual shape, already what we emit.
    if (
      value.charCodeAt(10) === CHAR_UPPER_T &&
      value.charCodeAt(19) === CHAR_UPPER_Z &&
      startsWithValidDate(value) &&
      hasValidTimeAt(value, 11)
    ) {
      return value;
    }
  } else if (length === 19) {
    // `2024-01-01 00:00:00`: v1's shape, in UTC.
    if (value.charCodeAt(10) === CHAR_SPACE && value.charCodeAt(13) === CHAR_COLON) {
      return startsWithValidDate(value) && hasValidTimeAt(value, 11)
        ? value.slice(0, 10) + 'T' + value.slice(11) + 'Z'
        : null;
    }
  } else if (length === 10) {
    if (value.charCodeAt(4) === CHAR_DASH && value.charCodeAt(7) === CHAR_DASH) {
      return startsWithValidDate(value) ? value + 'T00:00:00Z' : null;
    }
  } else if (length > 21) {
    // `2026-01-30T10:00:00.123Z`: leads and some v2 answers carry milliseconds.
    if (
      value.charCodeAt(10) === CHAR_UPPER_T &&
      value.charCodeAt(19) === CHAR_DOT &&
      value.charCodeAt(length - 1) === CHAR_UPPER_Z &&
      hasOnlyDigitsBetween(value, 20, length - 1) &&
      startsWithValidDate(value) &&
      hasValidTimeAt(value, 11)
    ) {
      return value.slice(0, 19) + 'Z';
    }
  } else if (length === 0) {
    return null;
  }
  return parseLenientTimestamp(value);
}

/**
 * `YYYY-MM-DD`, or null. Timestamps are cut to their date as written: a date column holds the
 * calendar day the user entered, which converting an offset to UTC could shift by one.
 */
export function toDate(value: unknown): string | null {
  if (typeof value !== 'string') {
    if (!(value instanceof Date)) return null;
    const timestamp = formatEpochMs(value.getTime());
    return timestamp === null ? null : timestamp.slice(0, 10);
  }
  if (!startsWithValidDate(value)) return null;
  if (value.length === 10) return value;
  return toTimestamp(value) === null ? null : value.slice(0, 10);
}

/** true/false, 1/0, '1'/'0', 'true'/'false' → boolean; anything else → null. */
export function toBoolean(value: unknown): boolean | null {
  switch (value) {
    case true:
    case 1:
    case '1':
    case 'true':
      return true;
    case false:
    case 0:
    case '0':
    case 'false':
      return false;
    default:
      return null;
  }
}

function isBlank(code: number): boolean {
  return code === CHAR_SPACE || (code >= 9 && code <= 13);
}

/**
 * Whether `text` is a plain decimal number (`-12`, `3.50`, `.5`, `1e3`, blanks around allowed).
 * `Number()` alone also accepts '', '0x1f', 'Infinity' and '1_000'-like oddities.
 */
function isDecimalNumberText(text: string): boolean {
  let start = 0;
  let end = text.length;
  while (start < end && isBlank(text.charCodeAt(start))) start++;
  while (end > start && isBlank(text.charCodeAt(end - 1))) end--;
  let index = start;
  const sign = text.charCodeAt(index);
  if (sign === CHAR_DASH || sign === CHAR_PLUS) index++;
  let digits = 0;
  while (index < end && isDigitCode(text.charCodeAt(index))) {
    index++;
    digits++;
  }
  if (index < end && text.charCodeAt(index) === CHAR_DOT) {
    index++;
    while (index < end && isDigitCode(text.charCodeAt(index))) {
      index++;
      digits++;
    }
  }
  if (digits === 0) return false;
  if (index < end) {
    const exponent = text.charCodeAt(index);
    if (exponent !== CHAR_LOWER_E && exponent !== CHAR_UPPER_E) return false;
    index++;
    const exponentSign = text.charCodeAt(index);
    if (exponentSign === CHAR_DASH || exponentSign === CHAR_PLUS) index++;
    if (index >= end) return false;
    while (index < end && isDigitCode(text.charCodeAt(index))) index++;
  }
  return index === end;
}

function isDigitCode(code: number): boolean {
  return code >= CHAR_0 && code <= CHAR_9;
}

/** Finite numbers and decimal numeric strings → number; anything else → null. */
export function toNumber(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value !== 'string' || !isDecimalNumberText(value)) return null;
  const parsed = Number(value);
  return Number.isFinite(parsed) ? parsed : null;
}

/** Integer-valued numbers and numeric strings (`42`, `'42'`, `42.0`, `'42.0'`) → number. */
export function toInteger(value: unknown): number | null {
  const parsed = toNumber(value);
  return parsed !== null && Number.isInteger(parsed) ? parsed : null;
}

/** Strings as they are, scalars via String, objects and arrays as JSON text. */
export function toStringValue(value: unknown): string | null {
  switch (typeof value) {
    case 'string':
      return value;
    case 'number':
    case 'boolean':
    case 'bigint':
      return String(value);
    case 'object':
      if (value === null) return null;
      if (value instanceof Date) return toTimestamp(value);
      try {
        return JSON.stringify(value);
      } catch {
        // Circular structures cannot come from JSON input; null keeps the record valid anyway.
        return null;
      }
    default:
      return null;
  }
}

/** A JSON object: not null, not an array. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Parses JSON text only when its first non-blank character promises the wanted container. */
function parseJsonContainer(text: string, openingCode: number): unknown {
  let index = 0;
  while (index < text.length && isBlank(text.charCodeAt(index))) index++;
  if (text.charCodeAt(index) !== openingCode) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** Objects (not arrays) as they are, JSON object text parsed, anything else → null. */
export function toObjectValue(value: unknown): Record<string, unknown> | null {
  if (isPlainObject(value)) return value;
  if (typeof value !== 'string') return null;
  const parsed = parseJsonContainer(value, 123 /* { */);
  return isPlainObject(parsed) ? parsed : null;
}

/** Arrays as they are, JSON array text parsed, anything else → null. */
export function toArrayValue(value: unknown): unknown[] | null {
  if (Array.isArray(value)) return value;
  if (typeof value !== 'string') return null;
  const parsed = parseJsonContainer(value, 91 /* [ */);
  return Array.isArray(parsed) ? parsed : null;
}

type Coerce = (value: unknown) => unknown;

function coercerForType(type: string, format: unknown): Coerce | null {
  switch (type) {
    case 'string':
      if (format === 'date-time') return toTimestamp;
      if (format === 'date') return toDate;
      return toStringValue;
    case 'integer':
      return toInteger;
    case 'number':
      return toNumber;
    case 'boolean':
      return toBoolean;
    case 'object':
      return toObjectValue;
    case 'array':
      return toArrayValue;
    default:
      return null;
  }
}

/** Whether a value already has JSON type `type`, so a union column can keep it unchanged. */
function hasJsonType(value: unknown, type: string): boolean {
  switch (type) {
    case 'string':
      return typeof value === 'string';
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value);
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'boolean':
      return typeof value === 'boolean';
    case 'object':
      return isPlainObject(value);
    case 'array':
      return Array.isArray(value);
    default:
      return false;
  }
}

/** The coercion for one property schema, or null when the schema gives nothing to coerce to. */
function coercerForProperty(property: JsonSchema | undefined): Coerce | null {
  if (!property || typeof property !== 'object') return null;
  const declared = property.type;
  const types = (Array.isArray(declared) ? declared : [declared]).filter(
    (type): type is string => typeof type === 'string' && type !== 'null',
  );
  if (types.length === 0) return null;
  const format = property.format;
  if (types.length === 1) return coercerForType(types[0], format);

  // A union such as ['null', 'string', 'integer']: keep a value that fits one member, else take
  // the first member that can represent it. Unknown members make the column untouchable.
  const coercers: Coerce[] = [];
  for (const type of types) {
    const coerce = coercerForType(type, format);
    if (!coerce) return null;
    coercers.push(coerce);
  }
  return (value) => {
    for (const type of types) {
      // A date-time string still has to be normalised, so only formatless strings pass as is.
      if (hasJsonType(value, type) && !(type === 'string' && format)) return value;
    }
    for (const coerce of coercers) {
      const coerced = coerce(value);
      if (coerced !== null) return coerced;
    }
    return null;
  };
}

/**
 * Compiles a stream schema into a function that coerces a record's top-level properties in
 * place to their declared types and returns the record. Properties the schema does not
 * declare, and declared properties the record lacks, are left alone; a value that cannot be
 * coerced becomes null. The (property, coercion) pairs are worked out once here so that the
 * per-record work is a loop over two arrays.
 */
export function compileSchemaCoercer(schema: JsonSchema): (record: JsonRecord) => JsonRecord {
  const names: string[] = [];
  const coercers: Coerce[] = [];
  for (const [name, property] of Object.entries(schema.properties ?? {})) {
    const coerce = coercerForProperty(property);
    if (coerce) {
      names.push(name);
      coercers.push(coerce);
    }
  }
  return compiledCoercer(names, coercers) ?? loopCoercer(names, coercers);
}

/**
 * The coercer as straight-line code, one named property access per column: a loop over the
 * names reads every property through one megamorphic keyed access, about 3x slower for a
 * deal's 60 columns. Names go into the source only as JSON string literals. Null where code
 * generation is disabled (`--disallow-code-generation-from-strings`).
 */
function compiledCoercer(
  names: string[],
  coercers: Coerce[],
): ((record: JsonRecord) => JsonRecord) | null {
  const lines = names.map((name, index) => {
    const key = JSON.stringify(name);
    // Writing only on change keeps untouched records' object shapes as they were.
    return `v = r[${key}]; if (v !== undefined && v !== null) { c = k[${index}](v); if (c !== v) r[${key}] = c; }`;
  });
  try {
    return new Function(
      'k',
      `'use strict'; return function coerce(r) { let v; let c;\n${lines.join('\n')}\nreturn r; };`,
    )(coercers) as (record: JsonRecord) => JsonRecord;
  } catch {
    return null;
  }
}

function loopCoercer(names: string[], coercers: Coerce[]): (record: JsonRecord) => JsonRecord {
  const count = names.length;
  return (record) => {
    for (let index = 0; index < count; index++) {
      const name = names[index];
      const value = record[name];
      if (value === undefined || value === null) continue;
      const coerced = coercers[index](value);
      if (coerced !== value) record[name] = coerced;
    }
    return record;
  };
}
