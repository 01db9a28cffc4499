/** Turning `node:util` `parseArgs` errors into `CLI_USAGE`. */
import { CliError } from './CliError.js';

/**
 * A `CLI_USAGE` error from a `parseArgs` failure (unknown option, missing value, unexpected
 * positional), keeping the first sentence of Node's message, which names the option.
 */
export function usageFromParseError(command: string, err: unknown): CliError {
  const message = err instanceof Error ? err.message : String(err);
  // Node's messages go on with advice about "--"; the first sentence names the problem.
  const first = message.split(/\.\s/)[0]!.replace(/\.$/, '');
  return new CliError('CLI_USAGE', `${command}: ${first}`);
}
