/**
 * The published package, as users get it: `npm pack`, then fresh projects that install the
 * tarball with `npm install`.
 *
 * - The tarball holds the build, README.md, LICENSE and package.json, and no source map that
 *   points at a file it lacks; publint (strict) and Are the Types Wrong? find nothing.
 * - An ES module consumer (`"type": "module"`, TypeScript `NodeNext`) with the metrics install
 *   (the required peers only), and a CommonJS consumer (a default project, `NodeNext`) with the
 *   tracing install over OTLP/HTTP, both type-check (strict, library types checked too) and run.
 *   Both import every entry point of package.json `exports`, so an entry added later is covered:
 *   each must resolve with its types, and the ESM import must see every name `require()` sees.
 * - The metrics install holds no OpenTelemetry SDK, no exporter, no gRPC and no protobufjs, and
 *   its initTracing names what to install; the tracing install exports a span to a receiver.
 * - The lowest versions of the peer ranges work; prom-client 14 is refused by newMetrics with
 *   the command that installs a supported one.
 */
import { readFileSync } from 'node:fs';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { nodeNextCompilerOptions } from '../helpers/node-next-project';
import { startHttpReceiver, type Receiver } from '../helpers/otlp-receivers';
import { runCommand, type CommandResult } from '../helpers/run-command';
import { tempDir, type TempDir } from '../helpers/temp-dir';

const root = path.resolve(__dirname, '../..');
const TSC = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const INSTALL_MS = 300_000;

const SDK = [
  '@opentelemetry/context-async-hooks',
  '@opentelemetry/core',
  '@opentelemetry/resources',
  '@opentelemetry/sdk-trace-base',
];

/** Every entry point of package.json `exports` (`.`, `./testing`, …), its metadata entry left out. */
const entries = Object.keys(
  (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { exports: Record<string, unknown> }).exports,
).filter((subpath) => subpath !== './package.json' && !subpath.includes('*'));

/** The specifier that imports an entry point: `blockyard-telemetry`, `blockyard-telemetry/testing`. */
const specifierOf = (subpath: string): string => `blockyard-telemetry${subpath.slice(1)}`;

/** Runs a command to its end; rejects with its output when it fails. */
async function run(command: string, args: readonly string[], cwd: string, timeoutMs = 120_000): Promise<CommandResult> {
  const result = await runCommand(command, args, { cwd, timeoutMs, env: { ...process.env, NO_COLOR: '1' } });
  if (result.code !== 0) throw new Error(`${command} ${args.join(' ')} exited ${result.code}\n${result.output}`);
  return result;
}

let temp: TempDir;
let tarball: string;

beforeAll(async () => {
  temp = await tempDir('blockyard-pack-');
  await run('npm', ['pack', '--pack-destination', temp.path], root, INSTALL_MS);
  const name = (await readdir(temp.path)).find((f) => f.endsWith('.tgz'));
  if (name === undefined) throw new Error('npm pack left no tarball');
  tarball = path.join(temp.path, name);
}, INSTALL_MS);

afterAll(async () => {
  await temp.remove();
});

/** A fresh project in `name`, with `package.json` fields, after `npm install` of `packages`. */
async function project(
  name: string,
  fields: Record<string, unknown>,
  packages: readonly string[],
  flags: readonly string[] = [],
): Promise<string> {
  const dir = path.join(temp.path, name);
  await mkdir(dir);
  await writeFile(path.join(dir, 'package.json'), JSON.stringify({ name, private: true, ...fields }));
  await run('npm', ['install', '--no-audit', '--no-fund', ...flags, tarball, ...packages], dir, INSTALL_MS);
  return dir;
}

/** Type-checks (strict, NodeNext, the libraries' types included) and compiles `file` in `dir`. */
async function compile(dir: string, file: string): Promise<void> {
  await writeFile(
    path.join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: nodeNextCompilerOptions({
        skipLibCheck: false,
        typeRoots: [path.join(root, 'node_modules', '@types')],
      }),
      files: [file],
    }),
  );
  await run(process.execPath, [TSC, '-p', 'tsconfig.json'], dir);
}

