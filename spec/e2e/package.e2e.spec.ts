/**
 * The published package works from another project: `npm pack`, install the tarball into a
 * fresh project, `require('blockyard-telemetry')` and `require('blockyard-telemetry/testing')`
 * and use them, types included.
 */
import { execFile } from 'node:child_process';
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { tempDir, type TempDir } from '../helpers/temp-dir';

const run = promisify(execFile);
const root = path.resolve(__dirname, '../..');

describe('the packed package', () => {
  let temp: TempDir;
  let dir: string;
  beforeAll(async () => {
    temp = await tempDir('blockyard-pack-');
    dir = temp.path;
  });
  afterAll(async () => {
    await temp.remove();
  });

  it('installs from its tarball and works through require(), with its types', async () => {
    await run('npm', ['pack', '--pack-destination', dir], { cwd: root, timeout: 120_000 });
    const tarball = (await readdir(dir)).find((f) => f.endsWith('.tgz'));
    expect(tarball).toBeDefined();
    await writeFile(path.join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
    await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', `./${tarball}`], {
      cwd: dir,
      timeout: 300_000,
    });
    const script = `
      const { Registry } = require('prom-client');
      const t = require('blockyard-telemetry');
      const registry = new Registry();
      const metrics = t.newMetrics(registry);
      const tracker = new t.WorkerStateTracker({ metrics, tick: 1000 });
      tracker.record({ type: 'proxy_request', app: 'a', status: 503 });
      tracker.stop();
      registry.metrics().then((text) => process.stdout.write(text));
    `;
    const { stdout } = await run(process.execPath, ['-e', script], { cwd: dir });
    expect(stdout).toContain('blockyard_proxy_requests_total{app="a",status="5xx"} 1');
    expect(stdout).toContain('blockyard_workers{state="draining"} 0');

    // The testing kit, through its subpath.
    const kitScript = `
      const { Registry } = require('prom-client');
      const { newMetrics } = require('blockyard-telemetry');
      const kit = require('blockyard-telemetry/testing');
      const registry = new Registry();
      newMetrics(registry).workersSpawned.inc(2);
      Promise.all([kit.toFloat64(registry, 'blockyard_workers_spawned_total'), kit.lint(registry)])
        .then(([value, problems]) => process.stdout.write(JSON.stringify({ value, problems })));
    `;
    const kit = await run(process.execPath, ['-e', kitScript], { cwd: dir });
    expect(JSON.parse(kit.stdout)).toEqual({ value: 2, problems: [] });

    await writeFile(
      path.join(dir, 'check.ts'),
      `import { newMetrics, WorkerStateTracker, type Metrics } from 'blockyard-telemetry';
       import { lint, toFloat64, type LintProblem } from 'blockyard-telemetry/testing';
       const m: Metrics = newMetrics();
       new WorkerStateTracker({ metrics: m, tick: 10 }).stop();
       m.workersByState.labels('busy').set(1);
       const value: Promise<number> = toFloat64(m.registry, 'blockyard_workers', { state: 'busy' });
       const problems: Promise<LintProblem[]> = lint(m.registry);
       void value;
       void problems;\n`,
    );
    const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    // TypeScript's older node resolution (typesVersions), then node16 (the exports map).
    for (const resolution of [[], ['--module', 'node16', '--moduleResolution', 'node16']]) {
      await run(
        process.execPath,
        [
          tsc,
          '--noEmit',
          '--strict',
          ...resolution,
          '--types',
          'node',
          '--typeRoots',
          path.join(root, 'node_modules/@types'),
          'check.ts',
        ],
        {
          cwd: dir,
        },
      );
    }
  });
});
