/**
 * The rules of Airbyte's connector acceptance tests (CAT, airbyte-integrations/bases/
 * connector-acceptance-test: tests/test_core.py, test_full_refresh.py, test_incremental.py,
 * utils/asserts.py, utils/common.py), ported rule for rule as pure functions that return the
 * problems they find. test/acceptance.test.ts runs them against bin/main and the fake Pipedrive.
 */
import Ajv, { type ValidateFunction } from 'ajv';

export type Json = any;
export type Path = Array<string | number>;

// ---------------------------------------------------------------------------------------------
// Schema walking
// ---------------------------------------------------------------------------------------------

/** Every [path, key, value, parent] of a JSON tree, depth first. */
export function* walk(node: Json, path: Path = []): Generator<[Path, string, Json, Json]> {
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) yield* walk(node[i], [...path, i]);
  } else if (node && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      yield [path, key, value, node];
      yield* walk(value, [...path, key]);
    }
  }
}

const show = (path: Path): string => `/${path.join('/')}`;

/** Values of every (nested) occurrence of a key (CAT's find_all_values_for_key_in_schema). */
export function valuesOfKey(schema: Json, key: string): Json[] {
  const values: Json[] = [];
  for (const [, k, value] of walk(schema)) if (k === key) values.push(value);
  return values;
}

/** CAT's find_keyword_schema: a keyword anywhere, except as a property name of an object. */
export function hasKeyword(schema: Json, keyword: string): boolean {
  const find = (node: Json, skip: boolean): boolean => {
    if (Array.isArray(node)) return node.some((item) => find(item, false));
    if (!node || typeof node !== 'object') return false;
    for (const [key, value] of Object.entries(node)) {
      if (key === keyword && !skip) return true;
      if (find(value, key === 'properties' && node.type === 'object')) return true;
    }
    return false;
  };
  return find(schema, false);
}

function typesOf(definition: Json): string[] {
  const type = definition?.type;
  if (typeof type === 'string') return [type];
  return Array.isArray(type) ? type : [];
}

/** A schema node reached through `properties` (CAT's dpath "/properties/".join(path)). */
export function propertyAt(schema: Json, path: string[]): Json | undefined {
  let node = schema;
  for (const segment of path) {
    node = node?.properties?.[segment];
    if (node === undefined) return undefined;
  }
  return node;
}

// ---------------------------------------------------------------------------------------------
// TestSpec
// ---------------------------------------------------------------------------------------------

export const CAT_SECRET_NAMES = [
  'client_token',
  'access_token',
  'api_token',
  'token',
  'secret',
  'client_secret',
  'password',
  'key',
  'service_account_info',
  'service_account',
  'tenant_id',
  'certificate',
  'jwt',
  'credentials',
  'app_id',
  'appid',
  'refresh_token',
];

const RESERVED = new Set([
  'anyOf',
  'oneOf',
  'allOf',
  'not',
  'properties',
  'items',
  'type',
  'prefixItems',
]);

const FORBIDDEN_SPEC_KEYS = [
  'not',
  'anyOf',
  'patternProperties',
  'prefixItems',
  'allOf',
  'if',
  'then',
  'else',
  'dependentSchemas',
  'dependentRequired',
];

