import fs from 'node:fs';
import path from 'node:path';

import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import yaml from 'js-yaml';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
/**
 * ../shared beside the repository: present on the team's machines and in CI, not in a fresh
 * clone. PIPEDRIVE_SHARED_DIR points elsewhere (or at nothing, to see what is skipped).
 */
export const SHARED_DIR =
  process.env.PIPEDRIVE_SHARED_DIR ?? path.resolve(REPO_ROOT, '..', 'shared');
export const hasShared = fs.existsSync(path.join(SHARED_DIR, 'airbyte-protocol'));

const PAYLOAD_KEY: Record<string, string> = {
  RECORD: 'record',
  STATE: 'state',
  LOG: 'log',
  SPEC: 'spec',
  CONNECTION_STATUS: 'connectionStatus',
  CATALOG: 'catalog',
  TRACE: 'trace',
  CONTROL: 'control',
};

let cached: ValidateFunction | undefined;

/** The official AirbyteMessage schema, or undefined when ../shared is absent. */
export function airbyteMessageValidator(): ValidateFunction | undefined {
  if (!hasShared) return undefined;
  if (cached) return cached;
  const doc = yaml.load(
    fs.readFileSync(path.join(SHARED_DIR, 'airbyte-protocol', 'airbyte_protocol.yaml'), 'utf8'),
  ) as Record<string, any>;
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  const schema: Record<string, any> = {
    definitions: doc.definitions,
    $ref: '#/definitions/AirbyteMessage',
  };
  cached = ajv.compile(schema);
  return cached;
}

/** Problems with one stdout message: protocol schema, payload present, our own strictness rules. */
export function protocolProblems(message: any): string[] {
  const problems: string[] = [];
  if (!message || typeof message !== 'object') return ['not a JSON object'];
  const key = PAYLOAD_KEY[message.type];
  if (!key) problems.push(`unknown type ${message.type}`);
  else if (!message[key]) problems.push(`type ${message.type} without its '${key}' payload`);
  const validate = airbyteMessageValidator();
  if (validate && !validate(message)) {
    problems.push(...(validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`));
  }
  if (message.type === 'STATE') {
    if (message.state?.type !== 'STREAM') problems.push('STATE is not of type STREAM');
    if (typeof message.state?.sourceStats?.recordCount !== 'number') {
      problems.push('STATE without sourceStats.recordCount');
    }
    if (typeof message.state?.stream?.stream_state !== 'object') {
      problems.push('STATE without a plain stream_state object');
    }
  }
  if (JSON.stringify(message).includes('__faros')) problems.push('contains a __faros name');
  return problems;
}
