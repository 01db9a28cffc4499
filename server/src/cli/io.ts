/** Where the command line writes text: `process.stdout`/`process.stderr`, or an in-memory sink in tests. */
export interface TextSink {
  write(text: string): unknown;
}

/** The command line's output streams. */
export interface CliIo {
  readonly stdout: TextSink;
  readonly stderr: TextSink;
}
