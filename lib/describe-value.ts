/**
 * Short, safe text for error messages: what a bad value was, and what a thrown value said.
 *
 * Rejection messages quote the bad value so a caller can find it, but the value may be
 * hostile (a huge string, a Proxy whose traps throw, a symbol): describing it must never throw
 * and never print more than a line.
 *
 * @packageDocumentation
 */

/** Describes `value` in a few words, never throwing. @internal */
export function describeValue(value: unknown): string {
  try {
    if (value === null) return 'null';
    if (typeof value === 'string') {
      return JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}…` : value);
    }
    if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
      return `${typeof value} ${String(value)}`;
    }
    if (typeof value === 'symbol') return `symbol ${value.description ?? ''}`.trim();
    if (typeof value === 'function') return 'a function';
    if (value === undefined) return 'undefined';
    if (value instanceof Date) return `Date ${value.toString()}`;
    if (Array.isArray(value)) return `an array of ${value.length}`;
    const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
    return typeof name === 'string' && name !== '' && name !== 'Object' ? `a ${name}` : 'an object';
  } catch {
    return 'an unreadable value';
  }
}

/** The message of anything thrown, never throwing itself. @internal */
export function messageOf(thrown: unknown): string {
  try {
    if (thrown instanceof Error) return thrown.message;
    return String(thrown);
  } catch {
    return 'an unprintable error';
  }
}
