/**
 * The Docker image, built and run for real (`npm run test:image`; not part of `npm test`, as it
 * builds an image for minutes). Podman builds the Dockerfile unchanged except for its base, then
 * runs spec, check, discover, read and read-with-state in the container against the fake
 * Pipedrive on the host (reached over the host's network): as the image's non-root user, with a
 * read-only root filesystem, as an arbitrary uid, in Airbyte's Kubernetes style
 * (`sh -c "$AIRBYTE_ENTRYPOINT read …"`), and stopped with SIGTERM mid-read. Every stdout line
 * must be one valid protocol message.
 *
 * No container registry is reachable from the machines this runs on, so the base is a local
 * stand-in (scripts/image-base.sh: debootstrap + Node from the npm registry, cached), passed
 * as --build-arg NODE_IMAGE. IMAGE_TEST_NODE_IMAGE=<image> uses another base instead (e.g. the
 * real node:22.x-alpine where it can be pulled).
 *
 * Skips with the reason where podman (or, for the local base, debootstrap and root) is
 * missing. IMAGE_TEST_REQUIRED=1 (CI) turns that skip into a failure.
 */
import { execFile, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import yaml from 'js-yaml';

import { FakePipedrive } from './fake-pipedrive';
import { protocolProblems, REPO_ROOT } from './helpers/protocol';

const execFileAsync = promisify(execFile);
const readJson = (file: string): any =>
  JSON.parse(fs.readFileSync(path.join(REPO_ROOT, file), 'utf8'));
const METADATA: any = yaml.load(fs.readFileSync(path.join(REPO_ROOT, 'metadata.yaml'), 'utf8'));

const TOKEN = 'image-test-token-5c1e0a77d2';
const CUSTOM_BASE = process.env.IMAGE_TEST_NODE_IMAGE;
const IMAGE = 'localhost/source-pipedrive:image-test';
const BUILD_STAGE = 'localhost/source-pipedrive:image-test-build';
/** scripts/image-base.sh labels the local base with its recipe; every image built on it inherits it. */
const BASE_LABEL = 'io.source-pipedrive.base-recipe';
/** Shared with scripts/image-base.sh: the lock files live here. */
const CACHE =
  process.env.IMAGE_TEST_CACHE ??
  path.join(
    process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'),
    'source-pipedrive-image',
  );
const APP = '/airbyte/integration_code';
/** Names of this run's containers, so a timeout or a failed test can remove them. */
const RUN_ID = `pd-image-${process.pid}`;

const has = (tool: string): boolean =>
  spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0;

/** Why the image test cannot run here, or undefined. */
function missingPrerequisite(): string | undefined {
  if (process.platform !== 'linux') return 'it needs Linux';
  if (!has('podman')) return 'podman is not installed (apt-get install podman runc debootstrap)';
  if (!has('flock')) return 'flock (util-linux) is not installed';
  if (CUSTOM_BASE) return undefined;
  if (!has('debootstrap')) {
    return 'debootstrap is not installed, needed for the local base image (apt-get install debootstrap), or set IMAGE_TEST_NODE_IMAGE';
  }
  if (process.getuid?.() !== 0) {
    return 'the local base image needs root (debootstrap, chroot), or set IMAGE_TEST_NODE_IMAGE';
  }
  return undefined;
}

const SKIP_REASON = missingPrerequisite();
const REQUIRED = process.env.IMAGE_TEST_REQUIRED === '1';

// ---------------------------------------------------------------------------------------------
// podman
// ---------------------------------------------------------------------------------------------

let podmanEnv: NodeJS.ProcessEnv = process.env;

/**
 * What podman needs on these machines: ulimits within the sandbox's hard limits (podman's
 * defaults are higher, and runc then fails with "error setting rlimit … operation not
 * permitted"), and, as there is no systemd or journald, cgroupfs and a file for events; runc
 * is named when installed (crun is not). A CONTAINERS_CONF the user set wins.
 */
function containersConf(dir: string): NodeJS.ProcessEnv {
  if (process.env.CONTAINERS_CONF) return process.env;
  const file = path.join(dir, 'containers.conf');
  fs.writeFileSync(
    file,
    [
      '[containers]',
      'default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]',
      '[engine]',
      ...(has('runc') ? ['runtime = "runc"'] : []),
      'cgroup_manager = "cgroupfs"',
      'events_logger = "file"',
      '',
    ].join('\n'),
  );
  return { ...process.env, CONTAINERS_CONF: file };
}

/** A podman command that takes minutes (build); throws with the end of its output. */
function podmanSync(args: string[], timeoutMs = 30 * 60_000): string {
  const result = spawnSync('podman', args, {
    env: podmanEnv,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    timeout: timeoutMs,
  });
  if (result.status !== 0) {
    const output = `${result.stdout}\n${result.stderr}`;
    throw new Error(
      `podman ${args[0]} failed (${result.status ?? result.signal}):\n${output.slice(-4000)}`,
    );
  }
  return result.stdout;
}

/**
 * An flock(1) held by a child process until release() or until this process ends (the child
 * exits when its stdin closes), so a crashed run never leaves the lock taken.
 */
async function exclusiveLock(file: string): Promise<{ release: () => void }> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const holder = spawn('flock', [file, 'sh', '-c', 'echo locked; exec cat > /dev/null'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const waiting = setTimeout(() => console.log(`[image test] waiting for ${file}`), 2000);
  await new Promise<void>((resolve, reject) => {
    holder.on('error', reject);
    holder.on('exit', (code) => reject(new Error(`flock ${file} ended (${code})`)));
    holder.stdout.once('data', () => resolve());
  });
  clearTimeout(waiting);
  return { release: () => holder.stdin.end() };
}

async function podman(args: string[], timeoutMs = 120_000): Promise<string> {
  const { stdout } = await execFileAsync('podman', args, {
    env: podmanEnv,
    timeout: timeoutMs,
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  messages: any[];
}

interface RunOptions {
  /** podman run options before the image (--user, --entrypoint, -v …). */
  options?: string[];
  /** Called with each stdout message as it arrives, with the container's name. */
  onMessage?: (message: any, name: string) => void;
  timeoutMs?: number;
}

let runCounter = 0;

/** `podman run` of the image: read-only root filesystem, the host's network, removed after. */
function run(args: string[], { options = [], onMessage, timeoutMs = 120_000 }: RunOptions = {}) {
  const name = `${RUN_ID}-${runCounter++}`;
  return new Promise<Run>((resolve, reject) => {
    const child = spawn(
      'podman',
      [
        'run',
        '--rm',
        '--name',
        name,
        '--read-only',
        '--network=host',
        '-e',
        'PIPEDRIVE_RETRY_BASE_MS=20',
        '-e',
        'PIPEDRIVE_TIMEOUT_MS=30000',
        ...options,
        IMAGE,
        ...args,
      ],
      { env: podmanEnv, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    let pending = '';
    const messages: any[] = [];
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      stdout += chunk;
      pending += chunk;
      for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        if (line.trim() === '') continue;
        let message: any;
        try {
          message = JSON.parse(line);
        } catch {
          message = { __unparsable: line };
        }
        messages.push(message);
        onMessage?.(message, name);
      }
    });
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => {
      stderr += `\n[image test] timed out after ${timeoutMs} ms`;
      void removeContainer(name);
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (pending.trim() !== '') messages.push({ __unparsable: pending, __partial: true });
      resolve({ code, stdout, stderr, messages });
    });
  });
}

async function removeContainer(name: string): Promise<void> {
  await podman(['rm', '--force', '--time', '0', '--ignore', name]).catch(() => undefined);
}

/** Every stdout line one valid protocol message, the last one complete. */
function expectProtocol(result: Run): void {
  const bad = result.messages
    .map((message, index) => ({ index, problems: protocolProblems(message), message }))
    .filter((entry) => entry.problems.length > 0)
    .slice(0, 5)
    .map((e) => `#${e.index} ${JSON.stringify(e.message).slice(0, 200)}: ${e.problems.join('; ')}`);
  expect(bad).toEqual([]);
  if (result.stdout !== '') expect(result.stdout.endsWith('\n')).toBe(true);
}

const ofType = (result: Run, type: string): any[] =>
  result.messages.filter((message) => message.type === type);
const recordsOf = (result: Run, stream: string): any[] =>
  ofType(result, 'RECORD').filter((m) => m.record.stream === stream);
const statusesOf = (result: Run, stream: string): string[] =>
  ofType(result, 'TRACE')
    .filter((m) => m.trace.stream_status?.stream_descriptor.name === stream)
    .map((m) => m.trace.stream_status.status);
const lastStates = (result: Run): any[] => {
  const states = new Map<string, any>();
  for (const m of ofType(result, 'STATE'))
    states.set(m.state.stream.stream_descriptor.name, m.state);
  return [...states.values()];
};

/** Top-level packages that only development needs (the lockfile's dev and devOptional). */
function devOnlyTopLevel(): string[] {
  const lock = readJson('package-lock.json');
  return Object.entries<any>(lock.packages)
    .filter(([key]) => /^node_modules\/(@[^/]+\/)?[^/]+$/.test(key))
    .filter(([, entry]) => entry.dev || entry.devOptional)
    .map(([key]) => key.slice('node_modules/'.length));
}

/** Decimal, as podman prints sizes. */
const MB = 1_000_000;
const seconds = (since: number): string => `${((Date.now() - since) / 1000).toFixed(1)} s`;

// ---------------------------------------------------------------------------------------------

if (SKIP_REASON && REQUIRED) {
  test('image test prerequisites (IMAGE_TEST_REQUIRED=1)', () => {
    throw new Error(`The image test cannot run: ${SKIP_REASON}`);
  });
} else if (SKIP_REASON) {
  // A clear line in the output, not a silent skip.
  console.warn(`Image test skipped: ${SKIP_REASON}.`);
  test.skip(`image test skipped: ${SKIP_REASON}`, () => undefined);
}

(SKIP_REASON ? describe.skip : describe)('the image, built and run with podman', () => {
  let tmp: string;
  let secrets: string;
  let fake: FakePipedrive;
  let discovered: any[] = [];
  let firstRead: Run;
  let baseImage: string;
  let lock: { release: () => void } | undefined;
  const catalogStreams = [
    { name: 'users', syncMode: 'full_refresh' },
    { name: 'stages', syncMode: 'full_refresh' },
    { name: 'persons', syncMode: 'incremental' },
    { name: 'organizations', syncMode: 'incremental' },
  ];
  const secretsMount = (): string[] => ['-v', `${secrets}:/secrets:ro`];

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-image-test-'));
    podmanEnv = { ...containersConf(tmp), IMAGE_TEST_CACHE: CACHE };
    // One image test at a time on a machine (another worktree, CI): they share the tags and
    // the prune below must not remove an image another run is using.
    lock = await exclusiveLock(path.join(CACHE, 'image-test.lock'));
    let since = Date.now();
    let base = CUSTOM_BASE;
    if (!base) {
      // Cached by the script: minutes the first time, a second afterwards.
      const { stdout } = await execFileAsync(path.join(REPO_ROOT, 'scripts', 'image-base.sh'), [], {
        env: podmanEnv,
        timeout: 20 * 60_000,
        maxBuffer: 16 * 1024 * 1024,
      });
      base = stdout.trim().split('\n').pop()!;
    }
    baseImage = base;
    console.log(`[image test] base ${base} ready in ${seconds(since)}`);

    since = Date.now();
    const build = ['build', '--network=host', '--build-arg', `NODE_IMAGE=${base}`];
    // The build stage gets a tag of its own: its layers (the npm ci of every dependency) stay
    // cached for the next run instead of being left as dangling images.
    podmanSync([...build, '--target', 'build', '--tag', BUILD_STAGE, REPO_ROOT]);
    podmanSync([...build, '--tag', IMAGE, REPO_ROOT]);
    console.log(`[image test] podman build in ${seconds(since)}`);
    // What earlier runs built and this one replaced (only images on the local base carry its
    // label): without this every source change leaves ~600 MB behind.
    if (!CUSTOM_BASE) podmanSync(['image', 'prune', '--force', '--filter', `label=${BASE_LABEL}`]);

    // Mounted read-only at /secrets; the image's node user must be able to enter it.
    secrets = path.join(tmp, 'secrets');
    fs.mkdirSync(secrets, { mode: 0o755 });
    fs.chmodSync(secrets, 0o755);
    const config = { api_token: TOKEN, api_url: '', max_requests_per_2_seconds: 400 };
    fake = new FakePipedrive({ seed: 23, token: TOKEN, burstLimit: null });
    await fake.start();
    config.api_url = fake.url;
    fs.writeFileSync(path.join(secrets, 'config.json'), JSON.stringify(config), { mode: 0o644 });
  }, 45 * 60_000);

  afterAll(async () => {
    await fake?.stop();
    const names = await podman(['ps', '--all', '--format', '{{.Names}}']).catch(() => '');
    for (const name of names.split('\n').filter((n) => n.startsWith(RUN_ID))) {
      await removeContainer(name);
    }
    lock?.release();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('is what metadata.yaml says: labels, non-root user, AIRBYTE_ENTRYPOINT', async () => {
    const [info] = JSON.parse(await podman(['image', 'inspect', IMAGE]));
    const config = info.Config;
    expect(config.Labels['io.airbyte.name']).toBe(METADATA.data.dockerRepository);
    expect(config.Labels['io.airbyte.version']).toBe(METADATA.data.dockerImageTag);
    expect(config.User).toBe('node');
    expect(config.Entrypoint).toEqual(['node', `${APP}/bin/main`]);
    expect(config.Env).toContain(`AIRBYTE_ENTRYPOINT=node ${APP}/bin/main`);
  });

  test('holds no typescript or other dev package; the code is not writable by its user', async () => {
    const probe = [
      "const fs = require('fs');",
      `const dir = '${APP}/node_modules';`,
      'const names = fs.readdirSync(dir).flatMap((n) => n.startsWith("@") ? fs.readdirSync(`${dir}/${n}`).map((m) => `${n}/${m}`) : [n]);',
      'let writable = true;',
      `try { fs.accessSync('${APP}/lib', fs.constants.W_OK); } catch { writable = false; }`,
      `console.log(JSON.stringify({ uid: process.getuid(), names, writable, license: fs.existsSync('${APP}/LICENSE') }));`,
    ].join('\n');
    const result = await run(['-e', probe], { options: ['--entrypoint', 'node'] });
    expect([result.code, result.stderr]).toEqual([0, '']);
    const found = JSON.parse(result.stdout);
    expect(found.uid).toBe(1000);
    expect(found.writable).toBe(false);
    expect(found.license).toBe(true);
    expect(found.names).toContain('faros-airbyte-cdk');
    expect(found.names).not.toContain('typescript');
    expect(found.names.filter((name: string) => devOnlyTopLevel().includes(name))).toEqual([]);
  });

  test('the layers above the base stay small', async () => {
    const [image] = JSON.parse(await podman(['image', 'inspect', IMAGE]));
    const [base] = JSON.parse(await podman(['image', 'inspect', baseImage]));
    // What the runtime stage adds to its base: the connector and its production dependencies.
    const own = image.Size - base.Size;
    console.log(
      `[image test] image ${(image.Size / MB).toFixed(1)} MB, base ${(base.Size / MB).toFixed(1)} MB, runtime layer ${(own / MB).toFixed(1)} MB`,
    );
    // 61 MB while typescript (23 MB) was in it.
    expect(own).toBeLessThan(45 * MB);
    expect(own).toBeGreaterThan(5 * MB);
  });

  test('spec equals resources/spec.json', async () => {
    const result = await run(['spec']);
    expectProtocol(result);
    expect(result.code).toBe(0);
    expect(result.messages).toEqual([{ type: 'SPEC', spec: readJson('resources/spec.json') }]);
  });

  test('check and discover as the image user', async () => {
    const check = await run(['check', '--config', '/secrets/config.json'], {
      options: secretsMount(),
    });
    expectProtocol(check);
    expect(ofType(check, 'CONNECTION_STATUS').map((m) => m.connectionStatus.status)).toEqual([
      'SUCCEEDED',
    ]);
    const discover = await run(['discover', '--config', '/secrets/config.json'], {
      options: secretsMount(),
    });
    expectProtocol(discover);
    expect(discover.code).toBe(0);
    discovered = ofType(discover, 'CATALOG')[0]?.catalog.streams ?? [];
    const names = discovered.map((stream) => stream.name);
    expect(names).toEqual(expect.arrayContaining(catalogStreams.map((s) => s.name)));
    fs.writeFileSync(
      path.join(secrets, 'catalog.json'),
      JSON.stringify({
        streams: catalogStreams.map(({ name, syncMode }) => ({
          stream: discovered.find((stream) => stream.name === name),
          sync_mode: syncMode,
          destination_sync_mode: syncMode === 'incremental' ? 'append_dedup' : 'overwrite',
        })),
      }),
    );
  });

  test('read as an arbitrary uid (--user 12345:0)', async () => {
    firstRead = await run(
      ['read', '--config', '/secrets/config.json', '--catalog', '/secrets/catalog.json'],
      { options: ['--user', '12345:0', ...secretsMount()] },
    );
    expectProtocol(firstRead);
    expect([firstRead.code, firstRead.stderr]).toEqual([0, '']);
    for (const { name, syncMode } of catalogStreams) {
      expect([name, recordsOf(firstRead, name).length > 0]).toEqual([name, true]);
      expect([name, statusesOf(firstRead, name).pop()]).toEqual([name, 'COMPLETE']);
      if (syncMode === 'incremental') {
        const stated = lastStates(firstRead).some((s) => s.stream.stream_descriptor.name === name);
        expect([name, stated]).toEqual([name, true]);
      }
    }
  });

  test('read with state in the Kubernetes style: sh -c "$AIRBYTE_ENTRYPOINT read …"', async () => {
    fs.writeFileSync(path.join(secrets, 'state.json'), JSON.stringify(lastStates(firstRead)));
    const result = await run(
      [
        '-c',
        // Single quotes: the container's shell expands the variable, as Airbyte's pods do.
        '$AIRBYTE_ENTRYPOINT read --config /secrets/config.json --catalog /secrets/catalog.json --state /secrets/state.json',
      ],
      { options: ['--entrypoint', 'sh', ...secretsMount()] },
    );
    expectProtocol(result);
    expect([result.code, result.stderr]).toEqual([0, '']);
    for (const { name, syncMode } of catalogStreams) {
      expect([name, statusesOf(result, name).pop()]).toEqual([name, 'COMPLETE']);
      const before = recordsOf(firstRead, name).length;
      const after = recordsOf(result, name).length;
      // Nothing changed in between: incremental streams re-read only their cursor's second.
      if (syncMode === 'incremental') expect([name, after < before]).toEqual([name, true]);
      else expect([name, after]).toEqual([name, before]);
    }
  });

  test('a config file the container user may not read: a config error that says how to fix it', async () => {
    const locked = path.join(tmp, 'locked');
    fs.mkdirSync(locked, { mode: 0o755 });
    fs.chmodSync(locked, 0o755);
    const file = path.join(locked, 'config.json');
    fs.copyFileSync(path.join(secrets, 'config.json'), file);
    // Mode 600, owned by the host user (root here): the image's node user (uid 1000) cannot read it.
    fs.chmodSync(file, 0o600);
    const mount = ['-v', `${locked}:/secrets:ro`];
    const check = await run(['check', '--config', '/secrets/config.json'], { options: mount });
    expectProtocol(check);
    const status = ofType(check, 'CONNECTION_STATUS')[0]?.connectionStatus;
    expect(status?.status).toBe('FAILED');
    expect(status?.message).toMatch(/EACCES/);
    expect(status?.message).toMatch(/not readable by the user the connector runs as \(uid 1000\)/);
    expect(status?.message).toMatch(/chmod 644/);
    expect(status?.message).toMatch(/--user/);
    const discover = await run(['discover', '--config', '/secrets/config.json'], {
      options: mount,
    });
    expectProtocol(discover);
    expect(discover.code).toBe(1);
    const errors = ofType(discover, 'TRACE').filter((m) => m.trace.type === 'ERROR');
    expect(errors.map((m) => m.trace.error.failure_type)).toEqual(['config_error']);
    // The fix the message names: run as the file's owner.
    const owner = `${fs.statSync(file).uid}:${fs.statSync(file).gid}`;
    const fixed = await run(['check', '--config', '/secrets/config.json'], {
      options: ['--user', owner, ...mount],
    });
    expect(ofType(fixed, 'CONNECTION_STATUS')[0]?.connectionStatus.status).toBe('SUCCEEDED');
  });

  test('SIGTERM during a read ends on a complete STATE line', async () => {
    // Slow pages, so the read is still going when the signal comes.
    const slow = new FakePipedrive({
      seed: 29,
      token: TOKEN,
      burstLimit: null,
      latencyMs: 250,
      sizes: { persons: 6000 },
    });
    await slow.start();
    try {
      const dir = path.join(tmp, 'slow');
      fs.mkdirSync(dir, { mode: 0o755 });
      fs.chmodSync(dir, 0o755);
      fs.writeFileSync(
        path.join(dir, 'config.json'),
        JSON.stringify({ api_token: TOKEN, api_url: slow.url, max_requests_per_2_seconds: 400 }),
        { mode: 0o644 },
      );
      fs.writeFileSync(
        path.join(dir, 'catalog.json'),
        JSON.stringify({
          streams: [
            {
              stream: discovered.find((stream) => stream.name === 'persons'),
              sync_mode: 'incremental',
              destination_sync_mode: 'append_dedup',
            },
          ],
        }),
      );
      let states = 0;
      let signalled = false;
      const result = await run(
        ['read', '--config', '/secrets/config.json', '--catalog', '/secrets/catalog.json'],
        {
          options: ['-v', `${dir}:/secrets:ro`],
          // Right after the second checkpoint the connector waits for its next page.
          onMessage: (message, name) => {
            if (message.type !== 'STATE' || ++states !== 2 || signalled) return;
            signalled = true;
            void podman(['kill', '--signal', 'TERM', name]);
          },
          timeoutMs: 120_000,
        },
      );
      expect(signalled).toBe(true);
      expect(result.code).toBe(143);
      // First, in one expectation: a failure shows how the output ended (records after the last
      // checkpoint, or a line cut off by the exit).
      const types = result.messages.map((m) => (m.__partial ? 'PARTIAL LINE' : m.type));
      const afterLastState = [...new Set(types.slice(types.lastIndexOf('STATE') + 1))];
      expect({ last: types[types.length - 1], afterLastState }).toEqual({
        last: 'STATE',
        afterLastState: [],
      });
      expectProtocol(result);
      // It stopped early: not every page was read.
      expect(recordsOf(result, 'persons').length).toBeLessThan(6000);
    } finally {
      await slow.stop();
    }
  });
});
