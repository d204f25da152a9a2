import { FakeClock } from '../clock';
import { FakeStore, TableName } from '../store/store';
import { JsonObject } from '../types';
import { ApiError, badRequest, notFound } from './errors';

/**
 * Pipedrive's own write calls, so that a person trying the connector against the standalone
 * fake can change data with curl and watch the next incremental sync pick it up:
 *
 *   POST   /api/v2/{deals|persons|organizations|activities|products}        create
 *   PATCH  /api/v2/{deals|persons|organizations|activities|products}/{id}   update
 *   DELETE /api/v2/{deals|persons|organizations|activities|products}/{id}   delete (soft)
 *   POST   /api/v1/notes, PUT /api/v1/notes/{id}, DELETE /api/v1/notes/{id}
 *
 * Bodies are JSON (or form-encoded, as v1 also accepts). Changes are stamped with the fake
 * clock; writes cost no API tokens here. `POST /_fake/clock/advance?seconds=N` moves the clock.
 */

interface WriteTarget {
  table: TableName;
  label: string;
  /** A field a create must have (Pipedrive answers 400 without it). */
  required: string;
}

const V2_TARGETS: Record<string, WriteTarget> = {
  deals: { table: 'deals', label: 'Deal', required: 'title' },
  persons: { table: 'persons', label: 'Person', required: 'name' },
  organizations: { table: 'organizations', label: 'Organization', required: 'name' },
  activities: { table: 'activities', label: 'Activity', required: 'subject' },
  products: { table: 'products', label: 'Product', required: 'name' },
};

const NOTE_TARGET: WriteTarget = { table: 'notes', label: 'Note', required: 'content' };
const NOTE_PARENTS = ['deal_id', 'person_id', 'org_id', 'lead_id', 'project_id'];

/** Fields a write may not set: the record's identity and the times the fake stamps itself. */
const PROTECTED = new Set(['id', 'add_time', 'update_time', 'is_deleted']);

export interface WriteResult {
  status: number;
  body: JsonObject;
}

/** Parses a JSON or form body into an object; 400 otherwise. */
export function parseWriteBody(text: string, contentType: string | undefined): JsonObject {
  if (text.trim() === '') return {};
  if (contentType?.includes('application/x-www-form-urlencoded')) {
    const values: JsonObject = {};
    for (const [key, value] of new URLSearchParams(text)) {
      values[key] = /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value;
    }
    return values;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw badRequest('The request body is not valid JSON');
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw badRequest('The request body must be a JSON object');
  }
  return parsed as JsonObject;
}

function patchOf(body: JsonObject): JsonObject {
  const patch: JsonObject = {};
  for (const [key, value] of Object.entries(body)) if (!PROTECTED.has(key)) patch[key] = value;
  return patch;
}

function idOf(text: string, label: string): number {
  const id = Number(text);
  if (!Number.isInteger(id) || id <= 0) throw badRequest(`${label} id must be a positive integer`);
  return id;
}

function create(store: FakeStore, target: WriteTarget, body: JsonObject): WriteResult {
  const value = body[target.required];
  if (typeof value !== 'string' || value.trim() === '') {
    throw badRequest(`Parameter '${target.required}' is required`);
  }
  if (target === NOTE_TARGET && !NOTE_PARENTS.some((key) => body[key] !== undefined)) {
    throw badRequest(`A note needs one of ${NOTE_PARENTS.join(', ')}`);
  }
  return { status: 201, body: { success: true, data: store.insert(target.table, patchOf(body)) } };
}

function change(store: FakeStore, target: WriteTarget, id: number, body: JsonObject): WriteResult {
  if (!store.find(target.table, id)) throw notFound(`${target.label} not found`);
  return {
    status: 200,
    body: { success: true, data: store.update(target.table, id, patchOf(body)) },
  };
}

function remove(store: FakeStore, target: WriteTarget, id: number, v1: boolean): WriteResult {
  const found = store.find(target.table, id);
  const gone = found && store.present(target.table, found.record);
  if (!found || gone?.is_deleted === true || gone?.active_flag === false) {
    throw notFound(`${target.label} not found`);
  }
  store.remove(target.table, id);
  return { status: 200, body: { success: true, data: v1 ? true : { id } } };
}

/**
 * The answer to a write call, or null when the method and path are not one of the writes
 * above (the server then answers like Pipedrive for an unknown method).
 */
export function handleWrite(
  store: FakeStore,
  method: string,
  pathname: string,
  body: JsonObject,
): WriteResult | null {
  const v2 = /^\/api\/v2\/([a-z]+)(?:\/([^/]+))?\/?$/.exec(pathname);
  const v1 = /^\/(?:api\/)?v1\/notes(?:\/([^/]+))?\/?$/.exec(pathname);
  try {
    if (v2 && V2_TARGETS[v2[1]]) {
      const target = V2_TARGETS[v2[1]];
      if (method === 'POST' && v2[2] === undefined) return create(store, target, body);
      if (method === 'PATCH' && v2[2] !== undefined) {
        return change(store, target, idOf(v2[2], target.label), body);
      }
      if (method === 'DELETE' && v2[2] !== undefined) {
        return remove(store, target, idOf(v2[2], target.label), false);
      }
      return null;
    }
    if (v1) {
      if (method === 'POST' && v1[1] === undefined) return create(store, NOTE_TARGET, body);
      if (method === 'PUT' && v1[1] !== undefined) {
        return change(store, NOTE_TARGET, idOf(v1[1], 'Note'), body);
      }
      if (method === 'DELETE' && v1[1] !== undefined) {
        return remove(store, NOTE_TARGET, idOf(v1[1], 'Note'), true);
      }
    }
    return null;
  } catch (error) {
    if (error instanceof ApiError) return { status: error.status, body: error.body() };
    throw error;
  }
}

/** `POST /_fake/clock/advance?seconds=N` and `GET /_fake/clock`: the fake's clock, for a person. */
export function handleClockControl(
  clock: FakeClock,
  method: string,
  pathname: string,
  query: Record<string, string>,
): WriteResult | null {
  if (pathname === '/_fake/clock' && method === 'GET') {
    return { status: 200, body: { now: clock.now().toISOString() } };
  }
  if (pathname !== '/_fake/clock/advance') return null;
  if (method !== 'POST') {
    return { status: 405, body: { error: 'Use POST /_fake/clock/advance?seconds=N' } };
  }
  const seconds = Number(query.seconds);
  if (!Number.isFinite(seconds) || seconds < 0) {
    return { status: 400, body: { error: 'seconds must be a number ≥ 0, e.g. ?seconds=3600' } };
  }
  return { status: 200, body: { now: clock.advance(seconds).toISOString() } };
}
