/**
 * The published package works from another project: `npm pack`, install the tarball into a
 * fresh project, `require('blockyard-telemetry')` and use it, types included.
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

    await writeFile(
      path.join(dir, 'check.ts'),
      `import { newMetrics, WorkerStateTracker, type Metrics } from 'blockyard-telemetry';
       const m: Metrics = newMetrics();
       new WorkerStateTracker({ metrics: m, tick: 10 }).stop();
       m.workersByState.labels('busy').set(1);\n`,
    );
    const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    await run(
      process.execPath,
      [
        tsc,
        '--noEmit',
        '--strict',
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
  });
});
