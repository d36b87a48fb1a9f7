/**
 * `relevo <command>`: argument parsing, help, and how failures reach the operator. Exit codes:
 * 0 success, 1 failure (one line on stderr), 2 usage error (bad command, argument or option).
 */
import { parseArgs } from 'node:util';
import { type Config, ConfigError, loadConfig } from '../config.js';
import { ApiError } from '../errors.js';
import { connectParties } from '../parties.js';
import { VERSION } from '../version.js';
import type { Command } from './command.js';
import { COMMANDS } from './commands.js';
import type { CliContext } from './context.js';

export interface CliIo {
  readonly env: NodeJS.ProcessEnv;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** Pretty-print JSON for a person at a terminal; compact (one line) for scripts. */
  readonly isTty?: boolean;
  /** stderr is a terminal: long work shows its progress there. */
  readonly stderrIsTty?: boolean;
  readonly signals?: NodeJS.EventEmitter;
}

/** A mistake in how the command was called: exit 2. */
class UsageError extends Error {
  override readonly name = 'UsageError';
  constructor(
    message: string,
    readonly command?: Command,
  ) {
    super(message);
  }
}

const HELP_FLAGS = new Set(['-h', '--help']);
const GROUPS = [...new Set(COMMANDS.filter((c) => c.name.includes(' ')).map((c) => c.name.split(' ')[0]))];

function commandLine(c: Command): string {
  return ['relevo', c.name, ...c.args.map((a) => `<${a}>`), c.usage].filter((s) => s !== '').join(' ');
}

