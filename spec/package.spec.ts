/**
 * What package.json promises a host, held against the code that acts on it: the peer
 * dependencies and their ranges (the ones the code names in its errors), which of them are
 * optional, and the prom-client check of newMetrics.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { newMetrics } from '../lib';
import { checkPromClientVersion, isSupportedPromClient, PROM_CLIENT_RANGE } from '../lib/prom-client-support';
import { TRACING_PEERS } from '../lib/tracing/optional-peers';
import { Registry } from 'prom-client';

interface PackageJson {
  readonly engines: { readonly node: string };
  readonly dependencies?: Record<string, string>;
  readonly peerDependencies: Record<string, string>;
  readonly peerDependenciesMeta: Record<string, { readonly optional?: boolean }>;
  readonly devDependencies: Record<string, string>;
}

const pkg = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as PackageJson;

describe('package.json', () => {
  it('has no runtime dependencies: prom-client, rxjs and the OpenTelemetry API are the host’s (peers)', () => {
    expect(pkg.dependencies).toBeUndefined();
    expect(pkg.peerDependencies).toMatchObject({
      'prom-client': '^15.1.1',
      rxjs: '^7.3.0',
      '@opentelemetry/api': '>=1.3.0 <1.10.0',
    });
  });

  it('marks the SDK and the exporters, and nothing else, optional, with the ranges initTracing names', () => {
    const optional = Object.keys(pkg.peerDependenciesMeta).filter((name) => pkg.peerDependenciesMeta[name]?.optional);
    expect(optional.sort()).toEqual(Object.keys(TRACING_PEERS).sort());
    for (const [name, range] of Object.entries(TRACING_PEERS)) expect(pkg.peerDependencies[name]).toBe(range);
  });

  it('keeps every peer as a dev dependency, for the project’s own tests', () => {
    for (const name of Object.keys(pkg.peerDependencies)) expect(pkg.devDependencies[name]).toBeDefined();
  });

  it('lists in engines the Node.js versions CI tests (the machine’s 20, and those .ci/run installs), as the README does', () => {
    const ci = readFileSync(join(__dirname, '..', '.ci', 'run'), 'utf8');
    const installed = (/^node_majors=\(([\d ]+)\)$/m.exec(ci)?.[1] ?? '').split(' ').map(Number);
    expect(installed).toEqual([22, 24, 26]);
    expect(pkg.engines.node).toBe('^20.6.0 || ^22.0.0 || ^24.0.0 || ^26.0.0');
    const majors = [...pkg.engines.node.matchAll(/\^(\d+)\./g)].map((m) => Number(m[1]));
    expect(majors).toEqual([20, ...installed]);
    const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');
    expect(readme).toContain(
      `Node.js ${majors.slice(0, -1).join(', ')} or ${majors.at(-1) ?? ''} (CI runs the unit suite on each)`,
    );
  });

  it('states the prom-client range newMetrics checks', () => {
    expect(pkg.peerDependencies['prom-client']).toBe(PROM_CLIENT_RANGE);
  });
});

describe('the prom-client check of newMetrics', () => {
  it.each([
    ['15.1.1', true],
    ['15.1.3', true],
    ['15.2.0', true],
    ['15.10.0', true],
    ['15.1.0', false],
    ['15.0.0', false],
    ['14.2.0', false],
    ['16.0.0', false],
    ['15.2.0-beta.1', false],
    ['', false],
  ])('prom-client %j is supported: %s', (version, supported) => {
    expect(isSupportedPromClient(version)).toBe(supported);
  });

  it('refuses prom-client 14 with the version found and the command that installs a supported one', () => {
    expect(() => checkPromClientVersion('newMetrics', '14.2.0')).toThrow(
      new Error(
        'newMetrics: blockyard-telemetry needs prom-client ^15.1.1 (a peer dependency), but prom-client 14.2.0 ' +
          'is installed. Install a supported one: npm install "prom-client@^15.1.1"',
      ),
    );
  });

  it('passes the prom-client this project installs, and a version it cannot read', () => {
    expect(() => checkPromClientVersion('newMetrics', undefined)).not.toThrow();
    expect(() => newMetrics(new Registry())).not.toThrow();
  });
});
