// The chaos tier's randomness: every file prints its seed, and CHAOS_SEED replays a run.

/** The run's seed, printed with the file's name: CHAOS_SEED if given, else a fresh one. */
export function chaosSeed(file: string): number {
  const seed = process.env.CHAOS_SEED ? Number(process.env.CHAOS_SEED) : Math.floor(Math.random() * 2 ** 31);
  console.log(`${file}: CHAOS_SEED=${seed}`);
  return seed;
}

/** mulberry32: small, seedable, good enough to pick kill points, fault orders and operations. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
