/**
 * Runs the fake Pipedrive as a standalone process (for the demo, the benchmark, manual tries):
 *
 *   npx tsx test/fake-pipedrive/cli.ts --port 0 --seed 1 --deals 1000000 --burst-limit 120
 *
 * Prints one JSON line `{"url": "...", "token": "...", "oauth": {client_id, client_secret,
 * refresh_token}}` once listening and runs until SIGTERM or SIGINT. It accepts Pipedrive's write
 * calls (see http/writes.ts) and `POST /_fake/clock/advance?seconds=N`. Plain Node +
 * TypeScript: it works compiled as well as under tsx.
 */
import { DEFAULT_RANDOM_FAULT_KINDS } from './http/faults';
import { FakePipedrive } from './index';
import { DEFAULT_SIZES, FakePipedriveOptions, FaultKind, LatencyModel, Sizes } from './types';

const USAGE = `Usage: cli.ts [options]
  --port N                   port to listen on (default 0: ephemeral)
  --seed N                   data seed (default 1)
  --token TEXT               the valid API token
  --company-domain TEXT      company_domain of /v1/users/me (default acme)
  --host-mode MODE           company (/api/v1 only), global (/v1 only) or any (default: both)
  --compression ENCODING     gzip, deflate or br when the request accepts it (default: none)
  --now ISO                  start of the fake clock (default 2026-06-01T12:00:00Z)
  --burst-limit N            requests per rolling 2 s per token (default: unlimited)
  --other-client-rps N       another client on the same token sends N requests a second
  --daily-budget N           daily token budget (default: unlimited)
  --daily-spent-by-others N  of which other integrations already spent N tokens
  --no-daily-headers         do not send x-daily-ratelimit-token-* headers
  --no-token-cost-header     do not send x-token-cost on charged answers
  --block-after N            after N 429s on an exhausted budget, answer Cloudflare 403 pages
  --latency-ms N             fixed latency per answer (default 0)
  --latency-jitter-ms N      plus seeded jitter in [0, N) ms
  --latency-per-kb-ms N      plus N ms per KB of answer body
  --latency-seed N           seed of the jitter (default: the data seed)
  --v1-ignores-updated-since       v1 notes and leads ignore updated_since (pre-2026 server)
  --products-reject-updated-since  v2 products answer 400 to updated_since/updated_until
  --fault-rate P             probability of a random fault per request (default 0)
  --fault-kinds A,B          kinds of random faults, default:
                             ${DEFAULT_RANDOM_FAULT_KINDS.join(',')}
                             (slow and the failNext kinds work too, e.g. successFalse,
                             noPagination, staleRecords, deletedNullTime, missingId)
  --fault-seed N             seed of the fault RNG
  --slow-ms N                delay of the 'slow' fault (default 10000)
  --<size> N                 any collection size: ${Object.keys(DEFAULT_SIZES).join(', ')}
                             (camelCase or kebab-case, e.g. --archived-deals 20)
`;

function camelCase(name: string): string {
  return name.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());
}

function numberOption(name: string, value: string | undefined): number {
  const parsed = Number(value);
  if (value === undefined || !Number.isFinite(parsed)) {
    throw new Error(`--${name} needs a number, got ${value ?? 'nothing'}`);
  }
  return parsed;
}

export function parseArguments(argv: string[]): FakePipedriveOptions {
  const options: FakePipedriveOptions = {};
  const sizes: Partial<Sizes> = {};
  let faultRate = 0;
  let faultKinds: FaultKind[] | undefined;
  let faultSeed: number | undefined;
  const latency: LatencyModel = {};
  for (let index = 0; index < argv.length; index++) {
    const argument = argv[index];
    if (!argument.startsWith('--')) throw new Error(`Unexpected argument ${argument}`);
    const [flag, inline] = argument.slice(2).split('=', 2);
    const takeValue = (): string | undefined => inline ?? argv[++index];
    const name = camelCase(flag);
    switch (name) {
      case 'help':
        process.stdout.write(USAGE);
        process.exit(0);
        break;
      case 'port':
      case 'seed':
      case 'slowMs':
      case 'latencyMs':
        options[name] = numberOption(flag, takeValue());
        break;
      case 'token':
      case 'companyDomain':
        options[name] = takeValue();
        break;
      case 'hostMode': {
        const mode = takeValue();
        if (mode !== 'company' && mode !== 'global' && mode !== 'any') {
          throw new Error(`--host-mode needs company, global or any, got ${mode ?? 'nothing'}`);
        }
        options.hostMode = mode;
        break;
      }
      case 'compression': {
        const encoding = takeValue();
        if (encoding !== 'gzip' && encoding !== 'deflate' && encoding !== 'br') {
          throw new Error(`--compression needs gzip, deflate or br, got ${encoding ?? 'nothing'}`);
        }
        options.compression = encoding;
        break;
      }
      case 'v1IgnoresUpdatedSince':
      case 'productsRejectUpdatedSince':
        options[name] = true;
        break;
      case 'now':
        options.now = new Date(String(takeValue()));
        break;
      case 'burstLimit':
        options.burstLimit = numberOption(flag, takeValue());
        break;
      case 'otherClientRps':
        options.otherClientRequestsPerSecond = numberOption(flag, takeValue());
        break;
      case 'dailyBudget':
        options.dailyTokenBudget = numberOption(flag, takeValue());
        break;
      case 'noDailyHeaders':
        options.sendDailyBudgetHeaders = false;
        break;
      case 'dailySpentByOthers':
        options.dailyTokensSpentByOthers = numberOption(flag, takeValue());
        break;
      case 'noTokenCostHeader':
        options.sendTokenCostHeader = false;
        break;
      case 'blockAfter':
        options.blockAfterBudget429s = numberOption(flag, takeValue());
        break;
      case 'faultRate':
        faultRate = numberOption(flag, takeValue());
        break;
      case 'faultKinds':
        faultKinds = String(takeValue()).split(',') as FaultKind[];
        break;
      case 'faultSeed':
        faultSeed = numberOption(flag, takeValue());
        break;
      case 'latencyJitterMs':
        latency.jitterMs = numberOption(flag, takeValue());
        break;
      case 'latencyPerKbMs':
        latency.perKbMs = numberOption(flag, takeValue());
        break;
      case 'latencySeed':
        latency.seed = numberOption(flag, takeValue());
        break;
      default:
        if (!(name in DEFAULT_SIZES)) throw new Error(`Unknown option --${flag}\n\n${USAGE}`);
        sizes[name as keyof Sizes] = numberOption(flag, takeValue());
    }
  }
  options.sizes = sizes;
  if (Object.keys(latency).length > 0) options.latency = latency;
  if (faultRate > 0) options.faults = { rate: faultRate, kinds: faultKinds, seed: faultSeed };
  return options;
}

async function main(): Promise<void> {
  const fake = new FakePipedrive(parseArguments(process.argv.slice(2)));
  await fake.start();
  const oauth = {
    client_id: fake.oauth.clientId,
    client_secret: fake.oauth.clientSecret,
    refresh_token: fake.oauth.currentRefreshToken,
  };
  process.stdout.write(`${JSON.stringify({ url: fake.url, token: fake.token, oauth })}\n`);
  const shutdown = () => {
    fake.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(2);
  });
}
