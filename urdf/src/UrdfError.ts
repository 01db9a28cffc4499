/**
 * The one error type the URDF parser throws. Every failure carries a stable `code` that callers can
 * switch on; the message is for humans and always starts with `urdf: `.
 */

/** Every code a {@link UrdfError} can carry. See `docs/errors.md` for when each is raised. */
export const URDF_ERROR_CODES = [
  'URDF_XML_INVALID',
  'URDF_NO_ROBOT',
  'URDF_MISSING_ATTRIBUTE',
  'URDF_MISSING_ELEMENT',
  'URDF_BAD_NUMBER',
  'URDF_DUPLICATE_NAME',
  'URDF_UNKNOWN_JOINT_TYPE',
  'URDF_MISSING_PARENT',
  'URDF_MISSING_CHILD',
  'URDF_MULTIPLE_PARENTS',
  'URDF_NO_ROOT',
  'URDF_MULTIPLE_ROOTS',
  'URDF_CYCLE',
  'URDF_MISSING_LIMIT',
  'URDF_BAD_LIMIT',
  'URDF_MIMIC_UNKNOWN_JOINT',
  'URDF_MIMIC_LOOP',
  'URDF_UNKNOWN_GEOMETRY',
] as const;

/** Machine-readable reason for a {@link UrdfError}. */
export type UrdfErrorCode = (typeof URDF_ERROR_CODES)[number];

/** Optional details about where a {@link UrdfError} happened. */
export interface UrdfErrorContext {
  /** The URDF element kind involved, e.g. `'joint'`, `'link'`, `'material'`. */
  readonly element?: string | undefined;
  /** The `name` of the offending element, e.g. the joint's name. */
  readonly elementName?: string | undefined;
  /** 1-based line in the source text (XML well-formedness errors only). */
  readonly line?: number | undefined;
  /** 1-based column in the source text (XML well-formedness errors only). */
  readonly column?: number | undefined;
  /** The underlying error, when one was caught. */
  readonly cause?: unknown;
}

/** Thrown by `parseUrdf` for every malformed or inconsistent URDF document. */
export class UrdfError extends Error {
  override readonly name = 'UrdfError';
  readonly code: UrdfErrorCode;
  /** The URDF element kind involved, e.g. `'joint'`, when known. */
  readonly element: string | undefined;
  /** The `name` of the offending element, when known. */
  readonly elementName: string | undefined;
  /** 1-based line in the source text, when known. */
  readonly line: number | undefined;
  /** 1-based column in the source text, when known. */
  readonly column: number | undefined;

  /**
   * @param code Machine-readable reason.
   * @param detail Human-readable description including the actual values; `urdf: ` is prepended.
   * @param context Optional location details.
   */
  constructor(code: UrdfErrorCode, detail: string, context: UrdfErrorContext = {}) {
    super(`urdf: ${detail}`, context.cause === undefined ? undefined : { cause: context.cause });
    this.code = code;
    this.element = context.element;
    this.elementName = context.elementName;
    this.line = context.line;
    this.column = context.column;
  }
}
