/**
 * The `dexbridge` command line: `dexbridge <command> [options]`. Commands: `retarget`, `serve`, `recover`, `export`, `help`;
 * `--version`. Bare `dexbridge`, `dexbridge help [command]` and `<command> --help`/`-h` print usage and
 * return 0. Expected failures print `dexbridge: <CODE>: <message>` (no stack trace) and
 * return 2 (usage, input) or 1 (output); unexpected errors return 1. See `docs/cli.md`.
 */
import { readFileSync } from 'node:fs';
import { FormatError } from '@dexbridge/retarget';
import { CliError, EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from './CliError.js';
import { EXPORT_USAGE, exportCommand } from './exportCommand.js';
import type { CliIo } from './io.js';
import { RECOVER_USAGE, recoverCommand } from './recoverCommand.js';
import { RETARGET_USAGE, retargetCommand } from './retargetCommand.js';
import { SERVE_USAGE, serveCommand } from './serveCommand.js';

export type { CliIo, TextSink } from './io.js';

const USAGE = `Usage: dexbridge <command> [options]

Commands:
  serve [--demo] [options]                run the bridge (WebSocket, dashboard, recording, ROS)
  recover <file.mcap> [--out <file>]      make a valid MCAP from one cut by a crash
  retarget <input> [--out <file.jsonl>]   retarget a recorded hand-tracking session
  retarget --demo                         retarget the bundled Quest 3 session
  export <recordings...> --out <dir> [--format lerobot] [--fps 30] [--all]
                                          write recordings as a LeRobotDataset v3.0
  help [command]                          show help

Options:
  -h, --help                              show help
  -v, --version                           print the version

Run 'dexbridge help <command>' for its options. Docs: docs/cli.md
`;

const HINT = "run 'dexbridge help' for usage";

/** The version of `@dexbridge/server` (`package.json` is two levels above both `src/cli` and `dist/cli`). */
function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : 'unknown';
}

const HELP_USAGE = `Usage: dexbridge help [command]

Prints the usage of dexbridge, or of one command (serve, recover, retarget, export, help).
'dexbridge <command> --help' (or -h) does the same.
`;

const COMMAND_USAGE: Readonly<Record<string, string>> = {
  retarget: RETARGET_USAGE,
  serve: SERVE_USAGE,
  recover: RECOVER_USAGE,
  export: EXPORT_USAGE,
  help: HELP_USAGE,
};

/** `--help` or `-h` among a command's arguments, before a `--` that ends the options. */
function asksForHelp(args: readonly string[]): boolean {
  for (const a of args) {
    if (a === '--') return false;
    if (a === '--help' || a === '-h') return true;
  }
  return false;
}

async function run(argv: readonly string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined) {
    io.stdout.write(USAGE);
    return EXIT_OK;
  }
  const commandUsage = Object.hasOwn(COMMAND_USAGE, command) ? COMMAND_USAGE[command] : undefined;
  if (commandUsage !== undefined && command !== 'help' && asksForHelp(rest)) {
    io.stdout.write(commandUsage);
    return EXIT_OK;
  }
  switch (command) {
    case 'retarget':
      return retargetCommand(rest, io);
    case 'serve':
      return serveCommand(rest, io);
    case 'recover':
      return recoverCommand(rest, io);
    case 'export':
      return exportCommand(rest, io);
    case 'help':
    case '--help':
    case '-h': {
      const topic = rest[0];
      if (topic === undefined) {
        io.stdout.write(USAGE);
        return EXIT_OK;
      }
      // `help --help` is `<command> --help` for the command help; `--help --help` is plain `--help`.
      if (topic === '--help' || topic === '-h') {
        io.stdout.write(command === 'help' ? HELP_USAGE : USAGE);
        return EXIT_OK;
      }
      const text = Object.hasOwn(COMMAND_USAGE, topic) ? COMMAND_USAGE[topic] : undefined;
      if (text === undefined) throw new CliError('CLI_USAGE', `no help for unknown command ${JSON.stringify(topic)}`);
      io.stdout.write(text);
      return EXIT_OK;
    }
    case '--version':
    case '-v':
      io.stdout.write(`dexbridge ${version()}\n`);
      return EXIT_OK;
    default:
      throw new CliError(
        'CLI_USAGE',
        command.startsWith('-') ? `unknown option ${JSON.stringify(command)}` : `unknown command ${JSON.stringify(command)}`,
      );
  }
}

/**
 * Runs the command line.
 *
 * @param argv the arguments after the program name (`process.argv.slice(2)`)
 * @param io where to write; default `process.stdout` and `process.stderr`
 * @returns the exit code: 0 success, 1 output failure or unexpected error, 2 usage or input error
 */
export async function main(argv: readonly string[], io: CliIo = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  try {
    return await run(argv, io);
  } catch (err) {
    if (err instanceof CliError) {
      io.stderr.write(`dexbridge: ${err.code}: ${err.message}${err.code === 'CLI_USAGE' ? `\n${HINT}` : ''}\n`);
      return err.exitCode;
    }
    if (err instanceof FormatError) {
      io.stderr.write(`dexbridge: ${err.code}: ${err.message}\n`);
      return EXIT_USAGE;
    }
    const message = err instanceof Error ? err.message : String(err);
    io.stderr.write(`dexbridge: unexpected error: ${message}\n`);
    return EXIT_FAILURE;
  }
}