/** Which packages a project's npm install put in node_modules. */
async function installed(dir: string): Promise<string[]> {
  const lock = JSON.parse(await readFile(path.join(dir, 'node_modules', '.package-lock.json'), 'utf8')) as {
    packages: Record<string, unknown>;
  };
  return Object.keys(lock.packages).map((key) => key.replace(/^.*node_modules\//, ''));
}

/** The consumer's code that imports every entry point and reports the names each one exports. */
function entryImports(kind: 'esm' | 'cjs'): { imports: string; names: string } {
  const imports = entries
    .map((subpath, i) =>
      kind === 'esm'
        ? `import * as entry${i} from '${specifierOf(subpath)}';`
        : `import entry${i} = require('${specifierOf(subpath)}');`,
    )
    .join('\n');
  const names = `{ ${entries.map((subpath, i) => `'${subpath}': Object.keys(entry${i}).sort()`).join(', ')} }`;
  return { imports, names };
}

/** What both consumers print: the scrape, what initTracing said, and each entry's names. */
interface ConsumerReport {
  readonly scrape: string;
  readonly tracing: string;
  readonly names: Record<string, string[]>;
}

/** The body both consumers run: metrics through the endpoint, then tracing. */
const CONSUMER_BODY = `
  const registry = new Registry();
  const metrics: Metrics = newMetrics(registry);
  const ticks = new Subject<void>();
  const tracker = new WorkerStateTracker({ metrics, tick: ticks });
  tracker.feed(new Map([['w1', { appId: 'a', draining: false, sessions: 2, startedAt: new Date() }]]));
  tracker.record({ type: 'proxy_request', app: 'a', status: 503, seconds: 0.2 });
  ticks.next();
  const served = await serveMetrics({ registry: metrics, port: 0 });
  const scrape = await (await fetch(served.url)).text();
  await served.close();
  await tracker.close();
  const tracing = await initTracing('localhost:4317').then(
    async (shutdown) => { await shutdown(); return 'resolved'; },
    (err: unknown) => (err instanceof Error ? err.message : String(err)),
  );
`;

describe('the packed package', () => {
  it('holds the build, README.md, LICENSE and package.json; every source map it holds resolves', async () => {
    const listing = await run('tar', ['-tzf', tarball], temp.path);
    const files = listing.stdout
      .trim()
      .split('\n')
      .map((f) => f.replace(/^package\//, ''));
    expect(files).toEqual(
      expect.arrayContaining(['package.json', 'README.md', 'LICENSE', 'dist/index.js', 'dist/index.d.ts']),
    );
    expect(
      files.filter((f) => !/^(dist\/.+\.(js|d\.ts|js\.map|d\.ts\.map)|package\.json|README\.md|LICENSE)$/.test(f)),
    ).toEqual([]);
    const unpacked = path.join(temp.path, 'unpacked');
    await mkdir(unpacked);
    await run('tar', ['-xzf', tarball, '-C', unpacked], temp.path);
    for (const map of files.filter((f) => f.endsWith('.map'))) {
      const { sources } = JSON.parse(await readFile(path.join(unpacked, 'package', map), 'utf8')) as {
        sources: string[];
      };
      for (const source of sources) expect(files).toContain(path.posix.join(path.posix.dirname(map), source));
    }
    const license = await readFile(path.join(unpacked, 'package', 'LICENSE'), 'utf8');
    expect(license).toMatch(/^MIT License\n/);
  });

  it('passes publint, strict', async () => {
    const { stdout } = await run(
      process.execPath,
      [path.join(root, 'node_modules', 'publint', 'src', 'cli.js'), 'run', tarball, '--strict'],
      temp.path,
    );
    expect(stdout).toContain('All good!');
  });

  it('passes Are the Types Wrong? for every entry point, in every resolution mode', async () => {
    const attw = path.join(root, 'node_modules', '@arethetypeswrong', 'cli', 'dist', 'index.js');
    const { stdout } = await run(process.execPath, [attw, tarball, '--format', 'json'], temp.path);
    const report = JSON.parse(stdout) as { analysis: { entrypoints: Record<string, unknown>; problems: unknown[] } };
    expect(Object.keys(report.analysis.entrypoints).sort()).toEqual([...entries, './package.json'].sort());
    expect(report.analysis.problems).toEqual([]);
  });
});

describe('an ES module consumer (type: module, NodeNext) with the metrics install', () => {
  let dir: string;
  let report: ConsumerReport;
  beforeAll(async () => {
    dir = await project('esm-consumer', { type: 'module' }, ['prom-client', 'rxjs', '@opentelemetry/api']);
    const { imports, names } = entryImports('esm');
    await writeFile(
      path.join(dir, 'consumer.ts'),
      `import { Registry } from 'prom-client';
import { Subject } from 'rxjs';
import { WorkerStateTracker, initTracing, newMetrics, serveMetrics, type Metrics } from 'blockyard-telemetry';
${imports}
${CONSUMER_BODY}
console.log(JSON.stringify({ scrape, tracing, names: ${names} }));
`,
    );
    await compile(dir, 'consumer.ts');
    report = JSON.parse((await run(process.execPath, ['out/consumer.js'], dir)).stdout) as ConsumerReport;
  }, INSTALL_MS);

  it('installs no OpenTelemetry SDK, no exporter, no gRPC and no protobufjs', async () => {
    const packages = await installed(dir);
    expect(packages).toEqual(
      expect.arrayContaining(['blockyard-telemetry', 'prom-client', 'rxjs', '@opentelemetry/api']),
    );
    expect(packages.filter((p) => p.startsWith('@opentelemetry/') && p !== '@opentelemetry/api')).toEqual([]);
    expect(packages.filter((p) => p.startsWith('@grpc/') || p === 'protobufjs')).toEqual([]);
  });

  it('type-checks, runs, and serves the metrics it recorded', () => {
    expect(report.scrape).toContain('blockyard_proxy_requests_total{app="a",status="5xx"} 1');
    expect(report.scrape).toContain('blockyard_sessions_active 2');
  });

  it('gets, from initTracing, the packages to install and the command', () => {
    expect(report.tracing).toBe(
      `initTracing: exporting over OTLP/gRPC needs ${SDK.join(', ')}, @opentelemetry/exporter-trace-otlp-grpc, ` +
        'not installed (optional peer dependencies of blockyard-telemetry). Install them: npm install ' +
        `${SDK.map((name) => `"${name}@^2.0.0"`).join(' ')} "@opentelemetry/exporter-trace-otlp-grpc@>=0.200.0 <0.300.0"`,
    );
  });

  it('imports every entry point, each name require() sees included', async () => {
    const { imports, names } = entryImports('cjs');
    const cjsDir = path.join(dir, 'cjs');
    await mkdir(cjsDir);
    await writeFile(
      path.join(cjsDir, 'package.json'),
      JSON.stringify({ name: 'cjs-names', private: true, type: 'commonjs' }),
    );
    await writeFile(path.join(cjsDir, 'names.ts'), `${imports}\nconsole.log(JSON.stringify(${names}));\n`);
    await compile(cjsDir, 'names.ts');
    const required = JSON.parse((await run(process.execPath, ['out/names.js'], cjsDir)).stdout) as Record<
      string,
      string[]
    >;
    expect(Object.keys(report.names)).toEqual(entries);
    for (const subpath of entries) {
      const cjsNames = (required[subpath] ?? []).filter((n) => n !== '__esModule');
      expect(cjsNames.length).toBeGreaterThan(0);
      expect(report.names[subpath]).toEqual(expect.arrayContaining(cjsNames));
    }
  });
});

describe('the testing kit, through its subpath', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await project('kit-consumer', {}, ['prom-client', 'rxjs', '@opentelemetry/api']);
  }, INSTALL_MS);

  it('reads and lints a registry from a CommonJS script', async () => {
    const script = `
      const { Registry } = require('prom-client');
      const { newMetrics } = require('blockyard-telemetry');
      const kit = require('blockyard-telemetry/testing');
      const registry = new Registry();
      newMetrics(registry).workersSpawned.inc(2);
      Promise.all([kit.toFloat64(registry, 'blockyard_workers_spawned_total'), kit.lint(registry)])
        .then(([value, problems]) => process.stdout.write(JSON.stringify({ value, problems })));
    `;
    const { stdout } = await run(process.execPath, ['-e', script], dir);
    expect(JSON.parse(stdout)).toEqual({ value: 2, problems: [] });
  });

  it("type-checks under TypeScript's older node resolution too (typesVersions)", async () => {
    await writeFile(
      path.join(dir, 'check.ts'),
      `import { newMetrics, type Metrics } from 'blockyard-telemetry';
import { lint, toFloat64, type LintProblem } from 'blockyard-telemetry/testing';
const m: Metrics = newMetrics();
const value: Promise<number> = toFloat64(m.registry, 'blockyard_workers', { state: 'busy' });
const problems: Promise<LintProblem[]> = lint(m.registry);
void value;
void problems;
`,
    );
    await run(
      process.execPath,
      [
        TSC,
        '--noEmit',
        '--strict',
        '--moduleResolution',
        'node',
        '--module',
        'commonjs',
        '--types',
        'node',
        '--typeRoots',
        path.join(root, 'node_modules/@types'),
        'check.ts',
      ],
      dir,
    );
  });
});

describe('a CommonJS consumer (a default project, NodeNext) with the tracing install over OTLP/HTTP', () => {
  let dir: string;
  let receiver: Receiver;
  let report: ConsumerReport;
  beforeAll(async () => {
    dir = await project('cjs-consumer', {}, [
      'prom-client',
      'rxjs',
      '@opentelemetry/api',
      ...SDK,
      '@opentelemetry/exporter-trace-otlp-http',
    ]);
    receiver = await startHttpReceiver();
    const { imports, names } = entryImports('cjs');
    await writeFile(
      path.join(dir, 'consumer.ts'),
      `import { Registry } from 'prom-client';
import { Subject } from 'rxjs';
import { trace } from '@opentelemetry/api';
import { WorkerStateTracker, initTracing, newMetrics, serveMetrics, type Metrics } from 'blockyard-telemetry';
${imports}
async function main(): Promise<void> {
${CONSUMER_BODY}
  const shutdown = await initTracing(process.argv[2] ?? '', { serviceName: 'cjs-consumer' });
  trace.getTracer('consumer').startSpan('consumer span').end();
  await shutdown();
  console.log(JSON.stringify({ scrape, tracing, names: ${names} }));
}
void main();
`,
    );
    await compile(dir, 'consumer.ts');
    report = JSON.parse(
      (await run(process.execPath, ['out/consumer.js', receiver.endpoint], dir)).stdout,
    ) as ConsumerReport;
  }, INSTALL_MS);

  afterAll(async () => {
    await receiver.close();
  });

  it('type-checks, runs, and serves the metrics it recorded', () => {
    expect(report.scrape).toContain('blockyard_proxy_requests_total{app="a",status="5xx"} 1');
    expect(report.scrape).toContain('blockyard_sessions_active 2');
  });

  it('exports its spans over OTLP/HTTP with the SDK and the HTTP exporter installed, and no gRPC', async () => {
    expect(receiver.spans.map((s) => [s.name, s.resource['service.name']])).toEqual([
      ['consumer span', 'cjs-consumer'],
    ]);
    const packages = await installed(dir);
    expect(packages.filter((p) => p.startsWith('@grpc/') || p === 'protobufjs')).toEqual([]);
  });

  it('is told, for a gRPC endpoint, to install the gRPC exporter alone', () => {
    expect(report.tracing).toBe(
      'initTracing: exporting over OTLP/gRPC needs @opentelemetry/exporter-trace-otlp-grpc, not installed (optional ' +
        'peer dependencies of blockyard-telemetry). Install it: npm install "@opentelemetry/exporter-trace-otlp-grpc@>=0.200.0 <0.300.0"',
    );
  });
});

describe('the lowest versions of the peer ranges', () => {
  it(
    'record, scrape with exemplars in OpenMetrics, and export a span',
    async () => {
      const dir = await project('lowest-peers', {}, [
        'prom-client@15.1.1',
        'rxjs@7.3.0',
        '@opentelemetry/api@1.3.0',
        ...SDK.map((name) => `${name}@2.0.0`),
        '@opentelemetry/exporter-trace-otlp-http@0.200.0',
      ]);
      const receiver = await startHttpReceiver();
      try {
        const script = `
        const { Registry } = require('prom-client');
        const { trace } = require('@opentelemetry/api');
        const t = require('blockyard-telemetry');
        (async () => {
          const shutdown = await t.initTracing(process.argv[1]);
          const registry = new Registry();
          registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
          const tracker = new t.WorkerStateTracker({ metrics: t.newMetrics(registry), tick: 1000 });
          const span = trace.getTracer('lowest').startSpan('lowest span');
          const { traceId, spanId } = span.spanContext();
          tracker.record({ type: 'proxy_request', app: 'a', status: 200, seconds: 0.02, trace: { traceId, spanId } });
          span.end();
          tracker.stop();
          await shutdown();
          console.log(JSON.stringify({ traceId, scrape: await registry.metrics() }));
        })();
      `;
        const out = JSON.parse((await run(process.execPath, ['-e', script, receiver.endpoint], dir)).stdout) as {
          traceId: string;
          scrape: string;
        };
        expect(out.scrape).toContain(`blockyard_proxy_requests_total{app="a",status="2xx"} 1`);
        expect(out.scrape).toContain(`# {trace_id="${out.traceId}"`);
        expect(receiver.spans.map((s) => s.name)).toEqual(['lowest span']);
      } finally {
        await receiver.close();
      }
    },
    INSTALL_MS,
  );
});

describe('a host with prom-client 14 (installed despite the peer range)', () => {
  it(
    'gets from newMetrics an error naming the version and the command to install a supported one',
    async () => {
      const dir = await project(
        'prom-client-14',
        {},
        ['prom-client@14', 'rxjs', '@opentelemetry/api'],
        ['--legacy-peer-deps'],
      );
      const result = await runCommand(process.execPath, ['-e', "require('blockyard-telemetry').newMetrics()"], {
        cwd: dir,
        timeoutMs: 60_000,
      });
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(
        /Error: newMetrics: blockyard-telemetry needs prom-client \^15\.1\.1 \(a peer dependency\), but prom-client 14\.\d+\.\d+ is installed\. Install a supported one: npm install "prom-client@\^15\.1\.1"/,
      );
    },
    INSTALL_MS,
  );
});