/** Problems of a SPEC payload, one per CAT TestSpec rule (test_match_expected aside). */
export function specProblems(spec: Json): string[] {
  const problems: string[] = [];
  const connectionSpecification = spec?.connectionSpecification;
  if (!connectionSpecification || typeof connectionSpecification !== 'object') {
    return ['spec has no connectionSpecification object'];
  }
  const root = connectionSpecification;
  const entries = [...walk(root)];

  // test_enum_usage
  for (const [path, key, value] of entries) {
    if (key === 'enum' && Array.isArray(value) && new Set(value).size !== value.length) {
      problems.push(`test_enum_usage: duplicate values in ${show([...path, key])}`);
    }
  }

  // test_oneof_usage
  for (const [path, key, variants, parent] of entries) {
    if ((key !== 'oneOf' && key !== 'anyOf') || !Array.isArray(variants)) continue;
    const where = show([...path, key]);
    if (parent.type !== 'object') {
      problems.push(`test_oneof_usage: the object holding ${where} must have type: object`);
    }
    if (!variants.every((variant: Json) => variant && 'properties' in variant)) {
      problems.push(`test_oneof_usage: every variant of ${where} needs properties`);
      continue;
    }
    const propertySets = variants.map((v: Json) => new Set(Object.keys(v.properties)));
    const common = [...(propertySets[0] ?? [])].filter((name) =>
      propertySets.every((set: Set<string>) => set.has(name)),
    );
    if (common.length === 0) problems.push(`test_oneof_usage: no common property in ${where}`);
    const constant = common.filter((name) =>
      variants.every((v: Json) => 'const' in v.properties[name]),
    );
    if (constant.length !== 1) {
      problems.push(`test_oneof_usage: ${where} needs exactly one common const property`);
      continue;
    }
    variants.forEach((variant: Json, index: number) => {
      const property = variant.properties[constant[0]];
      if ('default' in property && property.default !== property.const) {
        problems.push(`test_oneof_usage: ${where}[${index}] default differs from const`);
      }
      if (
        'enum' in property &&
        !(property.enum.length === 1 && property.enum[0] === property.const)
      ) {
        problems.push(`test_oneof_usage: ${where}[${index}] enum must be [const]`);
      }
    });
  }

  // test_secret_is_properly_marked (searches connectionSpecification.properties)
  for (const [path, key, , parent] of walk(root.properties ?? {})) {
    if (key !== 'type') continue;
    const name = [...path]
      .reverse()
      .find((part) => typeof part === 'string' && !/^\d+$/.test(part) && !RESERVED.has(part));
    if (typeof name !== 'string' || !CAT_SECRET_NAMES.includes(name.toLowerCase())) continue;
    const type = parent.type;
    const insecure = ['string', 'integer', 'number'];
    const canStore =
      ((typeof type === 'string' && insecure.includes(type)) ||
        (Array.isArray(type) && type.some((t: string) => insecure.includes(t)))) &&
      !parent.const;
    const marked = parent.airbyte_secret === true;
    if (canStore && !marked) {
      problems.push(`test_secret_is_properly_marked: ${show(path)} needs airbyte_secret: true`);
    }
    if (marked && !canStore) {
      problems.push(`test_secret_is_properly_marked: ${show(path)} cannot hold a secret`);
    }
  }

  for (const [path, key, value, parent] of entries) {
    // test_property_type_is_not_array ("**/properties/*/type")
    if (key === 'type' && path[path.length - 2] === 'properties' && Array.isArray(value)) {
      if (value.length !== 1 && value.length !== 2) {
        problems.push(`test_property_type_is_not_array: ${show(path)} has types ${value}`);
      } else if (value.length === 2 && value[1] !== 'null') {
        problems.push(`test_property_type_is_not_array: ${show(path)} must be [T, "null"]`);
      }
    }
    // test_object_not_empty
    if (key === 'type' && value === 'object' && path.length > 0) {
      const properties = parent.properties;
      if (!('oneOf' in parent) && (!properties || Object.keys(properties).length === 0)) {
        problems.push(`test_object_not_empty: ${show(path)} is an empty object`);
      }
    }
    // test_array_type
    if (key === 'type' && value === 'array' && parent.items !== undefined) {
      const items = parent.items;
      if (Array.isArray(items)) {
        problems.push(`test_array_type: ${show(path)} has a list of item types`);
      } else if (!['object', 'string', 'number', 'integer'].includes(items?.type) && !items?.enum) {
        problems.push(`test_array_type: items of ${show(path)} must be object, string or enum`);
      }
    }
    // test_forbidden_complex_types (keys used as property names are fine)
    if (FORBIDDEN_SPEC_KEYS.includes(key) && path[path.length - 1] !== 'properties') {
      problems.push(`test_forbidden_complex_types: ${show([...path, key])}`);
    }
    // test_duplicate_order
    if (key === 'properties' && parent.type === 'object' && value && typeof value === 'object') {
      const used = new Map<string, Set<unknown>>();
      for (const property of Object.values<Json>(value)) {
        if (!property || typeof property !== 'object' || !('order' in property)) continue;
        const group = String(property.group ?? '');
        const orders = used.get(group) ?? new Set();
        if (orders.has(property.order)) {
          problems.push(
            `test_duplicate_order: ${show([...path, key])} repeats order ${property.order}`,
          );
        }
        orders.add(property.order);
        used.set(group, orders);
      }
    }
    // test_nested_group
    if (key === 'group' && path[0] === 'properties' && path[path.length - 1] !== 'properties') {
      if (path.length !== 2) problems.push(`test_nested_group: group at ${show([...path, key])}`);
    }
    // test_display_type
    if (
      key === 'display_type' &&
      path[0] === 'properties' &&
      path[path.length - 1] !== 'properties'
    ) {
      if (!('oneOf' in parent)) {
        problems.push(`test_display_type: ${show(path)} has display_type without oneOf`);
      }
      if (value !== 'dropdown' && value !== 'radio') {
        problems.push(`test_display_type: ${show(path)} display_type must be dropdown or radio`);
      }
    }
  }

  problems.push(...groupProblems(root));
  problems.push(...advancedAuthProblems(spec));

  // test_defined_refs_exist_in_json_spec_file (the whole spec dict)
  if (valuesOfKey(spec, '$ref').length > 0) {
    problems.push('test_defined_refs_exist_in_json_spec_file: the spec has $ref');
  }
  // test_additional_properties_is_true
  if (valuesOfKey(root, 'additionalProperties').some((value) => value !== true)) {
    problems.push('test_additional_properties_is_true: additionalProperties must be true when set');
  }
  return problems;
}

