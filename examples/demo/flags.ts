/**
 * The demo's command-line flags: parsing, checking and `--help`.
 *
 * Kept apart from the wiring in `main.ts` so that every rule here is tested without starting
 * anything. A bad value is never guessed at or clamped: the demo says which flag, quotes the
 * value and what it wanted, and exits 2 (the usual code for a usage error).
 *
 * @packageDocumentation
 */
import { DEFAULT_METRICS_PORT } from '../../lib';
import { MAX_SEED } from './random';
import { MAX_APPS } from './simulator';

/** The port the demo listens on when `--port` is not given: the library's metrics port. */
export const DEFAULT_PORT = DEFAULT_METRICS_PORT;
/** The tick, in milliseconds, when `--tick` is not given: one simulated second a second. */
export const DEFAULT_TICK_MS = 1000;
/**
 * The seed when `--seed` is not given: every run without one is the same run. Chosen because
 * its run shows every kind of event (all three stop reasons, a failed restore, 5xx, unknown
 * apps, audit drops) within its first minute; a test keeps it so.
 */
export const DEFAULT_SEED = 39;
/** The number of apps when `--apps` is not given. */
export const DEFAULT_APPS = 4;
/** The shortest tick accepted: shorter would only burn CPU (the page could not keep up). */
export const MIN_TICK_MS = 10;
/** The longest tick accepted: one minute. */
export const MAX_TICK_MS = 60_000;

/** The demo's settings, after parsing. */
export interface DemoFlags {
  /** TCP port on 127.0.0.1; 0 picks a free one. */
  readonly port: number;
  /** Milliseconds per tick: one simulation step and one tracker reconciliation. */
  readonly tickMs: number;
  /** Seed of the simulation: the same seed and apps give the same run. */
  readonly seed: number;
  /** How many apps the simulated orchestrator hosts. */
  readonly apps: number;
  /** Seconds to run before stopping by itself; 0 runs until interrupted. */
  readonly durationSeconds: number;
}

/** The outcome of {@link parseFlags}. */
export type ParsedFlags =
  | { readonly kind: 'run'; readonly flags: DemoFlags }
  | { readonly kind: 'help' }
  | { readonly kind: 'error'; readonly message: string };

/** The text `--help` prints. */
export const USAGE = `Usage: npm start -- [flags]
   or: npx ts-node --transpile-only examples/demo/main.ts [flags]

A simulated worker orchestrator that drives blockyard-telemetry: apps, workers with cold
starts, sessions, idle evictions, drains, crashes, bundle restores and proxied requests.
It serves a live page and /metrics on 127.0.0.1 and prints one line per tick.

Flags (--name value or --name=value):
  --port N       TCP port on 127.0.0.1; 0 picks a free one       (default ${DEFAULT_PORT})
  --tick MS      milliseconds per tick, ${MIN_TICK_MS} … ${MAX_TICK_MS}; each tick is one
                 simulated second, so --tick 100 runs ten times faster (default ${DEFAULT_TICK_MS})
  --seed N       seed, 0 … ${MAX_SEED}: the same seed gives the same run (default ${DEFAULT_SEED})
  --apps N       apps to host, 1 … ${MAX_APPS}: more apps, more of everything (default ${DEFAULT_APPS})
  --duration S   stop by itself after S seconds; 0 runs until Ctrl-C       (default 0)
  --help, -h     print this and exit

Ctrl-C (SIGINT) or SIGTERM stops it cleanly (exit code 0). A bad flag exits with code 2.
`;

type FlagName = 'port' | 'tick' | 'seed' | 'apps' | 'duration';

interface FlagRule {
  readonly key: keyof DemoFlags;
  readonly what: string;
  readonly parse: (raw: string) => number | undefined;
}

const INTEGER = /^(0|[1-9][0-9]*)$/;
const DECIMAL = /^(0|[1-9][0-9]*)(\.[0-9]+)?$/;

function integerIn(min: number, max: number): (raw: string) => number | undefined {
  return (raw) => {
    if (!INTEGER.test(raw)) return undefined;
    const n = Number(raw);
    return n >= min && n <= max ? n : undefined;
  };
}

const RULES: Readonly<Record<FlagName, FlagRule>> = {
  port: { key: 'port', what: 'an integer 0 … 65535', parse: integerIn(0, 65535) },
  tick: {
    key: 'tickMs',
    what: `milliseconds, an integer ${MIN_TICK_MS} … ${MAX_TICK_MS}`,
    parse: integerIn(MIN_TICK_MS, MAX_TICK_MS),
  },
  seed: { key: 'seed', what: `an integer 0 … ${MAX_SEED}`, parse: integerIn(0, MAX_SEED) },
  apps: { key: 'apps', what: `an integer 1 … ${MAX_APPS}`, parse: integerIn(1, MAX_APPS) },
  duration: {
    key: 'durationSeconds',
    what: 'seconds, a number 0 … 86400 (0 runs until interrupted)',
    parse: (raw) => {
      if (!DECIMAL.test(raw)) return undefined;
      const n = Number(raw);
      return n <= 86_400 ? n : undefined;
    },
  },
};

function isFlagName(name: string): name is FlagName {
  return Object.prototype.hasOwnProperty.call(RULES, name);
}

/**
 * Parses the demo's arguments (without `node` and the script). Never throws: a bad flag
 * comes back as `{ kind: 'error', message }` naming the flag and quoting the value.
 */
export function parseFlags(argv: readonly string[]): ParsedFlags {
  const flags: Record<keyof DemoFlags, number> = {
    port: DEFAULT_PORT,
    tickMs: DEFAULT_TICK_MS,
    seed: DEFAULT_SEED,
    apps: DEFAULT_APPS,
    durationSeconds: 0,
  };
  const seen = new Set<string>();
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] as string;
    if (arg === '--help' || arg === '-h') return { kind: 'help' };
    if (!arg.startsWith('--')) {
      return { kind: 'error', message: `unexpected argument ${JSON.stringify(arg)}; flags start with --` };
    }
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    if (!isFlagName(name)) return { kind: 'error', message: `unknown flag --${name}` };
    if (seen.has(name)) return { kind: 'error', message: `--${name} is given twice` };
    seen.add(name);
    let raw: string;
    if (eq !== -1) {
      raw = arg.slice(eq + 1);
    } else {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) return { kind: 'error', message: `--${name} needs a value` };
      raw = next;
      i += 1;
    }
    const rule = RULES[name];
    const value = rule.parse(raw);
    if (value === undefined) {
      return { kind: 'error', message: `--${name} must be ${rule.what}, got ${JSON.stringify(raw)}` };
    }
    flags[rule.key] = value;
  }
  return { kind: 'run', flags };
}
