/**
 * The Docker image, checked without a Docker engine: the Dockerfile's invariants (multi-stage,
 * production dependencies only, non-root, absolute ENTRYPOINT = AIRBYTE_ENTRYPOINT, labels =
 * metadata.yaml), .dockerignore, metadata.yaml, and a smoke test that reproduces the image's
 * build steps in a temporary folder (build context → tsc → npm pack → production-only install)
 * and runs the installed connector against the fake Pipedrive.
 */
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import yaml from 'js-yaml';

import { FakePipedrive } from './fake-pipedrive';
import { protocolProblems, REPO_ROOT } from './helpers/protocol';

const execFileAsync = promisify(execFile);
const readText = (file: string): string => fs.readFileSync(path.join(REPO_ROOT, file), 'utf8');
const readJson = (file: string): any => JSON.parse(readText(file));
const PACKAGE = readJson('package.json');
const METADATA: any = yaml.load(readText('metadata.yaml'));

// ---------------------------------------------------------------------------------------------
// A small Dockerfile reader
// ---------------------------------------------------------------------------------------------

interface Instruction {
  keyword: string;
  args: string;
}

interface Stage {
  name?: string;
  image: string;
  instructions: Instruction[];
}

/** Instructions with line continuations joined; comments and blank lines dropped. */
function instructions(text: string): Instruction[] {
  const result: Instruction[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) continue;
    if (pending !== '' && line.startsWith('#')) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1).trim()} `;
      continue;
    }
    const full = `${pending}${line}`.trim();
    pending = '';
    const [keyword] = full.split(/\s+/);
    result.push({ keyword: keyword.toUpperCase(), args: full.slice(keyword.length).trim() });
  }
  return result;
}

/** Shell-like words: quotes group, backslash escapes. */
function words(text: string): string[] {
  const result: string[] = [];
  let current = '';
  let quote: string | undefined;
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < text.length) current += text[++i];
      else current += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < text.length) {
      current += text[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) result.push(current);
      current = '';
      inWord = false;
    } else {
      current += c;
      inWord = true;
    }
  }
  if (inWord) result.push(current);
  return result;
}

/** `KEY=value KEY2="v 2"` (or the legacy `KEY value`) as a map. */
function keyValues(args: string): Map<string, string> {
  const parts = words(args);
  const map = new Map<string, string>();
  if (parts.length > 0 && !parts[0].includes('=')) {
    map.set(parts[0], args.slice(args.indexOf(parts[0]) + parts[0].length).trim());
    return map;
  }
  for (const part of parts) {
    const eq = part.indexOf('=');
    if (eq > 0) map.set(part.slice(0, eq), part.slice(eq + 1));
  }
  return map;
}

function parseDockerfile(text: string): { args: Map<string, string>; stages: Stage[] } {
  const args = new Map<string, string>();
  const stages: Stage[] = [];
  for (const instruction of instructions(text)) {
    if (instruction.keyword === 'ARG' && stages.length === 0) {
      const [name, value = ''] = instruction.args.split('=');
      args.set(name.trim(), value.trim());
    } else if (instruction.keyword === 'FROM') {
      const parts = instruction.args.split(/\s+/).filter((p) => !p.startsWith('--platform'));
      const image = parts[0].replace(/\$\{?(\w+)\}?/g, (_, name) => args.get(name) ?? '');
      const as = parts.findIndex((p) => p.toUpperCase() === 'AS');
      stages.push({ name: as >= 0 ? parts[as + 1] : undefined, image, instructions: [] });
    } else if (stages.length > 0) {
      stages[stages.length - 1].instructions.push(instruction);
    }
  }
  return { args, stages };
}

interface Copy {
  from?: string;
  sources: string[];
  dest: string;
  workdir: string;
}

function copiesOf(stage: Stage): Copy[] {
  const result: Copy[] = [];
  let workdir = '/';
  for (const { keyword, args } of stage.instructions) {
    if (keyword === 'WORKDIR') workdir = path.posix.resolve(workdir, args);
    if (keyword !== 'COPY' && keyword !== 'ADD') continue;
    const parts = args.startsWith('[') ? JSON.parse(args) : words(args);
    const flags = parts.filter((p: string) => p.startsWith('--'));
    const rest = parts.filter((p: string) => !p.startsWith('--'));
    const from = flags.find((f: string) => f.startsWith('--from='))?.slice('--from='.length);
    result.push({ from, sources: rest.slice(0, -1), dest: rest[rest.length - 1], workdir });
  }
  return result;
}

const last = <T>(items: T[]): T | undefined => items[items.length - 1];

// ---------------------------------------------------------------------------------------------
// .dockerignore, with the Docker (moby patternmatcher) semantics
// ---------------------------------------------------------------------------------------------

interface IgnorePattern {
  source: string;
  negate: boolean;
  regex: RegExp;
  depth: number;
}

function patternRegex(pattern: string): RegExp {
  let regex = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*' && pattern[i + 1] === '*') {
      i++;
      if (pattern[i + 1] === '/') {
        i++;
        regex += '(?:.*/)?';
      } else {
        regex += '.*';
      }
    } else if (c === '*') regex += '[^/]*';
    else if (c === '?') regex += '[^/]';
    else regex += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${regex}$`);
}

