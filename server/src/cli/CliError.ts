/** Machine-readable reason of a {@link CliError}. See `docs/cli.md` and `docs/errors.md`. */
export type CliErrorCode =
  /** Unknown command or option, a missing or malformed option value, conflicting arguments. */
  | 'CLI_USAGE'
  /** The input (or calibration) file does not exist. */
  | 'CLI_INPUT_NOT_FOUND'
  /** The input (or calibration) file exists but cannot be read (a directory, no permission, …). */
  | 'CLI_INPUT_UNREADABLE'
  /** The input is neither hand-frame JSON Lines nor an IWER capture. */
  | 'CLI_UNKNOWN_FORMAT'
  /** The calibration file is not valid JSON or does not follow the calibration format. */
  | 'CLI_BAD_CALIBRATION'
  /** The output file could not be written. */
  | 'CLI_OUTPUT_FAILED'
  /** `serve`: the port is taken by another program. */
  | 'SERVE_PORT_IN_USE'
  /** `serve`: the port needs privileges this process lacks (below 1024). */
  | 'SERVE_PORT_FORBIDDEN'
  /** `serve`: `--host` is not an address of this machine (or does not resolve). */
  | 'SERVE_HOST_UNAVAILABLE'
  /** `serve`: `--cert` or `--key` cannot be read. */
  | 'SERVE_TLS_FILE'
  /** `serve`: the certificate or key is not valid PEM, or they do not belong together (swapped?). */
  | 'SERVE_TLS_INVALID'
  /** `serve`: the recordings folder cannot be created (a file is in the way, no permission, …). */
  | 'SERVE_RECORDINGS_DIR';

/** Exit code of a successful run. */
export const EXIT_OK = 0;
/** Exit code of a failure that is not the caller's fault: unexpected errors, output I/O errors. */
export const EXIT_FAILURE = 1;
/** Exit code of a usage error or bad input (arguments, input file, calibration file). */
export const EXIT_USAGE = 2;

/**
 * An expected failure of the command line: reported as `dexbridge: <code>: <message>` without a
 * stack trace. `exitCode` is 2 for usage and input errors, 1 for output errors and for `serve`
 * start-up failures (`SERVE_*`, whose message ends with a hint).
 */
export class CliError extends Error {
  override readonly name = 'CliError';
  readonly code: CliErrorCode;
  readonly exitCode: number;

  constructor(code: CliErrorCode, message: string) {
    super(message);
    this.code = code;
    this.exitCode = code === 'CLI_OUTPUT_FAILED' || code.startsWith('SERVE_') ? EXIT_FAILURE : EXIT_USAGE;
  }
}
