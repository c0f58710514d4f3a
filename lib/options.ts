/**
 * The option checks every constructor and set-up function shares, written once.
 *
 * Misconfiguration fails fast, at construction, with a `TypeError` in one style:
 * `owner: name must be <what it must be>, got <the value, described>`, and an unknown option
 * always lists the known ones, so a misspelt name is found at a glance. Secrets (a bearer
 * token) are never quoted: their checks describe the value's shape instead.
 *
 * @packageDocumentation
 */
import type { Registry } from 'prom-client';
import { describeValue } from './describe-value';

/**
 * The longest delay Node's timers keep: 2^31-1 ms, about 24.8 days. A longer one fires after
 * 1 ms instead, so every period and timeout option is bounded by it.
 * @internal
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Whether `value` is a prom-client `Registry` (or something that behaves as one: a registry of
 * another copy of prom-client, which `instanceof` would refuse). The one registry check of the
 * library: everything that takes a registry reads these methods of it.
 * @internal
 */
export function isRegistry(value: unknown): value is Registry {
  try {
    const r = value as Partial<Registry> | null;
    return (
      r !== null &&
      typeof r === 'object' &&
      typeof r.registerMetric === 'function' &&
      typeof r.getSingleMetric === 'function' &&
      typeof r.getMetricsAsArray === 'function' &&
      typeof r.getMetricsAsJSON === 'function' &&
      typeof r.metrics === 'function'
    );
  } catch {
    return false;
  }
}

/**
 * The checks of one API's options, each failing with a `TypeError` that starts with the API's
 * name. Create one per call being checked: `const check = new OptionChecks('serveMetrics')`.
 * @internal
 */
export class OptionChecks {
  constructor(private readonly owner: string) {}

  /** Throws `owner: message` as a `TypeError`. */
  fail(message: string): never {
    throw new TypeError(`${this.owner}: ${message}`);
  }

  /** Throws the one message of the library for a bad value: `name must be expected, got value`. */
  reject(name: string, expected: string, value: unknown): never {
    return this.fail(`${name} must be ${expected}, got ${describeValue(value)}`);
  }

  /**
   * Checks that `options` is an object holding only `known` keys, and returns it. `shape` says
   * what the options object must be, for the message when it is not one.
   */
  object<T extends object>(options: T, known: readonly string[], shape = 'an object'): T {
    // Typed callers pass an object; the check is for everyone else.
    const value: unknown = options;
    if (value === null || typeof value !== 'object') this.reject('options', shape, value);
    for (const key of Object.keys(value)) {
      if (!known.includes(key)) this.fail(`unknown option ${describeValue(key)}; known: ${known.join(', ')}`);
    }
    return options;
  }

  /**
   * `value` is absent or an object with a method `method`: an interface checked by its shape,
   * as a Sampler, a TracerProvider or a scheduler are. `expected` names it in the message.
   */
  implementing<T>(name: string, value: T | undefined, method: string, expected: string): T | undefined {
    const v: unknown = value;
    if (
      v !== undefined &&
      (v === null || typeof v !== 'object' || typeof (v as Record<string, unknown>)[method] !== 'function')
    ) {
      this.reject(name, expected, v);
    }
    return value;
  }

  /** `value` is absent or a boolean. */
  boolean(name: string, value: unknown): boolean | undefined {
    if (value !== undefined && typeof value !== 'boolean') this.reject(name, 'a boolean', value);
    return value;
  }

  /** `value` is absent or a function; `shape` names its signature in the message. */
  func<F extends (...args: never[]) => unknown>(
    name: string,
    value: F | undefined,
    shape = 'a function',
  ): F | undefined {
    if (value !== undefined && typeof value !== 'function') this.reject(name, shape, value);
    return value;
  }

  /** `value` is absent or one of the strings `allowed`. */
  oneOf<T extends string>(name: string, value: unknown, allowed: readonly T[]): T | undefined {
    if (value !== undefined && !(allowed as readonly unknown[]).includes(value)) {
      this.reject(name, `one of ${allowed.map((a) => `"${a}"`).join(', ')}`, value);
    }
    return value as T | undefined;
  }

  /** `value` is absent or a non-empty string (not only white space). */
  nonEmptyString(name: string, value: unknown): string | undefined {
    if (value !== undefined && (typeof value !== 'string' || value.trim() === '')) {
      this.reject(name, 'a non-empty string', value);
    }
    return value;
  }

  /** `value` is absent or an integer from `min` to `max`. */
  integer(name: string, value: unknown, min: number, max: number): number | undefined {
    if (value !== undefined && !(Number.isSafeInteger(value) && (value as number) >= min && (value as number) <= max)) {
      this.reject(name, `an integer from ${min} to ${max}`, value);
    }
    return value as number | undefined;
  }

  /** `value` is absent, a positive integer, or (with `infinity`) `Infinity` for no bound. */
  positiveInteger(name: string, value: unknown, infinity = false): number | undefined {
    if (value === undefined || (infinity && value === Infinity)) return value;
    if (!(Number.isSafeInteger(value) && (value as number) > 0)) {
      this.reject(name, infinity ? 'a positive integer or Infinity' : 'a positive integer', value);
    }
    return value as number;
  }

  /**
   * `value` is absent or a number of milliseconds a Node timer can wait: above 0 (or from 0
   * with `zero`) and at most {@link MAX_TIMER_MS}, or (with `infinity`) `Infinity` for never.
   */
  milliseconds(name: string, value: unknown, { zero = false, infinity = false } = {}): number | undefined {
    if (value === undefined || (infinity && value === Infinity)) return value;
    const n = value as number;
    if (!(typeof value === 'number' && (zero ? n >= 0 : n > 0) && n <= MAX_TIMER_MS)) {
      const range = zero ? `from 0 to ${MAX_TIMER_MS}` : `above 0 (at most ${MAX_TIMER_MS})`;
      this.reject(name, `a number of milliseconds ${range}${infinity ? ' or Infinity' : ''}`, value);
    }
    return n;
  }

  /** `value` is a prom-client Registry (see {@link isRegistry}). */
  registry(name: string, value: unknown): Registry {
    if (!isRegistry(value)) this.reject(name, 'a prom-client Registry', value);
    return value;
  }
}
