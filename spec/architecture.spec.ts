/**
 * The folder tree draws the architecture, and this keeps it so: every relative import in lib/
 * is read (type-only imports included) and held against the rules the README states. The
 * import graph is built here from the source text, independently of the compiler.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const LIB = resolve(__dirname, '..', 'lib');

/** Every .ts file under `dir`, as a path relative to lib/ with forward slashes. */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') ? [relative(LIB, path).split('\\').join('/')] : [];
  });
}

/** The lib/-relative files `file` imports, from its `import … from`, `export … from` and `import()`. */
function importsOf(file: string, all: ReadonlySet<string>): string[] {
  const text = readFileSync(join(LIB, file), 'utf8');
  const specifiers = [...text.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|^import\s+)['"](\.{1,2}\/[^'"]*|\.{1,2})['"]/gm)];
  return specifiers.map((match) => {
    const target = relative(LIB, resolve(LIB, dirname(file), match[1] as string))
      .split('\\')
      .join('/');
    const found = [`${target}.ts`, `${target}/index.ts`].find((candidate) => all.has(candidate));
    if (found === undefined) throw new Error(`${file}: cannot resolve ${match[1] as string}`);
    return found;
  });
}

const files = sources(LIB);
const graph = new Map(files.map((file) => [file, importsOf(file, new Set(files))]));

/** The family a file belongs to (`tracker`, `http`, …), or `root` for the contract at lib/'s root. */
const familyOf = (file: string): string => (file.includes('/') ? (file.split('/')[0] as string) : 'root');

describe('the architecture of lib/', () => {
  it('reads a graph of every file (a check of the reader itself)', () => {
    expect(files).toContain('index.ts');
    expect(files).toContain('tracker/worker-state-tracker.ts');
    expect(graph.get('tracker/worker-state-tracker.ts')).toContain('events/index.ts');
  });

  it('has no import circle, type-only imports included', () => {
    const circles: string[] = [];
    const state = new Map<string, 'visiting' | 'done'>();
    const visit = (file: string, path: string[]): void => {
      state.set(file, 'visiting');
      for (const next of graph.get(file) ?? []) {
        if (state.get(next) === 'visiting') circles.push([...path.slice(path.indexOf(next)), next].join(' -> '));
        else if (state.get(next) === undefined) visit(next, [...path, next]);
      }
      state.set(file, 'done');
    };
    for (const file of files) if (state.get(file) === undefined) visit(file, [file]);
    expect(circles).toEqual([]);
  });

  it("lets a family use another only through that family's index.ts", () => {
    const breaches = files.flatMap((file) =>
      (graph.get(file) ?? [])
        .filter((target) => familyOf(target) !== 'root' && familyOf(target) !== familyOf(file))
        .filter((target) => !target.endsWith('/index.ts'))
        .map((target) => `${file} -> ${target}`),
    );
    expect(breaches).toEqual([]);
  });

  it('keeps the contract at the root free of every family (lib/index.ts only re-exports them)', () => {
    const breaches = files
      .filter((file) => familyOf(file) === 'root' && file !== 'index.ts')
      .flatMap((file) => (graph.get(file) ?? []).filter((t) => familyOf(t) !== 'root').map((t) => `${file} -> ${t}`));
    expect(breaches).toEqual([]);
  });

  it.each([
    ['http', ['tracker', 'events', 'tracing'], 'the endpoint serves any registry'],
    ['tracing', ['tracker', 'events', 'http'], 'tracing knows no workers and no Prometheus'],
    ['events', ['tracker', 'http', 'tracing'], 'the events know no tracker'],
    ['testing', ['tracker', 'events', 'tracing'], 'the testing kit reads any registry, as the endpoint serves it'],
  ])('keeps %s away from %j: %s', (family, forbidden) => {
    const breaches = files
      .filter((file) => familyOf(file) === family)
      .flatMap((file) =>
        (graph.get(file) ?? []).filter((t) => forbidden.includes(familyOf(t))).map((t) => `${file} -> ${t}`),
      );
    expect(breaches).toEqual([]);
  });

  it('lets nothing import the testing kit: it is the subpath blockyard-telemetry/testing, not part of the package root', () => {
    const breaches = files
      .filter((file) => familyOf(file) !== 'testing')
      .flatMap((file) =>
        (graph.get(file) ?? []).filter((t) => familyOf(t) === 'testing').map((t) => `${file} -> ${t}`),
      );
    expect(breaches).toEqual([]);
  });

  it('keeps test frameworks out of the testing kit: it imports only prom-client and Node', () => {
    const packages = files
      .filter((file) => familyOf(file) === 'testing')
      .flatMap((file) =>
        [
          ...readFileSync(join(LIB, file), 'utf8').matchAll(
            /(?:\bfrom\s+|\bimport\s*\(\s*|^import\s+)['"]([^'".][^'"]*)['"]/gm,
          ),
        ]
          .map((match) => match[1] as string)
          .filter((name) => name !== 'prom-client' && !name.startsWith('node:'))
          .map((name) => `${file} -> ${name}`),
      );
    expect(files.filter((file) => familyOf(file) === 'testing')).toContain('testing/index.ts');
    expect(packages).toEqual([]);
  });

  it('keeps the endpoint and tracing off the contract (metrics, labels, exemplars)', () => {
    const contract = ['metrics.ts', 'labels.ts', 'exemplars.ts'];
    const breaches = files
      .filter((file) => familyOf(file) === 'http' || familyOf(file) === 'tracing')
      .flatMap((file) => (graph.get(file) ?? []).filter((t) => contract.includes(t)).map((t) => `${file} -> ${t}`));
    expect(breaches).toEqual([]);
  });

  it('re-exports only, in lib/index.ts', () => {
    const code = readFileSync(join(LIB, 'index.ts'), 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '');
    const statements = code
      .join(' ')
      .split(';')
      .map((s) => s.trim())
      .filter((s) => s !== '');
    expect(statements.filter((s) => !/^export (type )?\{[^}]*\} from '[^']+'$/.test(s))).toEqual([]);
  });
});