function table(rows: ReadonlyArray<readonly [string, string]>): string[] {
  const width = Math.max(...rows.map(([left]) => left.length));
  return rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`);
}

/** Each command's full synopsis with its summary beneath: synopses are too long for two columns. */
function entries(commands: readonly Command[]): string[] {
  return commands.flatMap((c) => [`  ${commandLine(c).slice('relevo '.length)}`, `      ${c.summary}`]);
}

export function usage(): string {
  const server = COMMANDS.filter((c) => !c.name.includes(' '));
  const admin = COMMANDS.filter((c) => c.name.includes(' '));
  return [
    'Usage: relevo <command> [arguments] [options]',
    '',
    'Server:',
    ...entries(server),
    '',
    'Administration (acts directly on the database named by DATABASE_URL; prints JSON):',
    ...entries(admin),
    '',
    'Options:',
    ...table([
      ['-h, --help', "show help; after a command, that command's help"],
      ['-v, --version', 'print the version'],
    ]),
    '',
    'Configuration comes from the environment: PORT, HOST, DATABASE_URL, RELEVO_ADMIN_TOKEN,',
    'LOG_LEVEL and the other keys listed in the README.',
  ].join('\n');
}

function groupUsage(group: string): string {
  const commands = COMMANDS.filter((c) => c.name.startsWith(`${group} `));
  return [
    `Usage: relevo ${group} <command> [arguments] [options]`,
    '',
    ...entries(commands),
    '',
    `Run 'relevo ${group} <command> --help' for the options of each.`,
  ].join('\n');
}

function commandHelp(c: Command): string {
  const options: Array<readonly [string, string]> = [
    ...(c.optionHelp ?? []),
    ['--json', 'print JSON'],
    ['-h, --help', 'show this help'],
  ];
  return [
    `Usage: ${commandLine(c)}`,
    '',
    `${c.summary}.`,
    ...(c.details === undefined ? [] : ['', c.details]),
    '',
    'Options:',
    ...table(options),
  ].join('\n');
}

/** Finds the command the words name; `rest` is what follows the command's name. */
function resolve(argv: readonly string[]): { command: Command; rest: string[] } | undefined {
  // Three words first (`bots engine set`), then two, then one.
  const three = `${argv[0]} ${argv[1]} ${argv[2]}`;
  const byThree = COMMANDS.find((c) => c.name === three);
  if (byThree !== undefined) return { command: byThree, rest: argv.slice(3) };
  const two = `${argv[0]} ${argv[1]}`;
  const byTwo = COMMANDS.find((c) => c.name === two);
  if (byTwo !== undefined) return { command: byTwo, rest: argv.slice(2) };
  const byOne = COMMANDS.find((c) => c.name === argv[0]);
  if (byOne !== undefined) return { command: byOne, rest: argv.slice(1) };
  return undefined;
}

function parse(
  command: Command,
  rest: string[],
): { help: boolean; positionals: string[]; values: Record<string, string | boolean | undefined> } {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: rest,
      options: { ...command.options, help: { type: 'boolean', short: 'h' }, json: { type: 'boolean' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message : String(e), command);
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  if (values.help === true) return { help: true, positionals: [], values };
  const { positionals } = parsed;
  if (positionals.length < command.args.length) {
    const missing = command.args.slice(positionals.length).map((a) => `<${a}>`);
    throw new UsageError(`missing ${missing.join(' ')}`, command);
  }
  if (positionals.length > command.args.length) {
    throw new UsageError(`unexpected argument '${positionals[command.args.length]}'`, command);
  }
  const choice = positionals[0] ?? '';
  if (command.choices !== undefined && !command.choices.includes(choice)) {
    throw new UsageError(
      `<${command.args[0]}> must be one of ${command.choices.join(', ')}, not '${choice}'`,
      command,
    );
  }
  for (const name of command.required ?? []) {
    if (values[name] === undefined) throw new UsageError(`--${name} is required`, command);
  }
  return { help: false, positionals, values };
}

/** One line, whatever the message holds. */
const oneLine = (text: string): string => text.replace(/\s*\n\s*/g, ' ').trim();

export async function run(argv: readonly string[], io: CliIo): Promise<number> {
  connectParties();
  const out = (text: string) => io.stdout(`${text}\n`);
  const err = (text: string) => io.stderr(`${text}\n`);
  const first = argv[0];

  if (first === undefined) {
    err(usage());
    return 2;
  }
  if (HELP_FLAGS.has(first) || first === 'help') {
    out(usage());
    return 0;
  }
  if (first === '-v' || first === '--version') {
    out(argv.includes('--json') ? JSON.stringify({ version: VERSION }) : VERSION);
    return 0;
  }

  const found = resolve(argv);
  if (found === undefined) {
    if (GROUPS.includes(first)) {
      const second = argv[1];
      if (second !== undefined && HELP_FLAGS.has(second)) {
        out(groupUsage(first));
        return 0;
      }
      err(
        second === undefined
          ? `relevo: ${first} needs a command`
          : `relevo: unknown command '${first} ${second}'`,
      );
      err(groupUsage(first));
      return 2;
    }
    err(`relevo: unknown command '${first}'`);
    err(usage());
    return 2;
  }

  const { command, rest } = found;
  let config: Config | undefined;
  let json = false;
  const ctx: CliContext = {
    config: () => {
      config ??= loadConfig(io.env);
      return config;
    },
    out,
    err,
    printJson: (value) => out(io.isTty === true ? JSON.stringify(value, null, 2) : JSON.stringify(value)),
    get json() {
      return json;
    },
    // \r and the erase-line sequence rewrite one line in place; nothing at all off a terminal.
    progress: (text) => {
      if (io.stderrIsTty === true) io.stderr(`\r\x1b[2K${text ?? ''}`);
    },
    signals: io.signals,
  };

  try {
    const args = parse(command, rest);
    json = args.values.json === true;
    if (args.help) {
      out(commandHelp(command));
      return 0;
    }
    return await command.run(ctx, args);
  } catch (e) {
    if (e instanceof UsageError) {
      err(`relevo: ${oneLine(e.message)} (see 'relevo ${e.command?.name ?? ''} --help')`);
      return 2;
    }
    if (e instanceof ConfigError) {
      err(`relevo: ${oneLine(e.message)}`);
      return 1;
    }
    if (e instanceof ApiError) {
      // The same refusal the admin API would give, with its code for scripts to match on.
      err(`relevo: ${oneLine(e.description)} (${e.code})`);
      return e.code === 'unprocessable_entity' ? 2 : 1;
    }
    err(`relevo: ${oneLine(e instanceof Error ? e.message : String(e))}`);
    return 1;
  }
}
