/**
 * The OpenTelemetry packages `initTracing` loads on first use, and the one clear error when one
 * of them is not installed.
 *
 * They are optional peer dependencies: a host that only serves metrics installs none of them
 * (on disk the SDK takes about 15 MB, the gRPC exporter about 23 MB more with `@grpc/grpc-js`
 * and `protobufjs`, the HTTP exporter about 10 MB). A host that traces installs the SDK parts and the exporter of its
 * endpoint's protocol; when one is missing, `initTracing` rejects with a message naming every
 * missing package and the npm command that installs them, instead of Node's bare "Cannot find
 * module".
 *
 * @packageDocumentation
 */
import { messageOf } from '../describe-value';

/**
 * Every optional peer `initTracing` may load, with the versions package.json's
 * `peerDependencies` accept (spec/package.spec.ts keeps the two equal). The SDK 2.x line and
 * the experimental exporters released with it (0.200.x and later).
 * @internal
 */
export const TRACING_PEERS = {
  '@opentelemetry/context-async-hooks': '^2.0.0',
  '@opentelemetry/core': '^2.0.0',
  '@opentelemetry/resources': '^2.0.0',
  '@opentelemetry/sdk-trace-base': '^2.0.0',
  '@opentelemetry/exporter-trace-otlp-grpc': '>=0.200.0 <0.300.0',
  '@opentelemetry/exporter-trace-otlp-http': '>=0.200.0 <0.300.0',
} as const;

/** The name of an optional peer. @internal */
export type TracingPeer = keyof typeof TRACING_PEERS;

/** One package to load: its name, and the loader (a literal `import()`, so its types are known). */
type Loader<T> = readonly [name: TracingPeer, load: () => Promise<T>];

/** What a loader resolves to; `undefined` for no loader (distributes over a union of both). */
type LoadedBy<L> = L extends Loader<infer T> ? T : undefined;

/** What each loader of a record resolves to, under the same keys. */
type Loaded<R extends Record<string, Loader<unknown> | undefined>> = { [K in keyof R]: LoadedBy<R[K]> };

/** Whether `err` is Node's (or jest's) "cannot find" error for the package `name` itself. */
function isMissing(err: unknown, name: string): boolean {
  try {
    const { code } = err as { code?: unknown };
    return (code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND') && messageOf(err).includes(`'${name}'`);
  } catch {
    return false;
  }
}

/**
 * Loads every package of `loaders` (a record of `[name, () => import(name)]`, an entry left
 * `undefined` when not needed) and resolves to their modules under the same keys. When some are
 * not installed it rejects once, naming all of them and the command that installs them, so
 * that one `npm install` fixes the set-up. A package that is installed but fails to load (a
 * missing dependency of its own) rejects with that failure, naming the package.
 * @internal
 */
export async function loadTracingPeers<R extends Record<string, Loader<unknown> | undefined>>(
  owner: string,
  purpose: string,
  loaders: R,
): Promise<Loaded<R>> {
  const missing = new Set<TracingPeer>();
  const entries = await Promise.all(
    Object.entries(loaders).map(async ([key, loader]) => {
      if (loader === undefined) return [key, undefined] as const;
      const [name, load] = loader;
      try {
        return [key, await load()] as const;
      } catch (err) {
        if (!isMissing(err, name)) {
          throw new Error(`${owner}: loading ${name} failed: ${messageOf(err)}`, { cause: err });
        }
        missing.add(name);
        return [key, undefined] as const;
      }
    }),
  );
  if (missing.size > 0) {
    const names = Object.values(loaders).flatMap((loader) =>
      loader !== undefined && missing.has(loader[0]) ? [loader[0]] : [],
    );
    const install = names.map((name) => `"${name}@${TRACING_PEERS[name]}"`).join(' ');
    throw new Error(
      `${owner}: ${purpose} needs ${names.join(', ')}, not installed (optional peer ` +
        `dependencies of blockyard-telemetry). Install ${names.length === 1 ? 'it' : 'them'}: npm install ${install}`,
    );
  }
  return Object.fromEntries(entries) as Loaded<R>;
}