function dockerIgnore(text: string): {
  patterns: IgnorePattern[];
  excluded: (file: string) => boolean;
} {
  const patterns = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const negate = line.startsWith('!');
      const source = path.posix
        .normalize((negate ? line.slice(1) : line).trim())
        .replace(/^\/+|\/+$/g, '');
      return { source, negate, regex: patternRegex(source), depth: source.split('/').length };
    });
  const excluded = (file: string): boolean => {
    const parts = file.split('/');
    let result = false;
    for (const pattern of patterns) {
      let match = pattern.regex.test(file);
      // A pattern that matches a parent folder matches everything inside it.
      for (let n = 1; !match && n < parts.length; n++) {
        match = pattern.regex.test(parts.slice(0, n).join('/'));
      }
      if (match) result = !pattern.negate;
    }
    return result;
  };
  return { patterns, excluded };
}

const IGNORE = dockerIgnore(readText('.dockerignore'));

// ---------------------------------------------------------------------------------------------
// CHANGELOG.md (Keep a Changelog)
// ---------------------------------------------------------------------------------------------

/** GitHub's anchor of a heading: link brackets and punctuation dropped, spaces → hyphens. */
function githubAnchor(heading: string): string {
  return heading
    .replace(/\[([^\]]*)\](\([^)]*\))?/g, '$1')
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\p{M}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

