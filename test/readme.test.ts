import fs from 'node:fs';
import path from 'node:path';

import { mermaid, relationships, withChart } from '../scripts/relationships';
import { REPO_ROOT } from './helpers/protocol';

const readme = fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
const schemaNames = fs
  .readdirSync(path.join(REPO_ROOT, 'resources', 'schemas'))
  .map((file) => file.replace(/\.json$/, ''));

describe('README stays true', () => {
  test('the relationship chart matches the schemas (run `npm run docs`)', () => {
    expect(withChart(readme, mermaid())).toBe(readme);
  });

  test('every declared relationship points at an existing stream and column', () => {
    for (const rel of relationships()) {
      expect(schemaNames).toContain(rel.to);
      const target = JSON.parse(
        fs.readFileSync(path.join(REPO_ROOT, 'resources', 'schemas', `${rel.to}.json`), 'utf8'),
      );
      expect(Object.keys(target.properties)).toContain(rel.toColumn);
    }
  });

  test('every stream is documented', () => {
    for (const name of schemaNames) expect(readme).toContain(`\`${name}\``);
  });

  test('every config field is documented', () => {
    const spec = JSON.parse(
      fs.readFileSync(path.join(REPO_ROOT, 'resources', 'spec.json'), 'utf8'),
    );
    for (const field of Object.keys(spec.connectionSpecification.properties)) {
      expect(readme).toContain(`\`${field}\``);
    }
  });
});
