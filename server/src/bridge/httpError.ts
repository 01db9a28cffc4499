/** An HTTP failure with its status and a stable code (`{"error": {code, message}}` on the wire). */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
