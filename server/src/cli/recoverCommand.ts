/** `dexbridge recover <file.mcap>`: a valid MCAP from a recording cut short by a crash. */
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { RecordingError, recoverMcap } from '../recording/index.js';
import { usageFromParseError } from './args.js';
import { CliError, EXIT_OK } from './CliError.js';
import type { CliIo } from './io.js';

export const RECOVER_USAGE = `Usage: dexbridge recover <file.mcap> [--out <file.mcap>]

Reads a recording that was cut short (power loss, kill -9: no footer, a torn last chunk) and
writes a valid, indexed MCAP with every complete record. The input is left untouched.

Options:
  --out <file.mcap>   where to write (default: <file>.recovered.mcap; never overwrites)
`;

export async function recoverCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const parse = () => parseArgs({ args: [...argv], options: { out: { type: 'string' } }, allowPositionals: true, strict: true });
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse();
  } catch (err) {
    throw usageFromParseError('recover', err);
  }
  const input = parsed.positionals[0];
  if (input === undefined || parsed.positionals.length > 1) throw new CliError('CLI_USAGE', 'recover: give exactly one recording file');
  if (!existsSync(input)) throw new CliError('CLI_INPUT_NOT_FOUND', `recover: no file ${input}`);
  if (!statSync(input).isFile()) throw new CliError('CLI_INPUT_UNREADABLE', `recover: ${input} is not a regular file`);
  try {
    accessSync(input, constants.R_OK);
  } catch (err) {
    throw new CliError('CLI_INPUT_UNREADABLE', `recover: cannot read ${input}: ${(err as Error).message}`);
  }
  const out = parsed.values.out ?? input.replace(/\.mcap$/i, '') + '.recovered.mcap';
  if (existsSync(out)) throw new CliError('CLI_USAGE', `recover: ${out} exists; give another --out`);
  let r: Awaited<ReturnType<typeof recoverMcap>>;
  try {
    r = await recoverMcap(input, out);
  } catch (err) {
    throw recoverError(err);
  }
  // Times are nanosecond BigInts: print them as decimal strings.
  const report = JSON.stringify(r, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2);
  io.stdout.write(`dexbridge recover: ${input} → ${out}\n${report}\n`);
  return EXIT_OK;
}

/**
 * The CLI code of a failed recovery, the recording layer's code kept in the message. The input
 * was checked readable above, so what remains is its format (exit 2) or the output (exit 1).
 */
function recoverError(err: unknown): unknown {
  if (!(err instanceof RecordingError)) return err;
  const code = err.code === 'RECORDING_NOT_MCAP' ? 'CLI_UNKNOWN_FORMAT' : err.code === 'RECORDING_FILE_EXISTS' ? 'CLI_USAGE' : 'CLI_OUTPUT_FAILED';
  return new CliError(code, `recover: ${err.code}: ${err.message}`);
}
