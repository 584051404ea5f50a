import { describe, expect, it } from 'vitest';
import { TokenBucket, type Clock } from './rate-limit.js';

/** A fake clock: a sleep is recorded and ends after a tick, with the time moved on to its end. */
function fakeClock(): Clock & { sleeps: number[]; t: number } {
  const c = {
    t: 1_000_000,
    sleeps: [] as number[],
    now: () => c.t,
    sleep: async (ms: number) => {
      c.sleeps.push(ms);
      const end = c.t + ms;
      await Promise.resolve();
      c.t = Math.max(c.t, end);
    },
  };
  return c;
}

describe('TokenBucket', () => {
  it('lets a burst through at once, then has each waiter sleep exactly once, until its own token', async () => {
    const clock = fakeClock();
    const bucket = new TokenBucket(10, 2, clock);
    await Promise.all(Array.from({ length: 6 }, () => bucket.take()));
    // Two from the burst; the other four reserve the tokens due at 100, 200, 300 and 400 ms.
    expect(clock.sleeps).toEqual([100, 200, 300, 400]);
  });

  it('refills at qps up to burst, never beyond', async () => {
    const clock = fakeClock();
    const bucket = new TokenBucket(10, 3, clock);
    for (let i = 0; i < 3; i++) await bucket.take();
    clock.t += 10_000; // long idle: refills to 3, not 100
    for (let i = 0; i < 4; i++) await bucket.take();
    expect(clock.sleeps).toEqual([100]);
  });

  it('gives an aborted waiter\'s token back', async () => {
    const clock = fakeClock();
    const bucket = new TokenBucket(10, 1, clock);
    await bucket.take();
    const ctl = new AbortController();
    ctl.abort();
    await bucket.take(ctl.signal); // reserved the token due at 100 ms, then gave it back
    await bucket.take(); // so at 100 ms one is there, without waiting
    expect(clock.sleeps).toEqual([100]);
  });

  it('holds the rate with real timers: n takes past the burst last at least (n - burst) / qps', async () => {
    const bucket = new TokenBucket(200, 5, { now: Date.now, sleep: (ms) => new Promise((r) => setTimeout(r, ms)) });
    const start = performance.now();
    await Promise.all(Array.from({ length: 25 }, () => bucket.take()));
    // A lower bound only (sleeping never ends early); timers may fire up to 1 ms early in Node.
    expect(performance.now() - start).toBeGreaterThanOrEqual((20 / 200) * 1000 - 20);
  });
});
