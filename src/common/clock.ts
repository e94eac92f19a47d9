/** Time port for drivers (not cores: cores get ticks). Monotonic milliseconds. */
export interface Clock {
  nowMs(): number;
}

export const systemClock: Clock = {
  nowMs: () => performance.now(),
};
