// Client-side rate limiting, as client-go's flowcontrol token bucket: `qps` tokens a second, up to
// `burst` saved. A caller that finds no token reserves the next one (the count goes below zero)
// and sleeps once, until its own token is due, so waiters are served in the order they came. The
// earlier version had every waiter sleep until the next token and race for it again: no order
// (a waiter could lose every race), and each token woke them all. On 1,000 x 10 at the sidecar's
// qps 100 the two cost the same CPU (10-14 s, test/bench/results/sync-scale.md): few requests wait
// at once there.

export interface Clock {
  now: () => number;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly qps: number,
    private readonly burst: number,
    private readonly clock: Clock,
  ) {
    this.tokens = burst;
    this.last = clock.now();
  }

  async take(signal?: AbortSignal): Promise<void> {
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.qps);
    this.last = now;
    this.tokens -= 1;
    if (this.tokens >= 0) return;
    await this.clock.sleep(Math.ceil((-this.tokens / this.qps) * 1000), signal);
    // An aborted waiter gives its reservation back (the request it was for is not sent).
    if (signal?.aborted) this.tokens += 1;
  }
}
