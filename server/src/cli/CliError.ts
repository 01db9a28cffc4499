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
  | 'CLI_OUTPUT_FAILED';

/** Exit code of a successful run. */
export const EXIT_OK = 0;
/** Exit code of a failure that is not the caller's fault: unexpected errors, output I/O errors. */
export const EXIT_FAILURE = 1;
/** Exit code of a usage error or bad input (arguments, input file, calibration file). */
export const EXIT_USAGE = 2;

/**
 * An expected failure of the command line: reported as `dexbridge: <code>: <message>` without a
 * stack trace. `exitCode` is 2 for usage and input errors, 1 for output errors.
 */
export class CliError extends Error {
  override readonly name = 'CliError';
  readonly code: CliErrorCode;
  readonly exitCode: number;

  constructor(code: CliErrorCode, message: string) {
    super(message);
    this.code = code;
    this.exitCode = code === 'CLI_OUTPUT_FAILED' ? EXIT_FAILURE : EXIT_USAGE;
  }
}
