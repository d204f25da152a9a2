import fs from 'node:fs';
import path from 'node:path';

import { Command, CommanderError } from 'commander';

import type { Args } from './commands';
import { ConfigError, ConnectorError, errorMessage, traceOf } from './errors';
import { ProtocolWriter } from './protocol/output';
import { version } from './version';

export type { Args } from './commands';

export const USAGE =
  'source-pipedrive spec | check --config <file> | discover --config <file> | read --config <file> --catalog <file> [--state <file>]';

const RESOURCES = path.resolve(__dirname, '..');

async function spec(writer: ProtocolWriter): Promise<number> {
  const text = fs.readFileSync(path.join(RESOURCES, 'resources', 'spec.json'), 'utf8');
  await writer.spec(JSON.parse(text));
  return 0;
}

type Action = (args: Args) => Promise<number>;

/**
 * The command line, as Airbyte calls it. --help and --version print plain text for a person;
 * everything else answers in protocol messages, mistakes included (a config_error TRACE).
 */
function program(writer: ProtocolWriter, dispatch: (args: Args) => void): Command {
  const cli = new Command('source-pipedrive')
    .description(
      'Airbyte source for the Pipedrive CRM. Every line it prints is an Airbyte message.',
    )
    .version(version(), '-V, --version', 'print the version')
    .helpOption('-h, --help', 'print this help')
    .addHelpCommand(false)
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeOut: (text) => void writer.text(text),
      // Mistakes become a config_error TRACE (see run): nothing is printed here.
      writeErr: () => undefined,
      outputError: () => undefined,
    })
    .addHelpText(
      'after',
      `
Examples:
  source-pipedrive spec
  source-pipedrive check --config secrets/config.json
  source-pipedrive read --config secrets/config.json --catalog test_files/walkthrough_incremental_catalog.json > out.jsonl
`,
    );

  const define = (
    name: string,
    description: string,
    options: Array<[flag: string, description: string]>,
  ): void => {
    const command = cli
      .command(name)
      .description(description)
      .allowExcessArguments(true)
      .helpOption('-h, --help', 'print this help');
    for (const [flag, text] of options) command.option(flag, text);
    command.action((values: Record<string, string | undefined>, self: Command) => {
      if (self.args.length > 0) {
        throw new ConfigError(
          `Unexpected argument ${self.args.map((arg) => JSON.stringify(arg)).join(' ')} after "${name}": ${name} takes ${options.length === 0 ? 'no arguments' : `only ${options.map(([flag]) => flag).join(', ')}`}. Usage: ${USAGE}`,
        );
      }
      dispatch({ command: name, ...values });
    });
  };
  define('spec', 'print the connector specification (the config it accepts)', []);
  define('check', 'check the config: authenticate and read the token’s user', [
    ['--config <file>', 'config JSON file'],
  ]);
  define('discover', 'print the catalog: every stream, with your account’s custom fields', [
    ['--config <file>', 'config JSON file'],
  ]);
  define('read', 'read records and states of a configured catalog', [
    ['--config <file>', 'config JSON file'],
    ['--catalog <file>', 'configured catalog JSON file (see `npm run catalog`)'],
    ['--state <file>', 'state JSON file of an earlier sync (optional)'],
  ]);
  return cli;
}

/** Commander's words for a mistake, as the sentence of a config_error. */
function usageError(error: CommanderError): ConfigError {
  const text = error.message
    .replace(/^error: /, '')
    .replace(/\n\(Did you mean (.*)\?\)/, ' (did you mean $1?)');
  const sentence = text.charAt(0).toUpperCase() + text.slice(1);
  return new ConfigError(`${sentence}. Usage: ${USAGE}`);
}

/** Parses argv; resolves to the chosen command, or to an exit code when nothing is left to do. */
async function parse(argv: string[], writer: ProtocolWriter): Promise<Args | number> {
  let chosen: Args | undefined;
  const cli = program(writer, (args) => (chosen = args));
  try {
    await cli.parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version: plain text already written, exit 0.
      if (error.exitCode === 0) return 0;
      if (error.code === 'commander.help') {
        throw new ConfigError(`No command given. Usage: ${USAGE} (or --help)`);
      }
      throw usageError(error);
    }
    throw error;
  }
  if (!chosen) throw new ConfigError(`No command given. Usage: ${USAGE} (or --help)`);
  return chosen;
}

async function execute(args: Args, writer: ProtocolWriter): Promise<number> {
  if (args.command === 'spec') return spec(writer);
  const commands = await import('./commands');
  const actions: Record<string, Action> = {
    check: (a) => commands.check(a, writer),
    discover: (a) => commands.discover(a, writer),
    read: (a) => commands.read(a, writer),
  };
  return actions[args.command](args);
}

/** Runs one command; returns the exit code. Output goes only through the writer. */
export async function run(argv: string[], writer = new ProtocolWriter()): Promise<number> {
  try {
    const parsed = await parse(argv, writer);
    if (typeof parsed === 'number') return parsed;
    return await execute(parsed, writer);
  } catch (error) {
    if (error instanceof ConnectorError) {
      const trace = traceOf(error);
      await writer.error(writer.redact(trace.message), trace.failureType, {
        internalMessage: trace.internalMessage && writer.redact(trace.internalMessage),
      });
    } else {
      await writer.error(
        `source-pipedrive failed because of a bug: ${writer.redact(errorMessage(error))}`,
        'system_error',
        { stackTrace: error instanceof Error ? writer.redact(error.stack ?? '') : undefined },
      );
    }
    return 1;
  } finally {
    await writer.flush();
  }
}
