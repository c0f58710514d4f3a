/**
 * Which prom-client versions the library supports, and the check `newMetrics` makes.
 *
 * prom-client is a peer dependency: the host's registry must be the very one the library
 * registers on. npm refuses an install whose prom-client is out of range, but a host can still
 * end up with one (`--legacy-peer-deps`, another package manager, a copy of its own), and an
 * older prom-client then misbehaves quietly: 14.x has no OpenMetrics registry and no
 * exemplars, and 15.0.0 to 15.1.0 render exemplars differently. So `newMetrics` reads the
 * version of the prom-client it loads and refuses one out of range, saying what to install.
 *
 * @packageDocumentation
 */

/**
 * The supported prom-client versions: `^15.1.1`, written out so that the check needs no
 * semver library (spec/package.spec.ts holds it equal to package.json's peer range).
 * @internal
 */
export const PROM_CLIENT_SUPPORT = { major: 15, minor: 1, patch: 1 } as const;

/** The supported range as npm writes it: `^15.1.1`. @internal */
export const PROM_CLIENT_RANGE = `^${PROM_CLIENT_SUPPORT.major}.${PROM_CLIENT_SUPPORT.minor}.${PROM_CLIENT_SUPPORT.patch}`;

/**
 * Whether `version` is in {@link PROM_CLIENT_RANGE}: the same major, at least the same
 * minor.patch, and no pre-release (as npm's caret range reads it).
 * @internal
 */
export function isSupportedPromClient(version: string): boolean {
  const parts = /^(\d+)\.(\d+)\.(\d+)$/.exec(version);
  if (parts === null) return false;
  const [major, minor, patch] = parts.slice(1).map(Number) as [number, number, number];
  const { major: wantMajor, minor: wantMinor, patch: wantPatch } = PROM_CLIENT_SUPPORT;
  return major === wantMajor && (minor > wantMinor || (minor === wantMinor && patch >= wantPatch));
}

/**
 * The version of the prom-client this library loads, read from its package.json; `undefined`
 * when that cannot be read (a prom-client that no longer exposes it), and the check is then
 * skipped rather than blocking a host.
 */
function loadedPromClientVersion(): string | undefined {
  try {
    // Read lazily and guarded: a failure here must not stop the package from loading.
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- a JSON file, read on demand
    const { version } = require('prom-client/package.json') as { version?: unknown };
    return typeof version === 'string' ? version : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Throws an `Error` naming the installed version and the `npm install` command when the
 * prom-client this library loads is out of {@link PROM_CLIENT_RANGE}. `owner` starts the
 * message (`newMetrics`).
 * @internal
 */
export function checkPromClientVersion(owner: string, version = loadedPromClientVersion()): void {
  if (version === undefined || isSupportedPromClient(version)) return;
  throw new Error(
    `${owner}: blockyard-telemetry needs prom-client ${PROM_CLIENT_RANGE} (a peer dependency), ` +
      `but prom-client ${version} is installed. Install a supported one: npm install "prom-client@${PROM_CLIENT_RANGE}"`,
  );
}
