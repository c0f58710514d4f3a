/**
 * Values a hostile or broken caller can throw or hand over, for tests that prove the library
 * describes anything without throwing and without printing more than it should.
 */

/** An Error whose `message` is `message`, whatever it is (a symbol, null, a number). */
export function errorWithMessage(message: unknown): Error {
  return Object.defineProperty(new Error(), 'message', { value: message });
}

/** An object whose `toString` throws, so that `String()` of it throws. */
export function unprintable(): object {
  return {
    toString(): string {
      throw new Error('no text');
    },
  };
}

/** A Proxy whose every trap that reading or inspecting it runs throws. */
export function trappingProxy(): object {
  const trap = (): never => {
    throw new Error('trap');
  };
  return new Proxy({}, { get: trap, getPrototypeOf: trap, has: trap, ownKeys: trap });
}
