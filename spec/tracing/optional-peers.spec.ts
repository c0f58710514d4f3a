/**
 * The OpenTelemetry SDK and the OTLP exporters are optional peer dependencies: a host that did
 * not install one gets, from initTracing, a rejection naming every missing package and the npm
 * command, and only for what its endpoint needs. Proven in a child process where Node's own
 * resolution fails for the hidden packages (spec/fixtures/missing-peers.ts); the packed
 * package in projects that really lack them is in spec/e2e/package.e2e.spec.ts.
 */
import { runTsFile } from '../helpers/run-ts-child';

interface Outcome {
  readonly hidden: readonly string[];
  readonly endpoint: string;
  readonly rejected: string | null;
}

const PEERS_NOTE = 'not installed (optional peer dependencies of blockyard-telemetry)';
const SDK_INSTALL =
  '"@opentelemetry/context-async-hooks@^2.0.0" "@opentelemetry/core@^2.0.0" ' +
  '"@opentelemetry/resources@^2.0.0" "@opentelemetry/sdk-trace-base@^2.0.0"';

describe('initTracing without its optional peers', () => {
  let outcomes: Outcome[];
  beforeAll(async () => {
    const { code, stdout, stderr } = await runTsFile('spec/fixtures/missing-peers.ts', [], { timeoutMs: 60_000 });
    expect(stderr).toBe('');
    expect(code).toBe(0);
    outcomes = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Outcome);
  }, 70_000);

  it('without the SDK, even with no endpoint: names the four SDK packages and one command', () => {
    expect(outcomes[0]).toMatchObject({ endpoint: '' });
    expect(outcomes[0]?.rejected).toBe(
      'initTracing: tracing needs @opentelemetry/context-async-hooks, @opentelemetry/core, ' +
        `@opentelemetry/resources, @opentelemetry/sdk-trace-base, ${PEERS_NOTE}. ` +
        `Install them: npm install ${SDK_INSTALL}`,
    );
  });

  it('without the SDK nor the exporter of an HTTP endpoint: names all five in one command', () => {
    expect(outcomes[1]?.rejected).toBe(
      'initTracing: exporting over OTLP/HTTP needs @opentelemetry/context-async-hooks, @opentelemetry/core, ' +
        `@opentelemetry/resources, @opentelemetry/sdk-trace-base, @opentelemetry/exporter-trace-otlp-http, ${PEERS_NOTE}. ` +
        `Install them: npm install ${SDK_INSTALL} "@opentelemetry/exporter-trace-otlp-http@>=0.200.0 <0.300.0"`,
    );
  });

  it('a gRPC endpoint without the gRPC exporter: names that package and its npm command', () => {
    expect(outcomes[2]).toMatchObject({ endpoint: 'localhost:4317' });
    expect(outcomes[2]?.rejected).toBe(
      `initTracing: exporting over OTLP/gRPC needs @opentelemetry/exporter-trace-otlp-grpc, ${PEERS_NOTE}. ` +
        'Install it: npm install "@opentelemetry/exporter-trace-otlp-grpc@>=0.200.0 <0.300.0"',
    );
  });

  it('needs no exporter without an endpoint, and not the gRPC one for an HTTP endpoint', () => {
    expect(outcomes[3]).toEqual({ hidden: ['@opentelemetry/exporter-trace-otlp-grpc'], endpoint: '', rejected: null });
    expect(outcomes[4]).toEqual({
      hidden: ['@opentelemetry/exporter-trace-otlp-grpc'],
      endpoint: 'http://127.0.0.1:4318/v1/traces',
      rejected: null,
    });
  });

  it('an exporter that is installed but cannot load names it and passes on the cause', () => {
    expect(outcomes[5]?.rejected).toMatch(
      /^initTracing: loading @opentelemetry\/exporter-trace-otlp-grpc failed: Cannot find module '@opentelemetry\/otlp-grpc-exporter-base'/,
    );
    expect(outcomes).toHaveLength(6);
  });
});
