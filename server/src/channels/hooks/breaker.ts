/**
 * A consecutive-failure circuit breaker. Closed: calls go through. After `failures` failures in a
 * row it opens: calls are refused at once for `cooldownMs`, so a backend that is down costs the
 * clients no timeout each. Then one trial call is let through (half-open): its success closes the
 * breaker, its failure opens it for another cooldown.
 */
export class CircuitBreaker {
  private consecutive = 0;
  private openUntil = 0;
  private trialInFlight = false;

  constructor(
    private readonly failures: number,
    private readonly cooldownMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether a call may go now; a `true` in half-open state reserves the single trial. */
  allow(): boolean {
    if (this.consecutive < this.failures) return true;
    if (this.now() < this.openUntil || this.trialInFlight) return false;
    this.trialInFlight = true;
    return true;
  }

  succeeded(): void {
    this.consecutive = 0;
    this.trialInFlight = false;
  }

  failed(): void {
    this.consecutive++;
    this.trialInFlight = false;
    if (this.consecutive >= this.failures) this.openUntil = this.now() + this.cooldownMs;
  }

  /** 'closed', 'open' (refusing) or 'half_open' (cooldown over, next call is the trial). */
  state(): 'closed' | 'open' | 'half_open' {
    if (this.consecutive < this.failures) return 'closed';
    return this.now() < this.openUntil ? 'open' : 'half_open';
  }
}