/**
 * Airbyte's connector specification reference on `group`/`groups`: `groups` lists the cards
 * (`{id, title?}`, in order); a `group` names one of them, on top-level properties only (see
 * test_nested_group); `order` is unique within a group (test_duplicate_order).
 */
export function groupProblems(root: Json): string[] {
  const problems: string[] = [];
  const declared = root.groups;
  const ids = new Set<string>();
  if (declared !== undefined) {
    if (!Array.isArray(declared)) return ['groups: must be a list of {id, title}'];
    for (const group of declared) {
      if (!group || typeof group.id !== 'string' || group.id === '') {
        problems.push(`groups: entry ${JSON.stringify(group)} has no string id`);
      } else if (ids.has(group.id)) {
        problems.push(`groups: id ${group.id} is declared twice`);
      } else {
        ids.add(group.id);
      }
      if (group && 'title' in group && typeof group.title !== 'string') {
        problems.push(`groups: title of ${group.id} must be a string`);
      }
    }
  }
  for (const [name, property] of Object.entries<Json>(root.properties ?? {})) {
    if (property && typeof property === 'object' && 'group' in property) {
      if (!ids.has(property.group)) {
        problems.push(`group: /properties/${name} names group ${property.group}, not in groups`);
      }
    }
  }
  return problems;
}

/** CAT's get_expected_schema_structure: every property path, through oneOf variants. */
export function expectedSchemaPaths(schema: Json): string[] {
  const paths: string[] = [];
  const scan = (node: Json, path: string): void => {
    const variants = node?.oneOf ?? node?.anyOf;
    if (Array.isArray(variants)) {
      for (const variant of variants) scan({ type: 'object', ...variant }, path);
      return;
    }
    const type = node?.type ?? ['object', 'null'];
    const types = Array.isArray(type) ? type : [type];
    if (types.includes('object')) {
      const properties = node?.properties;
      if (!properties || Object.keys(properties).length === 0) {
        if (path) paths.push(path);
        return;
      }
      for (const [key, value] of Object.entries(properties)) scan(value, `${path}/${key}`);
    } else if (types.includes('array')) {
      scan(node?.items ?? {}, `${path}/[]`);
    } else {
      paths.push(path);
    }
  };
  scan(schema, '');
  return paths;
}

/**
 * CAT's test_oauth_flow_parameters (every path advanced_auth names exists in the spec) and
 * test_oauth_is_default_method (with a predicate_key into a oneOf, OAuth is its first option).
 */
