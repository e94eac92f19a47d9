/** A timer that can be cancelled; cancelling twice, or after it ran, does nothing. */
export interface Timer {
  cancel(): void;
}

export interface TimerOptions {
  /** A background timer does not keep the process alive (setInterval(...).unref()). */
  readonly background?: boolean;
}

/**
 * Timers port for drivers (not cores: cores get ticks). Production uses the process's timers; the
 * simulation a virtual scheduler, so every timer-driven path runs on simulated time.
 */
export interface Timers {
  /** Runs `task` once after `delayMs`. */
  after(delayMs: number, task: () => void, opts?: TimerOptions): Timer;
  /** Runs `task` every `periodMs` until cancelled. */
  every(periodMs: number, task: () => void, opts?: TimerOptions): Timer;
}

export const systemTimers: Timers = {
  after(delayMs, task, opts) {
    const t = setTimeout(task, delayMs);
    if (opts?.background) t.unref();
    return { cancel: () => clearTimeout(t) };
  },
  every(periodMs, task, opts) {
    const t = setInterval(task, periodMs);
    if (opts?.background) t.unref();
    return { cancel: () => clearInterval(t) };
  },
};
