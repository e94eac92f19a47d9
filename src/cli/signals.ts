/**
 * SIGINT/SIGTERM handling shared by `raftkv serve` and `npm start`: the first signal stops
 * gracefully, a later one forces. One Ctrl-C can arrive twice within milliseconds (the terminal
 * signals the whole foreground process group, and npm forwards the signal to its child as well), so
 * a repeat within DUPLICATE_SIGNAL_WINDOW_MS is the same interrupt, not a second one.
 */
export const DUPLICATE_SIGNAL_WINDOW_MS = 500;

/** What stops `npm start` (SIGHUP too: its terminal went away). */
export const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
/** What stops `raftkv serve`: SIGHUP is not among them, it re-reads the TLS certificates. */
export const SERVE_STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];

export interface StopHandlers {
  readonly graceful: (signal: NodeJS.Signals) => void;
  readonly forced: (signal: NodeJS.Signals) => void;
}

/** Installs the handlers; returns a function that removes them. */
export function onStopSignals(h: StopHandlers, signals: readonly NodeJS.Signals[] = STOP_SIGNALS, now: () => number = Date.now): () => void {
  let firstAtMs: number | null = null;
  const onSignal = (signal: NodeJS.Signals): void => {
    const t = now();
    if (firstAtMs === null) {
      firstAtMs = t;
      h.graceful(signal);
    } else if (t - firstAtMs > DUPLICATE_SIGNAL_WINDOW_MS) {
      h.forced(signal);
    }
  };
  for (const s of signals) process.on(s, onSignal);
  return () => {
    for (const s of signals) process.removeListener(s, onSignal);
  };
}
