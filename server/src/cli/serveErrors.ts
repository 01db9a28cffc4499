/**
 * `serve` start-up failures as coded errors with a hint (docs/errors.md, "serve start-up"):
 * the operating system's errno text alone ("listen EADDRINUSE …") tells a lab what broke, not
 * what to do.
 */
import { CliError } from './CliError.js';

/** Where start-up was when it failed, for the message. */
export interface ServeStartContext {
  readonly host: string;
  readonly port: number;
  readonly cert?: string;
  readonly key?: string;
  readonly recordingsDir: string;
}

interface SystemError {
  readonly code?: string;
  readonly syscall?: string;
  readonly path?: string;
  readonly message: string;
}

const asSystemError = (err: unknown): SystemError =>
  typeof err === 'object' && err !== null && 'message' in err ? (err as SystemError) : { message: String(err) };

/**
 * The coded error for a failure of `startDexbridge`, or undefined when it is not one `serve`
 * knows (then it is reported as unexpected).
 */
export function serveStartError(err: unknown, c: ServeStartContext): CliError | undefined {
  if (err instanceof CliError) return err;
  const e = asSystemError(err);
  if (e.syscall === 'listen' || e.code === 'EADDRINUSE' || e.code === 'EADDRNOTAVAIL') {
    if (e.code === 'EADDRINUSE') return new CliError('SERVE_PORT_IN_USE', `serve: port ${c.port} on ${c.host} is in use by another program; stop it, or try --port 0 (any free port) or another --port`);
    if (e.code === 'EACCES') return new CliError('SERVE_PORT_FORBIDDEN', `serve: port ${c.port} needs privileges (ports below 1024); try --port 8080`);
    if (e.code === 'EADDRNOTAVAIL') {
      return new CliError('SERVE_HOST_UNAVAILABLE', `serve: --host ${c.host} is not an address of this machine; try --host 127.0.0.1 (this machine) or --host 0.0.0.0 (every interface)`);
    }
  }
  if (e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN') {
    return new CliError('SERVE_HOST_UNAVAILABLE', `serve: --host ${c.host} does not resolve to an address (${e.code}); try --host 127.0.0.1 or --host 0.0.0.0`);
  }
  if (e.syscall === 'open' && e.path !== undefined && (e.path === c.cert || e.path === c.key)) {
    const which = e.path === c.cert ? '--cert' : '--key';
    return new CliError('SERVE_TLS_FILE', `serve: cannot read ${which} ${e.path} (${e.code ?? e.message}); check the path, or use --tls for a generated certificate`);
  }
  if (/PEM|x509|key values mismatch|bad decrypt|DECODER|asn1|certificate/i.test(e.message) && (c.cert !== undefined || c.key !== undefined)) {
    return new CliError('SERVE_TLS_INVALID', `serve: the certificate or key is not usable (${e.message}); --cert must be the PEM certificate and --key its PEM private key (swapped?)`);
  }
  if (e.path !== undefined && (e.syscall === 'mkdir' || e.syscall === 'stat' || e.syscall === 'access') && (e.path === c.recordingsDir || e.path.startsWith(c.recordingsDir))) {
    return new CliError('SERVE_RECORDINGS_DIR', `serve: cannot use the recordings folder ${c.recordingsDir} (${e.code ?? e.message}: a file in the way or no permission); choose another --recordings, or --record off`);
  }
  return undefined;
}
