/**
 * Short, safe text for error messages: what a bad value was, and what a thrown value said.
 *
 * Rejection messages quote the bad value so a caller can find it, but the value may be
 * hostile (a huge string, a Proxy whose traps throw, a symbol, an Error whose `message` is not
 * a string, an object whose `toString` throws): describing it must never throw and never print
 * more than a line. Every message the library reports is bounded here, once:
 * {@link describeValue} quotes at most 64 characters of any one part of a value
 * (`QUOTED_LENGTH`), {@link messageOf} gives at most {@link MAX_MESSAGE_LENGTH} characters, and
 * `TelemetryError` cuts its message to that length whatever it is built from.
 *
 * @packageDocumentation
 */

/**
 * The longest message the library reports (a `TelemetryError` on `errors$`, an error given to
 * `onError`): 1,024 characters, enough to find a cause, too little to flood a log.
 * @internal
 */
export const MAX_MESSAGE_LENGTH = 1024;

/** How many characters of a string, a symbol's description or a class name a description quotes. */
const QUOTED_LENGTH = 64;

/**
 * `text` cut to at most `max` characters (`max` ≥ 1), the last of them `…` when it was cut.
 * Never cuts a surrogate pair in half, so what is left is still well-formed text.
 * @internal
 */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max - 1;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return `${text.slice(0, end)}…`;
}

/** A symbol's description or a class name as one short line: the first 64 characters, line breaks as spaces. */
function shortLine(text: string): string {
  return clip(text, QUOTED_LENGTH + 1).replace(/[\r\n\u2028\u2029]/g, ' ');
}

/** Describes `value` in a few words, on one line, never throwing. @internal */
export function describeValue(value: unknown): string {
  try {
    if (value === null) return 'null';
    if (typeof value === 'string') return JSON.stringify(clip(value, QUOTED_LENGTH + 1));
    if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
      return clip(`${typeof value} ${String(value)}`, 2 * QUOTED_LENGTH);
    }
    if (typeof value === 'symbol') {
      const description: unknown = value.description;
      return typeof description === 'string' && description !== '' ? `symbol ${shortLine(description)}` : 'symbol';
    }
    if (typeof value === 'function') return 'a function';
    if (value === undefined) return 'undefined';
    // Date's own toString: a Date whose toString was replaced cannot make this throw or grow.
    if (value instanceof Date) return `Date ${Date.prototype.toString.call(value)}`;
    if (Array.isArray(value)) return `an array of ${value.length}`;
    const name: unknown = (value as { constructor?: { name?: unknown } }).constructor?.name;
    if (typeof name !== 'string' || name === '' || name === 'Object') return 'an object';
    return `${/^[AEIOU]/.test(name) ? 'an' : 'a'} ${shortLine(name)}`;
  } catch {
    return 'an unreadable value';
  }
}

/**
 * The message of anything thrown, at most {@link MAX_MESSAGE_LENGTH} characters, never
 * throwing itself: an Error's `message` when it is a string, else a description of the Error
 * and of what its `message` holds; `String(thrown)` for anything else that converts.
 * @internal
 */
export function messageOf(thrown: unknown): string {
  let text: string;
  try {
    if (thrown instanceof Error) {
      const message: unknown = thrown.message;
      text =
        typeof message === 'string' ? message : `${describeValue(thrown)} whose message is ${describeValue(message)}`;
    } else {
      // String() converts a symbol too; an object's toString or valueOf may throw, or return
      // something that is not a string (String() then throws).
      text = String(thrown);
    }
  } catch {
    text = `an unprintable error (${describeValue(thrown)})`;
  }
  return clip(text, MAX_MESSAGE_LENGTH);
}
