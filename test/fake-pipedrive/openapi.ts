import fs from 'node:fs';
import path from 'node:path';

import yaml from 'js-yaml';

import { JsonObject } from './types';

/**
 * Reads Pipedrive's official OpenAPI files (in ../shared beside the repository) and turns their
 * OpenAPI 3.0 response schemas into JSON Schema that Ajv can check the fake's answers against.
 * Used by test/fake-contract.test.ts; nothing in the fake depends on it at runtime.
 */

/** ../shared/pipedrive-openapi beside the repository (overridable for other checkouts). */
export const OPENAPI_DIR =
  process.env.PIPEDRIVE_OPENAPI_DIR ??
  path.resolve(__dirname, '..', '..', '..', 'shared', 'pipedrive-openapi');

export type OpenApiDocument = JsonObject & { paths: Record<string, Record<string, JsonObject>> };

export function openApiAvailable(directory = OPENAPI_DIR): boolean {
  return ['openapi-v1.yaml', 'openapi-v2.yaml'].every((file) =>
    fs.existsSync(path.join(directory, file)),
  );
}

export function loadOpenApi(version: 'v1' | 'v2', directory = OPENAPI_DIR): OpenApiDocument {
  const text = fs.readFileSync(path.join(directory, `openapi-${version}.yaml`), 'utf8');
  return yaml.load(text) as OpenApiDocument;
}

export function getOperation(document: OpenApiDocument, specPath: string): JsonObject | undefined {
  return document.paths[specPath]?.get as JsonObject | undefined;
}

export function responseSchema(
  document: OpenApiDocument,
  specPath: string,
  status: number,
): JsonObject | undefined {
  const operation = getOperation(document, specPath);
  const responses = operation?.responses as Record<string, JsonObject> | undefined;
  const response = resolve(document, responses?.[String(status)]);
  const content = response?.content as Record<string, JsonObject> | undefined;
  return resolve(document, content?.['application/json']?.schema as JsonObject | undefined);
}

function resolve(
  document: OpenApiDocument,
  schema: JsonObject | undefined,
): JsonObject | undefined {
  let current = schema;
  while (current && typeof current.$ref === 'string') {
    const pointer = current.$ref.replace(/^#\//, '').split('/');
    current = pointer.reduce<any>(
      (node, part) => node?.[part.replace(/~1/g, '/').replace(/~0/g, '~')],
      document,
    ) as JsonObject | undefined;
  }
  return current;
}

const DROPPED_KEYWORDS = new Set(['example', 'examples', 'description', 'title', 'default', 'xml']);
const KNOWN_FORMATS = new Set(['date', 'date-time', 'uuid', 'email']);

/**
 * OpenAPI 3.0 → JSON Schema: resolves `$ref`s, merges `allOf` into one schema (later members
 * win, so the broad `field_type` enum replaces the narrower one it is combined with), turns
 * `nullable: true` into a `null` type and drops what Ajv does not need.
 */
export function toJsonSchema(document: OpenApiDocument, schema: JsonObject): JsonObject {
  const resolved = resolve(document, schema) ?? {};
  const merged = Array.isArray(resolved.allOf)
    ? mergeAll(document, [omit(resolved, 'allOf'), ...(resolved.allOf as JsonObject[])])
    : resolved;
  const result: JsonObject = {};
  for (const [key, value] of Object.entries(merged)) {
    if (DROPPED_KEYWORDS.has(key) || key.startsWith('x-') || key === 'nullable') continue;
    if (key === 'format' && !KNOWN_FORMATS.has(String(value))) continue;
    if (key === 'properties') {
      result.properties = Object.fromEntries(
        Object.entries(value as Record<string, JsonObject>).map(([name, property]) => [
          name,
          toJsonSchema(document, property),
        ]),
      );
    } else if (key === 'items' || (key === 'additionalProperties' && typeof value === 'object')) {
      result[key] = toJsonSchema(document, value as JsonObject);
    } else if (key === 'oneOf' || key === 'anyOf') {
      result[key] = (value as JsonObject[]).map((member) => toJsonSchema(document, member));
    } else {
      result[key] = value;
    }
  }
  if (merged.nullable === true) makeNullable(result);
  return result;
}

function mergeAll(document: OpenApiDocument, members: JsonObject[]): JsonObject {
  const merged: JsonObject = {};
  for (const raw of members) {
    const member = resolve(document, raw) ?? {};
    const flat = Array.isArray(member.allOf)
      ? mergeAll(document, [omit(member, 'allOf'), ...(member.allOf as JsonObject[])])
      : member;
    for (const [key, value] of Object.entries(flat)) {
      if (key === 'properties') {
        const properties = (merged.properties ?? {}) as Record<string, JsonObject>;
        for (const [name, property] of Object.entries(value as Record<string, JsonObject>)) {
          properties[name] = properties[name]
            ? mergeAll(document, [properties[name], property])
            : property;
        }
        merged.properties = properties;
      } else if (key === 'required') {
        merged.required = [
          ...new Set([...((merged.required as string[]) ?? []), ...(value as string[])]),
        ];
      } else {
        merged[key] = value;
      }
    }
  }
  return merged;
}

export function makeNullable(schema: JsonObject): void {
  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? schema.type : [schema.type];
    if (!types.includes('null')) schema.type = [...types, 'null'];
  }
  if (Array.isArray(schema.enum) && !schema.enum.includes(null))
    schema.enum = [...schema.enum, null];
}

function omit(object: JsonObject, key: string): JsonObject {
  const { [key]: _omitted, ...rest } = object;
  return rest;
}