export function advancedAuthProblems(spec: Json): string[] {
  const auth = spec?.advanced_auth;
  if (!auth) return [];
  const problems: string[] = [];
  const root = spec.connectionSpecification;
  const wanted = new Set<string>();
  if (auth.predicate_key) wanted.add(`/${auth.predicate_key.join('/')}`);
  const config = auth.oauth_config_specification ?? {};
  for (const key of [
    'oauth_user_input_from_connector_config_specification',
    'complete_oauth_output_specification',
    'complete_oauth_server_output_specification',
  ]) {
    for (const [name, value] of Object.entries<Json>(config[key]?.properties ?? {})) {
      if (!Array.isArray(value?.path_in_connector_config)) {
        problems.push(`test_oauth_flow_parameters: ${key}.${name} has no path_in_connector_config`);
      } else {
        wanted.add(`/${value.path_in_connector_config.join('/')}`);
      }
    }
  }
  const available = new Set(expectedSchemaPaths(root));
  for (const path of wanted) {
    if (!available.has(path)) {
      problems.push(`test_oauth_flow_parameters: ${path} is not in connectionSpecification`);
    }
  }
  const input = config.oauth_connector_input_specification;
  if (
    input &&
    (typeof input.consent_url !== 'string' || typeof input.access_token_url !== 'string')
  ) {
    problems.push('oauth_connector_input_specification needs consent_url and access_token_url');
  }
  if (auth.predicate_key?.length >= 2) {
    const [objectName, ...rest] = auth.predicate_key;
    const first = root?.properties?.[objectName]?.oneOf?.[0];
    if (first) {
      const constant = propertyAt(first, rest)?.const;
      if (constant !== auth.predicate_value) {
        problems.push(
          `test_oauth_is_default_method: the first option of ${objectName} is ${JSON.stringify(constant)}, not the OAuth option ${JSON.stringify(auth.predicate_value)}`,
        );
      }
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// TestDiscovery
// ---------------------------------------------------------------------------------------------

const VALID_TYPES = new Set(['null', 'string', 'number', 'integer', 'boolean', 'object', 'array']);

/** Problems of discovered AirbyteStreams, one per CAT TestDiscovery rule. */
export function catalogProblems(streams: Json[]): string[] {
  const problems: string[] = [];
  if (!Array.isArray(streams) || streams.length === 0) return ['test_discover: no streams'];
  const counts = new Map<string, number>();
  for (const stream of streams) counts.set(stream.name, (counts.get(stream.name) ?? 0) + 1);
  const duplicates = [...counts].filter(([, n]) => n > 1).map(([name]) => name);
  if (duplicates.length) problems.push(`test_discover: duplicate stream names ${duplicates}`);

  const ajv = new Ajv({ strict: false, allErrors: true, logger: false });
  for (const stream of streams) {
    const name = stream.name;
    const schema = stream.json_schema;
    // test_streams_have_valid_json_schemas (Draft7Validator.check_schema)
    if (!ajv.validateSchema(schema)) {
      problems.push(`${name}: invalid draft-07 schema: ${ajv.errorsText(ajv.errors)}`);
      continue;
    }
    try {
      ajv.compile(schema);
    } catch (error: any) {
      problems.push(`${name}: schema does not compile: ${error.message}`);
    }
    if (!schema?.properties) {
      problems.push(`${name}: the top level of the schema must be an object with properties`);
      continue;
    }
    // test_defined_cursors_exist_in_schema
    if (stream.default_cursor_field?.length && !propertyAt(schema, stream.default_cursor_field)) {
      problems.push(`${name}: default cursor ${stream.default_cursor_field} is not in the schema`);
    }
    // test_defined_refs_exist_in_schema
    if (valuesOfKey(schema, '$ref').length) problems.push(`${name}: schema has $ref`);
    // test_defined_keyword_exist_in_schema[allOf|not]
    for (const keyword of ['allOf', 'not']) {
      if (hasKeyword(schema, keyword)) problems.push(`${name}: schema uses ${keyword}`);
    }
    // test_primary_keys_exist_in_schema + test_primary_keys_data_type
    for (const pk of stream.source_defined_primary_key ?? []) {
      const definition = propertyAt(schema, pk);
      if (!definition) {
        problems.push(`${name}: primary key ${pk} is not in the schema`);
      } else if (typesOf(definition).some((t) => t === 'object' || t === 'array')) {
        problems.push(`${name}: primary key ${pk} has forbidden type ${definition.type}`);
      }
    }
    // test_streams_has_sync_modes
    if (!Array.isArray(stream.supported_sync_modes) || stream.supported_sync_modes.length === 0) {
      problems.push(`${name}: supported_sync_modes is empty`);
    }
    // test_additional_properties_is_true
    if (valuesOfKey(schema, 'additionalProperties').some((value) => value !== true)) {
      problems.push(`${name}: additionalProperties must be true when set`);
    }
    // test_catalog_has_supported_data_types (the type part; CAT currently skips this test)
    for (const [path, key, value] of walk(schema)) {
      if (key !== 'type' || path[path.length - 1] === 'properties') continue;
      const types = typeof value === 'string' ? [value] : Array.isArray(value) ? value : null;
      if (types && types.some((t) => !VALID_TYPES.has(t))) {
        problems.push(`${name}: unsupported type ${JSON.stringify(value)} at ${show(path)}`);
      }
    }
  }
  return problems;
}

/** Airbyte's convention: every top-level property is nullable, except primary keys and cursors. */
export function nullabilityProblems(stream: Json): string[] {
  const exempt = new Set<string>([
    ...(stream.source_defined_primary_key ?? []).map((pk: string[]) => pk[0]),
    ...(stream.default_cursor_field ?? []).slice(0, 1),
  ]);
  const problems: string[] = [];
  for (const [name, definition] of Object.entries<Json>(stream.json_schema?.properties ?? {})) {
    if (exempt.has(name)) continue;
    if (!typesOf(definition).includes('null')) {
      problems.push(
        `${stream.name}.${name} is not nullable (type ${JSON.stringify(definition?.type)})`,
      );
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// TestBasicRead: record validation (utils/asserts.py)
// ---------------------------------------------------------------------------------------------

/** CAT's timestamp_regex. */
export const CAT_DATETIME = /^\d{4}-\d?\d-\d?\d(\s|T)\d?\d:\d?\d:\d?\d(.\d+)?.*$/;
const DATETIME_PARTS =
  /^(\d{4})-(\d?\d)-(\d?\d)(?:\s|T)(\d?\d):(\d?\d):(\d?\d)(?:[.,]\d+)?\s?(?:Z|z|UTC|[+-]\d{2}(?::?\d{2})?)?$/;

function realDate(year: number, month: number, day: number): boolean {
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

/** CAT's CustomFormatChecker.check_datetime: the regex and a successful (lenient) parse. */
export function isCatDateTime(value: string): boolean {
  if (!CAT_DATETIME.test(value)) return false;
  const match = DATETIME_PARTS.exec(value);
  if (!match) return false;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number);
  return realDate(year, month, day) && hour <= 23 && minute <= 59 && second <= 59;
}

/** jsonschema's default "date" checker (date.fromisoformat). */
export function isIsoDate(value: string): boolean {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  return Boolean(match) && realDate(+match![1], +match![2], +match![3]);
}

/**
 * A validator per stream like CAT's verify_records_schema: Draft 7, strict integers, CAT's
 * date-time check and, with failOnExtraColumns (CAT's default), no undeclared top-level field.
 */
export function recordValidator(schema: Json, failOnExtraColumns = true): (data: Json) => string[] {
  const ajv = new Ajv({
    strict: false,
    allErrors: true,
    logger: false,
    formats: {
      'date-time': isCatDateTime,
      date: isIsoDate,
      email: (value: string) => value.includes('@'),
      uuid: /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/,
    },
  });
  for (const [, key, value] of walk(schema)) {
    if (key === 'format' && typeof value === 'string' && !ajv.formats[value]) {
      ajv.addFormat(value, true); // CAT's jsonschema checks no other format
    }
  }
  const effective = failOnExtraColumns ? { ...schema, additionalProperties: false } : schema;
  const validate: ValidateFunction = ajv.compile(effective);
  return (data: Json) => {
    const problems: string[] = [];
    if (!validate(data)) {
      for (const error of validate.errors ?? []) {
        const extra =
          error.keyword === 'additionalProperties'
            ? ` (${(error.params as any).additionalProperty})`
            : '';
        problems.push(`${error.instancePath || '/'} ${error.message}${extra}`);
      }
    }
    problems.push(...integerProblems(schema, data, ''));
    return problems;
  };
}

/**
 * Python reads 1e+21 (JSON.stringify's form of big numbers) as a float: CAT's strict integer
 * rejects it, while JSON Schema in JavaScript cannot tell.
 */
function integerProblems(schema: Json, value: Json, path: string): string[] {
  if (value === null || value === undefined || !schema || typeof schema !== 'object') return [];
  const types = typesOf(schema);
  if (typeof value === 'number' && types.includes('integer') && !types.includes('number')) {
    return /[eE.]/.test(JSON.stringify(value)) ? [`${path || '/'} ${value} is not an integer`] : [];
  }
  if (Array.isArray(value) && schema.items && !Array.isArray(schema.items)) {
    return value.flatMap((item, i) => integerProblems(schema.items, item, `${path}/${i}`));
  }
  if (typeof value === 'object' && !Array.isArray(value) && schema.properties) {
    return Object.entries(value).flatMap(([key, item]) =>
      integerProblems(schema.properties[key], item, `${path}/${key}`),
    );
  }
  return [];
}

/** CAT's _extract_primary_key_value. */
export function primaryKeyValues(data: Json, primaryKey: string[][]): unknown[] {
  return primaryKey.map((path) =>
    path.reduce<Json>(
      (node, key) => (node && typeof node === 'object' ? node[key] : undefined),
      data,
    ),
  );
}

export function primaryKeyId(data: Json, primaryKey: string[][]): string {
  return JSON.stringify(primaryKeyValues(data, primaryKey));
}

/** CAT's _validate_primary_keys_data_type plus "present": no object/array, not all null. */
export function primaryKeyProblems(data: Json, primaryKey: string[][]): string[] {
  const values = primaryKeyValues(data, primaryKey);
  const problems: string[] = [];
  if (values.some((v) => v !== null && typeof v === 'object')) {
    problems.push(`primary key ${JSON.stringify(primaryKey)} has an object or array value`);
  }
  if (values.every((v) => v === null || v === undefined)) {
    problems.push(`primary key ${JSON.stringify(primaryKey)} is missing`);
  }
  return problems;
}

/** CAT's _validate_stream_statuses: STARTED, RUNNING (one or more), COMPLETE, for every stream. */
export function streamStatusProblems(messages: Json[], streams: string[]): string[] {
  const byStream = new Map<string, string[]>();
  for (const message of messages) {
    if (message.type !== 'TRACE' || message.trace?.type !== 'STREAM_STATUS') continue;
    const status = message.trace.stream_status;
    const name = status.stream_descriptor.name;
    byStream.set(name, [...(byStream.get(name) ?? []), status.status]);
  }
  const problems: string[] = [];
  const missing = streams.filter((name) => !byStream.has(name));
  const extra = [...byStream.keys()].filter((name) => !streams.includes(name));
  if (missing.length || extra.length) {
    problems.push(`All stream must emit status: missing ${missing}, unexpected ${extra}`);
  }
  for (const [name, list] of byStream) {
    const ok =
      list.length >= 3 &&
      list[0] === 'STARTED' &&
      list[list.length - 1] === 'COMPLETE' &&
      list.slice(1, -1).every((status) => status === 'RUNNING');
    if (!ok)
      problems.push(`${name}: statuses ${list.join(', ')} (want STARTED, RUNNING…, COMPLETE)`);
  }
  return problems;
}

/** CAT's _validate_state_messages, plus one STREAM state per configured stream. */
export function stateMessageProblems(messages: Json[], streams: string[]): string[] {
  const states = messages.filter((m) => m.type === 'STATE');
  const problems: string[] = [];
  if (states.length < streams.length) {
    problems.push(`${states.length} STATE messages for ${streams.length} streams`);
  }
  const seen = new Set<string>();
  for (const message of states) {
    const state = message.state;
    if (state?.type !== 'STREAM') problems.push(`state of type ${state?.type} (want STREAM)`);
    if (!state?.sourceStats || typeof state.sourceStats.recordCount !== 'number') {
      problems.push(`state without sourceStats: ${JSON.stringify(message).slice(0, 200)}`);
    }
    const name = state?.stream?.stream_descriptor?.name;
    if (name) seen.add(name);
  }
  const without = streams.filter((name) => !seen.has(name));
  if (without.length) problems.push(`streams without a STATE: ${without}`);
  return problems;
}

// ---------------------------------------------------------------------------------------------
// TestFullRefresh / TestIncremental helpers
// ---------------------------------------------------------------------------------------------

/** A record's data in canonical form (sorted keys), for multiset comparisons. */
export function canonical(value: Json): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonical(value[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/** True when DeepDiff(ignore_order=True) would find no difference between the two lists. */
export function sameRecords(first: Json[], second: Json[]): boolean {
  if (first.length !== second.length) return false;
  const a = first.map(canonical).sort();
  const b = second.map(canonical).sort();
  return a.every((value, i) => value === b[i]);
}

/** CAT's full_refresh_only_catalog / incremental_only_catalog on a configured catalog. */
export function onlyMode(configured: Json, mode: 'full_refresh' | 'incremental'): Json {
  return {
    streams: configured.streams
      .filter((entry: Json) => entry.stream.supported_sync_modes.includes(mode))
      .map((entry: Json) => ({
        ...entry,
        sync_mode: mode,
        cursor_field:
          mode === 'incremental'
            ? entry.cursor_field?.length
              ? entry.cursor_field
              : entry.stream.default_cursor_field
            : entry.cursor_field,
      })),
  };
}

/** CAT's build_configured_catalog_from_custom_catalog: entries take the discovered stream. */
export function hydrate(configured: Json, discovered: Map<string, Json>): Json {
  return {
    streams: configured.streams.map((entry: Json) => {
      const stream = discovered.get(entry.stream.name);
      if (!stream) throw new Error(`${entry.stream.name} is not part of the discovered catalog`);
      return { ...entry, stream };
    }),
  };
}

/** CAT's construct_latest_state_from_messages, as the --state input of the next read. */
export function latestStateInput(messages: Json[]): Json[] {
  const latest = new Map<string, Json>();
  for (const message of messages) {
    if (message.type === 'STATE' && message.state?.type === 'STREAM') {
      latest.set(
        message.state.stream.stream_descriptor.name,
        message.state.stream.stream_state ?? {},
      );
    }
  }
  return [...latest].map(([name, streamState]) => ({
    type: 'STREAM',
    stream: { stream_descriptor: { name }, stream_state: streamState },
  }));
}

export interface Checkpoint {
  /** Index of the STATE message among all messages of the first read. */
  index: number;
  message: Json;
  /** How many records CAT expects a read from this state to return at least. */
  expectedRecords: number;
}

/**
 * CAT's _state_messages_selector (test_read_sequential_slices): collapse consecutive STATE
 * messages with the same stream_state (summing their recordCount), drop zero-count states,
 * expect total − running sum records after each, and sample: the last one when fewer than 3,
 * otherwise every (n // 5)-th except the first and the last.
 */
export function selectCheckpoints(messages: Json[]): Checkpoint[] {
  const states = messages
    .map((message, index) => ({ message, index }))
    .filter(({ message }) => message.type === 'STATE');
  const stateOf = (i: number): string => canonical(states[i].message.state.stream.stream_state);
  const countOf = (s: { message: Json }): number => s.message.state.sourceStats?.recordCount ?? 0;

  let unique: Array<{ message: Json; index: number; count: number }>;
  if (states.length <= 1) {
    unique = states.filter((s) => countOf(s)).map((s) => ({ ...s, count: 0 }));
  } else {
    unique = [];
    let current = 0;
    while (current < states.length - 1) {
      let next = current + 1;
      while (stateOf(current) === stateOf(next) && next < states.length - 1) next++;
      const count = states.slice(current, next).reduce((sum, s) => sum + countOf(s), 0);
      unique.push({ ...states[current], count });
      if (next === states.length - 1 && stateOf(current) !== stateOf(next)) {
        unique.push({ ...states[next], count: countOf(states[next]) });
      }
      current = next;
    }
    unique = unique.filter((s) => s.count);
  }
  const total = unique.reduce((sum, s) => sum + s.count, 0);
  let running = 0;
  const withExpected: Checkpoint[] = unique.map((s) => {
    running += s.count;
    return { index: s.index, message: s.message, expectedRecords: total - running };
  });
  if (withExpected.length < 3) return withExpected.slice(-1);
  const rate = Math.floor(withExpected.length / 5) || 1;
  return withExpected.filter((_, i) => i !== 0 && i % rate === 0 && i !== withExpected.length - 1);
}
