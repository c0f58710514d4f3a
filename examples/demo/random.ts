/**
 * A small seeded pseudo-random generator, so a demo run can be repeated exactly: the same
 * `--seed` and `--apps` give the same workers, sessions, crashes and requests, tick for tick.
 *
 * `Math.random()` cannot be seeded, and a dependency for forty lines is not worth it. The core
 * is mulberry32 (a public-domain 32-bit generator): fast, well spread for simulation, and
 * certainly not for cryptography.
 *
 * @packageDocumentation
 */

/** The largest seed accepted: seeds are unsigned 32-bit integers. */
export const MAX_SEED = 0xffff_ffff;

/** A seeded source of random numbers and the few distributions the simulator draws from. */
export class SeededRandom {
  private state: number;

  /** `seed`: an integer 0 … 2^32-1. Two generators with the same seed give the same sequence. */
  constructor(seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed > MAX_SEED) {
      throw new TypeError(`SeededRandom: seed must be an integer 0 … ${MAX_SEED}, got ${String(seed)}`);
    }
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** An integer in [min, max], both included. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** One element of a non-empty array, chosen uniformly. */
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)] as T;
  }

  /**
   * A Poisson count with mean `mean` (Knuth's method; the simulator's means are small).
   * Arrivals that happen independently at a steady rate (sessions, requests) follow it.
   */
  poisson(mean: number): number {
    if (!(mean > 0)) return 0;
    const limit = Math.exp(-mean);
    let k = 0;
    let p = this.next();
    while (p > limit) {
      k += 1;
      p *= this.next();
    }
    return k;
  }

  /**
   * A log-normal draw with the given median and spread (`sigma`, the standard deviation of the
   * logarithm). Latencies and durations are long-tailed like this: most are near the median, a
   * few are many times slower.
   */
  logNormal(median: number, sigma: number): number {
    // Box-Muller; 1 - next() is in (0, 1], so the logarithm is finite.
    const u = 1 - this.next();
    const v = this.next();
    const normal = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    return median * Math.exp(sigma * normal);
  }
}
