/**
 * Pipedrive's timestamp dialects. Internally every time is whole epoch seconds (cheap to keep in
 * typed arrays, cheap to compare); these helpers turn them into what each API version prints.
 */

export const SECONDS_PER_DAY = 86_400;

/** v2: RFC 3339 without fractional seconds, e.g. `2026-01-01T00:00:00Z`. */
export function toV2Time(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString().slice(0, 19) + 'Z';
}

/** v1: `YYYY-MM-DD HH:MM:SS` in UTC. */
export function toV1Time(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString().slice(0, 19).replace('T', ' ');
}

/** Leads and lead labels: ISO with milliseconds, e.g. `2020-10-14T11:30:36.551Z`. */
export function toIsoMillis(epochSeconds: number, millis: number): string {
  return new Date(epochSeconds * 1000 + millis).toISOString();
}

export function toDateOnly(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString().slice(0, 10);
}

export function toTimeOfDay(secondsOfDay: number): string {
  return new Date(secondsOfDay * 1000).toISOString().slice(11, 19);
}

export function toEpochSeconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}

const STRICT_RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(Z|[+-]\d{2}:\d{2})$/;
const LENIENT_TIMESTAMP =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$/;

/**
 * What Pipedrive's v2 validators accept for `updated_since`/`updated_until`: RFC 3339 without
 * fractional seconds (a fraction is a 400 there, and connectors must not send one).
 */
export function parseStrictRfc3339(text: string): number | null {
  if (!STRICT_RFC3339.test(text)) return null;
  const millis = Date.parse(text);
  return Number.isFinite(millis) ? Math.floor(millis / 1000) : null;
}

/** v1 endpoints are forgiving: RFC 3339 with or without a fraction, or `YYYY-MM-DD HH:MM:SS`. */
export function parseLenientTimestamp(text: string): number | null {
  const match = LENIENT_TIMESTAMP.exec(text);
  if (!match) return null;
  const [, year, month, day, hour, minute, second, , zone] = match;
  const offset = !zone || zone === 'Z' ? 'Z' : zone.replace(/^([+-]\d{2})(\d{2})$/, '$1:$2');
  const millis = Date.parse(`${year}-${month}-${day}T${hour}:${minute}:${second}${offset}`);
  return Number.isFinite(millis) ? Math.floor(millis / 1000) : null;
}

/** Parses any timestamp this fake prints (v1, v2, ISO with millis); null for null/placeholders. */
export function parseRecordTime(value: unknown): number | null {
  if (typeof value !== 'string' || value.startsWith('0000')) return null;
  return parseLenientTimestamp(value);
}

export function parseDateOnly(text: string): number | null {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return null;
  const millis = Date.parse(`${text}T00:00:00Z`);
  return Number.isFinite(millis) ? millis / 1000 : null;
}
