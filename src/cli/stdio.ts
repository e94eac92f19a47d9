/**
 * Output that survives process.exit(): a pipe holds 64 KiB, and what does not fit waits in the
 * stream's buffer, which process.exit() throws away. `raftkv get big | wc -c` printed 65,536 bytes
 * and exited 0. So the CLI waits until both streams have handed everything to the OS.
 */
export function flushStdio(): Promise<void> {
  return Promise.all([flush(process.stdout), flush(process.stderr)]).then(() => undefined);
}

function flush(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (stream.destroyed || !stream.writable) {
      resolve();
      return;
    }
    // The callback of an empty write runs once every earlier write has been flushed (or failed).
    stream.write('', () => resolve());
  });
}

/** Exit status of a process whose reader went away, as if killed by SIGPIPE (what `yes | head` gives). */
export const EXIT_BROKEN_PIPE = 141;

/**
 * When the reader of stdout closes early (`raftkv range "" | head -1`), stop quietly with the
 * broken-pipe status instead of dying on an unhandled EPIPE error with a stack trace.
 */
export function exitQuietlyOnBrokenPipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(EXIT_BROKEN_PIPE);
      throw e;
    });
  }
}
