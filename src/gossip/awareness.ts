/**
 * Lifeguard local health awareness (memberlist awareness.go): a score in [0, max - 1] that grows when
 * we appear to be the slow one (missed nacks, accusations we had to refute, our own stalls) and shrinks
 * with each successful probe. Our timeouts are multiplied by score + 1, so a sick node slows its own
 * judgement of others instead of accusing them.
 */
export class Awareness {
  private score = 0;

  constructor(private readonly maxMultiplier: number) {}

  apply(delta: number): void {
    this.score = Math.min(this.maxMultiplier - 1, Math.max(0, this.score + delta));
  }

  get healthScore(): number {
    return this.score;
  }

  scaleMs(timeoutMs: number): number {
    return timeoutMs * (this.score + 1);
  }
}
