/**
 * Runs one traced-burst.ts scenario in a child process and prints its result as JSON.
 *
 * The OTLP/HTTP exporter loads node:http with a dynamic `import()`, which jest's module sandbox
 * cannot run (it needs --experimental-vm-modules), so OTLP/HTTP is proven here, in plain
 * Node, as a host runs it. The process must exit by itself once the scenario is over: a
 * handle left open by tracing would keep it alive, and the parent's deadline fails the test.
 *
 *     node -r ts-node/register/transpile-only spec/helpers/traced-burst-child.ts burst <endpoint> <n>
 *     node -r ts-node/register/transpile-only spec/helpers/traced-burst-child.ts hang <endpoint> <ms>
 */
import { hangingShutdown, tracedBurst } from './traced-burst';

async function main(): Promise<unknown> {
  const [scenario, endpoint = '', arg = ''] = process.argv.slice(2);
  if (scenario === 'burst') return tracedBurst(endpoint, Number(arg));
  if (scenario === 'hang') return hangingShutdown(endpoint, Number(arg));
  throw new Error(`unknown scenario ${JSON.stringify(scenario)}`);
}

main().then(
  (result) => process.stdout.write(JSON.stringify(result)),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