const headingAnchors = (markdown: string): string[] =>
  [...markdown.matchAll(/^#{1,6}\s+(.+)$/gm)].map(([, heading]) => githubAnchor(heading));

/** A version's `## [x.y.z] - date` section up to the next version, or undefined. */
function changelogSection(changelog: string, version: string): string | undefined {
  const start = changelog.search(new RegExp(`^## \\[${version.replace(/\./g, '\\.')}\\]`, 'm'));
  if (start < 0) return undefined;
  const next = changelog.slice(start + 3).search(/^## /m);
  return next < 0 ? changelog.slice(start) : changelog.slice(start, start + 3 + next);
}

/** The files `docker build .` would send (node_modules and .git are pruned for speed). */
function buildContext(): string[] {
  const files: string[] = [];
  const visit = (relative: string): void => {
    for (const entry of fs.readdirSync(path.join(REPO_ROOT, relative), { withFileTypes: true })) {
      const file = relative ? `${relative}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        if (file === 'node_modules' || file === '.git') continue;
        const mayReinclude = IGNORE.patterns.some(
          (p) => p.negate && p.source.startsWith(`${file}/`),
        );
        if (IGNORE.excluded(file) && !mayReinclude) continue;
        visit(file);
      } else if (!IGNORE.excluded(file)) {
        files.push(file);
      }
    }
  };
  visit('');
  return files;
}

const DOCKERFILE = parseDockerfile(readText('Dockerfile'));
const FINAL = last(DOCKERFILE.stages)!;
const finalOf = (keyword: string): Instruction[] =>
  FINAL.instructions.filter((instruction) => instruction.keyword === keyword);
const runsOf = (stage: Stage): string[] =>
  stage.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args);
const envOf = (stage: Stage): Map<string, string> => {
  const env = new Map<string, string>();
  for (const { keyword, args } of stage.instructions) {
    if (keyword === 'ENV') for (const [k, v] of keyValues(args)) env.set(k, v);
  }
  return env;
};
const labelsOf = (stage: Stage): Map<string, string> => {
  const labels = new Map<string, string>();
  for (const { keyword, args } of stage.instructions) {
    if (keyword === 'LABEL') for (const [k, v] of keyValues(args)) labels.set(k, v);
  }
  return labels;
};
const PROD_INSTALL =
  /npm (ci|install|i)\b[^&;]*--omit[= ]dev|npm prune\b[^&;]*(--omit[= ]dev|--production)/;

/** The production install of the image (`npm ci --omit=dev …`) as argv, for the smoke test. */
function productionInstall(): string[] {
  const commands = DOCKERFILE.stages
    .flatMap(runsOf)
    .flatMap((run) => run.split(/&&|;/))
    .map((command) => command.trim())
    .filter((command) => PROD_INSTALL.test(command));
  expect(commands).toHaveLength(1);
  return words(commands[0]);
}

/** Lockfile packages that only development needs: `dev`, or `devOptional` (dev + optional peer). */
function devOnlyPackages(): string[] {
  const lock = readJson('package-lock.json');
  return Object.entries<any>(lock.packages)
    .filter(([key, entry]) => key.startsWith('node_modules/') && (entry.dev || entry.devOptional))
    .map(([key]) => key);
}

describe('Dockerfile', () => {
  test('is a multi-stage build on a pinned minor of Node 22, alpine or slim', () => {
    expect(DOCKERFILE.stages.length).toBeGreaterThanOrEqual(2);
    const stageNames = new Set(DOCKERFILE.stages.map((s) => s.name).filter(Boolean));
    for (const stage of DOCKERFILE.stages) {
      if (stageNames.has(stage.image)) continue;
      // node:22-alpine would move to the next Node minor and Alpine release at any rebuild.
      expect(stage.image).toMatch(
        /^node:22\.\d+(\.\d+)?-(alpine\d+\.\d+|[a-z]+-slim)(@sha256:[0-9a-f]+)?$/,
      );
    }
  });

  test('takes its base from ARG NODE_IMAGE (the image test passes a local one), no syntax line', () => {
    expect(DOCKERFILE.args.get('NODE_IMAGE')).toMatch(/^node:22\./);
    const froms = instructions(readText('Dockerfile')).filter((i) => i.keyword === 'FROM');
    const stageNames = new Set(DOCKERFILE.stages.map((s) => s.name).filter(Boolean));
    for (const from of froms) {
      const image = from.args.split(/\s+/)[0];
      if (!stageNames.has(image)) expect(image).toBe('${NODE_IMAGE}');
    }
    // `# syntax=` makes BuildKit pull a frontend image: air-gapped builds fail on it.
    expect(readText('Dockerfile')).not.toMatch(/^#\s*syntax\s*=/im);
  });

  test('the production install leaves out typescript (an optional peer of ts-essentials)', () => {
    const argv = productionInstall();
    expect(argv.slice(0, 2)).toEqual(['npm', 'ci']);
    // --omit=dev alone keeps devOptional packages; typescript is one.
    const lock = readJson('package-lock.json');
    expect(lock.packages['node_modules/typescript']?.devOptional).toBe(true);
    expect(argv).toEqual(expect.arrayContaining(['--omit=dev', '--omit=optional']));
  });

  test('--omit=optional drops no production dependency', () => {
    const lock = readJson('package-lock.json');
    const optionalAtRuntime = Object.entries<any>(lock.packages)
      .filter(([key, entry]) => key.startsWith('node_modules/') && entry.optional && !entry.dev)
      .map(([key]) => key);
    expect(optionalAtRuntime).toEqual([]);
  });

  test('a build stage installs with npm ci and builds; a production-only install feeds the runtime', () => {
    const builders = DOCKERFILE.stages.slice(0, -1);
    const builderRuns = builders.flatMap(runsOf).join('\n');
    expect(builderRuns).toMatch(/npm ci\b/);
    expect(builderRuns).toMatch(/npm run build\b/);
    expect(DOCKERFILE.stages.flatMap(runsOf).join('\n')).toMatch(PROD_INSTALL);
    // The runtime never installs dev dependencies itself ...
    for (const command of runsOf(FINAL)) {
      if (/npm (ci|install|i)\b/.test(command)) expect(command).toMatch(PROD_INSTALL);
    }
    // ... nor copies the full (dev) install of a build stage.
    const devDirs: string[] = [];
    for (const stage of builders) {
      let workdir = '/';
      for (const { keyword, args } of stage.instructions) {
        if (keyword === 'WORKDIR') workdir = path.posix.resolve(workdir, args);
        const first = args.split('&&')[0];
        if (keyword === 'RUN' && /npm ci\b/.test(first) && !PROD_INSTALL.test(first)) {
          devDirs.push(workdir);
        }
      }
    }
    const copied = copiesOf(FINAL)
      .filter((copy) => copy.from)
      .flatMap((copy) => copy.sources.map((s) => path.posix.normalize(s).replace(/\/$/, '')));
    const fromDevInstall = copied.filter((source) =>
      devDirs.some((dir) => source === dir || source.startsWith(`${dir}/node_modules`)),
    );
    expect(fromDevInstall).toEqual([]);
    expect(copiesOf(FINAL).some((c) => c.from)).toBe(true);
  });

  test('runs as a non-root user', () => {
    const user = last(finalOf('USER'))?.args;
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^(root|0)(:.*)?$/);
  });

  test('has an absolute exec-form ENTRYPOINT and AIRBYTE_ENTRYPOINT equal to it', () => {
    const entrypoint = last(finalOf('ENTRYPOINT'));
    expect(entrypoint?.args.startsWith('[')).toBe(true);
    const argv: string[] = JSON.parse(entrypoint!.args);
    expect(argv[0]).toMatch(/^(node|\/\S+)$/);
    for (const arg of argv.slice(1))
      if (!arg.startsWith('-')) expect(arg.startsWith('/')).toBe(true);
    expect(envOf(FINAL).get('AIRBYTE_ENTRYPOINT')).toBe(argv.join(' '));
    // The script is the package's bin, where the runtime stage puts the package.
    const workdir = last(finalOf('WORKDIR'))?.args ?? '/';
    const script = argv.find((arg) => arg.startsWith(`${workdir}/`));
    expect(script).toBeDefined();
    const relative = path.posix.relative(workdir, script!);
    expect(Object.values(PACKAGE.bin)).toContain(relative);
    expect(fs.existsSync(path.join(REPO_ROOT, relative))).toBe(true);
  });

  test('labels io.airbyte.name and io.airbyte.version match metadata.yaml', () => {
    const labels = labelsOf(FINAL);
    expect(labels.get('io.airbyte.name')).toBe(METADATA.data.dockerRepository);
    expect(labels.get('io.airbyte.version')).toBe(METADATA.data.dockerImageTag);
  });

  test('every COPY from the build context exists and survives .dockerignore', () => {
    const context = buildContext();
    for (const stage of DOCKERFILE.stages) {
      for (const copy of copiesOf(stage).filter((c) => !c.from)) {
        for (const source of copy.sources) {
          const normalized = path.posix.normalize(source).replace(/\/$/, '');
          expect([source, fs.existsSync(path.join(REPO_ROOT, normalized))]).toEqual([source, true]);
          const sent = context.filter((f) => f === normalized || f.startsWith(`${normalized}/`));
          expect([source, sent.length > 0]).toEqual([source, true]);
        }
      }
    }
  });
});

describe('.dockerignore', () => {
  test('keeps tests, test files, secrets, node_modules, lib, .git and local files out', () => {
    const kept = [
      'test/acceptance.test.ts',
      'test/fake-pipedrive/index.ts',
      'test_files/sample_config.json',
      'secrets/config.json',
      '.env',
      'node_modules/axios/package.json',
      'lib/index.js',
      '.git/HEAD',
      'coverage/lcov.info',
      'bench/run.ts',
      'source-pipedrive-0.1.0.tgz',
      'src/streams/deals.test.ts',
      'src/secrets/token.json',
    ].filter((file) => !IGNORE.excluded(file));
    expect(kept).toEqual([]);
  });

  test('lets through what the image build needs', () => {
    const needed = [
      'package.json',
      'package-lock.json',
      'tsconfig.json',
      'tsconfig.build.json',
      'LICENSE',
      'bin/main',
      'src/index.ts',
      'resources/spec.json',
    ];
    expect(needed.filter((file) => IGNORE.excluded(file))).toEqual([]);
  });

  test('the build context holds no test, secret or generated file', () => {
    const bad = buildContext().filter((file) =>
      /^(test|test_files|secrets|lib|coverage|bench|node_modules|\.git)\/|(^|\/)\.env$|\.test\.ts$|\.tgz$/.test(
        file,
      ),
    );
    expect(bad).toEqual([]);
  });
});

describe('release files', () => {
  const changelog = readText('CHANGELOG.md');
  const versions = [...changelog.matchAll(/^## \[(\d+\.\d+\.\d+)\] - (.+)$/gm)].map(
    ([, version, date]) => ({ version, date }),
  );

  test('LICENSE is the Apache License 2.0 that package.json and metadata.yaml name', () => {
    const license = readText('LICENSE');
    expect(PACKAGE.license).toBe('Apache-2.0');
    expect(METADATA.data.license).toBe(PACKAGE.license);
    expect(license).toMatch(/^\s*Apache License\s+Version 2\.0, January 2004/);
    expect(license).toContain('END OF TERMS AND CONDITIONS');
    // All nine sections of the terms are there, not an excerpt.
    for (let n = 1; n <= 9; n++) expect(license).toMatch(new RegExp(`^\\s*${n}\\. \\w`, 'm'));
  });

  test('CHANGELOG.md has the package version, newest first, each dated or Unreleased', () => {
    expect(versions.map((v) => v.version)).toContain(PACKAGE.version);
    expect(versions[0].version).toBe(PACKAGE.version);
    const ordered = [...versions].sort((a, b) =>
      b.version.localeCompare(a.version, 'en', { numeric: true }),
    );
    expect(versions).toEqual(ordered);
    for (const { date } of versions) expect(date).toMatch(/^(\d{4}-\d{2}-\d{2}|Unreleased)$/);
  });

  test('CHANGELOG.md uses only Keep a Changelog headings, and a released version has no TODO', () => {
    const allowed = /^### (Added|Changed|Deprecated|Removed|Fixed|Security|Breaking\b.*)$/;
    const headings = [...changelog.matchAll(/^### .*$/gm)].map(([heading]) => heading);
    expect(headings.filter((heading) => !allowed.test(heading))).toEqual([]);
    for (const { version, date } of versions) {
      if (date === 'Unreleased') continue;
      expect([version, /TODO/.test(changelogSection(changelog, version)!)]).toEqual([
        version,
        false,
      ]);
    }
  });

  test('a version with a Breaking heading has a breakingChanges entry in metadata.yaml', () => {
    const breaking = versions
      .filter(({ version }) => /^### Breaking/m.test(changelogSection(changelog, version)!))
      .map(({ version }) => version);
    expect(breaking.sort()).toEqual(
      Object.keys(METADATA.data.releases?.breakingChanges ?? {}).sort(),
    );
  });
});

describe('metadata.yaml', () => {
  // Airbyte's ConnectorReleases / ConnectorBreakingChanges (airbyte-ci metadata_service models).
  const RELEASES_SCHEMA = {
    type: 'object',
    additionalProperties: false,
    required: ['breakingChanges'],
    properties: {
      isReleaseCandidate: { type: 'boolean' },
      rolloutConfiguration: { type: 'object' },
      migrationDocumentationUrl: { type: 'string', format: 'uri' },
      breakingChanges: {
        type: 'object',
        additionalProperties: false,
        minProperties: 1,
        patternProperties: {
          '^\\d+\\.\\d+\\.\\d+$': {
            type: 'object',
            additionalProperties: false,
            required: ['upgradeDeadline', 'message'],
            properties: {
              upgradeDeadline: { type: 'string', format: 'date' },
              message: { type: 'string', minLength: 1 },
              deadlineAction: { enum: ['auto_upgrade', 'disable'] },
              migrationDocumentationUrl: { type: 'string', format: 'uri' },
              scopedImpact: {
                type: 'array',
                minItems: 1,
                items: {
                  type: 'object',
                  additionalProperties: false,
                  required: ['scopeType', 'impactedScopes'],
                  properties: {
                    scopeType: { const: 'stream' },
                    impactedScopes: { type: 'array', minItems: 1, items: { type: 'string' } },
                  },
                },
              },
            },
          },
        },
      },
    },
  };
  // The parts of Airbyte's ConnectorMetadataDefinitionV0 this connector uses (unknown keys fail).
  const SCHEMA = {
    type: 'object',
    required: ['metadataSpecVersion', 'data'],
    additionalProperties: false,
    properties: {
      metadataSpecVersion: { type: 'string', const: '1.0' },
      data: {
        type: 'object',
        additionalProperties: false,
        required: [
          'name',
          'definitionId',
          'connectorType',
          'dockerRepository',
          'dockerImageTag',
          'license',
          'documentationUrl',
          'githubIssueLabel',
          'connectorSubtype',
          'releaseStage',
        ],
        properties: {
          name: { type: 'string', minLength: 1 },
          icon: { type: 'string' },
          definitionId: { type: 'string', format: 'uuid' },
          connectorBuildOptions: { type: 'object' },
          connectorType: { enum: ['destination', 'source'] },
          // A Docker repository: path components, optionally under a registry host.
          dockerRepository: {
            type: 'string',
            pattern:
              '^([a-z0-9.-]+(:\\d+)?/)?[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)*$',
          },
          dockerImageTag: { type: 'string', pattern: '^\\d+\\.\\d+\\.\\d+(-[\\w.]+)?$' },
          supportsDbt: { type: 'boolean' },
          supportsNormalization: { type: 'boolean' },
          license: { type: 'string' },
          documentationUrl: { type: 'string', format: 'uri' },
          githubIssueLabel: { type: 'string' },
          maxSecondsBetweenMessages: { type: 'integer', minimum: 1 },
          releaseDate: { type: 'string', format: 'date' },
          protocolVersion: { type: 'string' },
          connectorSubtype: {
            enum: [
              'api',
              'database',
              'datalake',
              'file',
              'custom',
              'message_queue',
              'unknown',
              'vectorstore',
            ],
          },
          releaseStage: { enum: ['alpha', 'beta', 'generally_available', 'custom'] },
          supportLevel: { enum: ['community', 'certified', 'archived'] },
          tags: { type: 'array', items: { type: 'string', pattern: '^[a-z]+:.+$' } },
          registries: { type: 'object' },
          allowedHosts: {
            type: 'object',
            additionalProperties: false,
            properties: { hosts: { type: 'array', items: { type: 'string', minLength: 1 } } },
          },
          releases: RELEASES_SCHEMA,
          normalizationConfig: { type: 'object' },
          suggestedStreams: { type: 'object' },
          resourceRequirements: { type: 'object' },
          ab_internal: {
            type: 'object',
            additionalProperties: false,
            properties: {
              sl: { enum: [0, 100, 200, 300] },
              ql: { enum: [0, 100, 200, 300, 400, 500, 600] },
              isEnterprise: { type: 'boolean' },
              requireVersionIncrementsInPullRequests: { type: 'boolean' },
            },
          },
          remotePackageIndex: { type: 'object' },
        },
      },
    },
  };

  test('matches the metadata schema', () => {
    const ajv = new Ajv({ allErrors: true, strict: false });
    addFormats(ajv);
    const validate = ajv.compile(SCHEMA);
    expect([validate(METADATA), ajv.errorsText(validate.errors)]).toEqual([true, 'No errors']);
  });

  test('agrees with package.json, the Dockerfile and the spec', () => {
    const data = METADATA.data;
    expect(data.dockerImageTag).toBe(PACKAGE.version);
    expect(data.license).toBe(PACKAGE.license);
    expect(data.dockerRepository).toBe(labelsOf(FINAL).get('io.airbyte.name'));
    expect(data.connectorType).toBe('source');
    expect(data.tags).toContain('language:typescript');
  });

  test('one documentation URL: package.json homepage = metadata = spec', () => {
    expect(PACKAGE.homepage).toMatch(/^https:\/\//);
    expect(METADATA.data.documentationUrl).toBe(PACKAGE.homepage);
    expect(readJson('resources/spec.json').documentationUrl).toBe(PACKAGE.homepage);
  });

  test("the image is not named under Airbyte's own namespace", () => {
    // airbyte/… on Docker Hub is Airbyte's (airbyte/source-pipedrive is its own connector).
    expect(METADATA.data.dockerRepository).not.toMatch(/^(docker\.io\/)?airbyte\//);
    expect(readText('acceptance-test-config.yml')).not.toMatch(/airbyte\/source-pipedrive/);
    // No tagged image reference under airbyte/ (the README names the old one only for migration).
    expect(readText('README.md')).not.toMatch(/airbyte\/source-pipedrive[\w-]*:/);
  });

  test('the README names the image with the current version and the documentation URL', () => {
    const readme = readText('README.md');
    const tags = [...readme.matchAll(/\bsource-pipedrive:(\d+\.\d+\.\d+)/g)].map(([, tag]) => tag);
    expect(tags.length).toBeGreaterThan(0);
    expect(tags.filter((tag) => tag !== PACKAGE.version)).toEqual([]);
    expect(readme).toContain(PACKAGE.homepage);
  });

  test('every breaking change points at its migration in CHANGELOG.md', () => {
    const changes: Record<string, any> = METADATA.data.releases?.breakingChanges ?? {};
    const changelog = readText('CHANGELOG.md');
    const repository = PACKAGE.homepage.replace(/#.*$/, '');
    for (const [version, change] of Object.entries(changes)) {
      const section = changelogSection(changelog, version);
      expect([version, section !== undefined]).toEqual([version, true]);
      expect([version, /^### Breaking/m.test(section ?? '')]).toEqual([version, true]);
      const url = new URL(change.migrationDocumentationUrl);
      expect(`${url.origin}${url.pathname}`).toBe(`${repository}/blob/main/CHANGELOG.md`);
      expect(headingAnchors(changelog)).toContain(url.hash.slice(1));
      expect(headingAnchors(section!)).toContain(url.hash.slice(1));
    }
  });

  test('allowedHosts cover Pipedrive and only name config fields the spec has', () => {
    const hosts: string[] = METADATA.data.allowedHosts.hosts;
    expect(hosts).toContain('api.pipedrive.com');
    const properties = readJson('resources/spec.json').connectionSpecification.properties;
    for (const host of hosts) {
      for (const [, field] of host.matchAll(/\$\{([^}]+)\}/g)) {
        expect([host, field in properties]).toEqual([host, true]);
      }
    }
  });
});

// ---------------------------------------------------------------------------------------------
// The image, rebuilt without Docker
// ---------------------------------------------------------------------------------------------

interface Output {
  code: number | null;
  messages: any[];
  stderr: string;
}

/** Runs the installed connector from outside the repository, as the image would. */
function runInstalled(main: string, args: string[], cwd: string, uid?: number): Promise<Output> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [main, ...args], {
      cwd,
      ...(uid === undefined ? {} : { uid, gid: uid }),
      env: {
        PATH: process.env.PATH ?? '',
        HOME: cwd,
        NODE_ENV: 'production',
        PIPEDRIVE_RETRY_BASE_MS: '20',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const messages = stdout
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => {
          try {
            return JSON.parse(line);
          } catch {
            return { __unparsable: line };
          }
        });
      resolve({ code, messages, stderr });
    });
  });
}

/**
 * Docker's COPY from the build context, honouring .dockerignore: a folder's contents go into
 * the destination; a file goes to the destination path, or into it when it is a folder.
 */
function copyFromContext(copy: Copy, root: string, context: string[]): void {
  const dest = path.posix.resolve(copy.workdir, copy.dest);
  const intoFolder = copy.dest.endsWith('/') || copy.sources.length > 1;
  for (const source of copy.sources) {
    const normalized = path.posix.normalize(source).replace(/\/$/, '');
    for (const file of context) {
      let target: string;
      if (file === normalized) {
        target = intoFolder ? path.posix.join(dest, path.posix.basename(file)) : dest;
      } else if (file.startsWith(`${normalized}/`)) {
        target = path.posix.join(dest, path.posix.relative(normalized, file));
      } else {
        continue;
      }
      const destination = path.join(root, target);
      fs.mkdirSync(path.dirname(destination), { recursive: true });
      fs.copyFileSync(path.join(REPO_ROOT, file), destination);
    }
  }
}

describe('image smoke test without Docker', () => {
  let tmp: string;
  let build: string;
  let app: string; // /airbyte/integration_code in the image
  let work: string;
  let packed: { filename: string; files: Array<{ path: string }> };
  let fake: FakePipedrive;
  let main: string;

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-image-'));
    app = path.join(tmp, 'package');
    work = path.join(tmp, 'work');
    // Build stage: its COPYs from the build context; the repository's node_modules stands in
    // for its `npm ci` (same lockfile).
    const context = buildContext();
    const builder = DOCKERFILE.stages[0];
    const buildRoot = path.join(tmp, 'build');
    for (const copy of copiesOf(builder).filter((c) => !c.from)) {
      copyFromContext(copy, buildRoot, context);
    }
    const workdir = last(builder.instructions.filter((i) => i.keyword === 'WORKDIR'))?.args ?? '/';
    build = path.join(buildRoot, workdir);
    fs.symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(build, 'node_modules'), 'dir');
    await execFileAsync('npm', ['run', 'build'], { cwd: build });
    const { stdout } = await execFileAsync(
      'npm',
      ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp],
      { cwd: build },
    );
    packed = JSON.parse(stdout)[0];
    // Runtime: the package's files plus production dependencies from the lockfile.
    fs.mkdirSync(app);
    await execFileAsync('tar', [
      '-xzf',
      path.join(tmp, packed.filename),
      '-C',
      app,
      '--strip-components=1',
    ]);
    fs.copyFileSync(path.join(build, 'package-lock.json'), path.join(app, 'package-lock.json'));
    // The image's own production install, word for word (plus the local cache).
    const [npm, ...npmArgs] = productionInstall();
    await execFileAsync(npm, [...npmArgs, '--prefer-offline'], { cwd: app });
    fs.rmSync(path.join(app, 'package-lock.json'));
    fs.mkdirSync(work);
    main = path.join(app, Object.values<string>(PACKAGE.bin)[0]);
    fake = new FakePipedrive({ seed: 11, burstLimit: null });
    await fake.start();
  }, 90_000);

  afterAll(async () => {
    await fake?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('the package holds the connector and nothing of the sources, tests or secrets', () => {
    const files = packed.files.map((f) => f.path);
    expect(files).toEqual(
      expect.arrayContaining([
        'bin/main',
        'lib/index.js',
        'resources/spec.json',
        'package.json',
        // Apache-2.0 §4(a): whoever gets the image gets the license with it.
        'LICENSE',
      ]),
    );
    expect(
      files.filter(
        (f) =>
          /^(src|test|test_files|secrets)\/|\.ts$|(^|\/)\.env$/.test(f) && !f.endsWith('.d.ts'),
      ),
    ).toEqual([]);
  });

  test('the install has no dev-only dependency, typescript included', () => {
    const devOnly = devOnlyPackages();
    expect(devOnly).toContain('node_modules/typescript');
    expect(devOnly.filter((key) => fs.existsSync(path.join(app, key)))).toEqual([]);
    expect(fs.existsSync(path.join(app, 'node_modules', 'faros-airbyte-cdk'))).toBe(true);
  });

  test('a config file the connector may not read is a config error that says how to fix it', async () => {
    const config = path.join(work, 'unreadable.json');
    fs.writeFileSync(config, JSON.stringify({ api_token: fake.token, api_url: fake.url }));
    // Root reads any file: then run as nobody against a root-owned 600 file, as in the image.
    const asRoot = process.getuid?.() === 0;
    fs.chmodSync(config, asRoot ? 0o600 : 0o000);
    if (asRoot) fs.chmodSync(tmp, 0o755); // mkdtemp made it 700: nobody must reach the package
    const uid = asRoot ? 65534 : undefined;
    const check = await runInstalled(main, ['check', '--config', config], work, uid);
    const status = check.messages.find((m) => m.type === 'CONNECTION_STATUS')?.connectionStatus;
    expect(status?.status).toBe('FAILED');
    expect(status?.message).toMatch(/not readable by the user the connector runs as/);
    expect(status?.message).toMatch(/chmod 644/);
    expect(status?.message).toMatch(/--user/);
    const discover = await runInstalled(main, ['discover', '--config', config], work, uid);
    const errors = discover.messages.filter((m) => m.type === 'TRACE' && m.trace.type === 'ERROR');
    expect(errors.map((m) => m.trace.error.failure_type)).toEqual(['config_error']);
    expect(errors[0].trace.error.message).toMatch(/EACCES.*chmod 644.*--user/);
    expect(discover.code).toBe(1);
  });

  test('spec from the installed package equals resources/spec.json', async () => {
    const result = await runInstalled(main, ['spec'], work);
    expect(result.code).toBe(0);
    expect(result.messages).toEqual([{ type: 'SPEC', spec: readJson('resources/spec.json') }]);
  });

  test('check, discover and a read of two streams work from the installed package', async () => {
    const config = path.join(work, 'config.json');
    fs.writeFileSync(
      config,
      JSON.stringify({ api_token: fake.token, api_url: fake.url, max_requests_per_2_seconds: 480 }),
    );
    const check = await runInstalled(main, ['check', '--config', config], work);
    expect(
      check.messages
        .filter((m) => m.type === 'CONNECTION_STATUS')
        .map((m) => m.connectionStatus.status),
    ).toEqual(['SUCCEEDED']);

    const discover = await runInstalled(main, ['discover', '--config', config], work);
    const streams: any[] =
      discover.messages.find((m) => m.type === 'CATALOG')?.catalog.streams ?? [];
    const chosen = ['users', 'pipelines'].every((name) => streams.some((s) => s.name === name))
      ? ['users', 'pipelines']
      : streams.slice(0, 2).map((s) => s.name);
    expect(chosen).toHaveLength(2);
    const catalog = path.join(work, 'catalog.json');
    fs.writeFileSync(
      catalog,
      JSON.stringify({
        streams: chosen.map((name) => ({
          stream: streams.find((s) => s.name === name),
          sync_mode: 'full_refresh',
          destination_sync_mode: 'overwrite',
        })),
      }),
    );
    const read = await runInstalled(main, ['read', '--config', config, '--catalog', catalog], work);
    const invalid = [...check.messages, ...discover.messages, ...read.messages]
      .map((m) => protocolProblems(m))
      .filter((problems) => problems.length > 0);
    expect(invalid).toEqual([]);
    expect([read.code, read.stderr]).toEqual([0, '']);
    for (const name of chosen) {
      const records = read.messages.filter((m) => m.type === 'RECORD' && m.record.stream === name);
      const statuses = read.messages
        .filter((m) => m.type === 'TRACE' && m.trace.stream_status?.stream_descriptor.name === name)
        .map((m) => m.trace.stream_status.status);
      expect([name, records.length > 0, last(statuses)]).toEqual([name, true, 'COMPLETE']);
    }
  });
});
