/** A plain decimal number (`8080`, `-1.5`, `.5`): what a number option on the command line may be. */
const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)$/;

/**
 * The number a command-line value writes in plain decimals, or NaN: `Number()` alone also reads
 * `0x50` as 80, `1e3` as 1000, `0b1`, `Infinity`, and `''` or spaces as 0.
 */
export function parseDecimal(text: string): number {
  return DECIMAL.test(text) ? Number(text) : Number.NaN;
}
