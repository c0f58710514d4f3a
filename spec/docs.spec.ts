/**
 * The API reference stays complete: TypeDoc (`npm run docs`, configured by typedoc.json)
 * converts both entry points (lib/index.ts, the package root, and lib/testing/index.ts, the
 * subpath `blockyard-telemetry/testing`) without an error, finds every export documented and
 * every `{@link}` resolvable, and the README's "API reference" names every export of each, in
 * its own part, and nothing else. TypeDoc runs once, in a child process (it is an ES module,
 * which jest's CommonJS sandbox cannot load), writing only its JSON model to a temporary folder.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand, type CommandResult } from './helpers/run-command';
import { tempDir, type TempDir } from './helpers/temp-dir';

const ROOT = join(__dirname, '..');
const TYPEDOC = join(ROOT, 'node_modules', 'typedoc', 'bin', 'typedoc');

/** A type in TypeDoc's JSON model, as far as this test reads it. */
interface TypeDocType {
  readonly type: string;
  readonly name?: string;
  readonly value?: unknown;
  readonly types?: readonly TypeDocType[];
}

/** A reflection in TypeDoc's JSON model: a module, an export, or a property of an interface. */
interface TypeDocReflection {
  readonly name: string;
  readonly flags?: { readonly isOptional?: boolean };
  readonly type?: TypeDocType;
  readonly children?: readonly TypeDocReflection[];
}

/** The part of TypeDoc's JSON model this test reads: one module per entry point, and their exports. */
interface TypeDocProject {
  readonly children?: readonly TypeDocReflection[];
}

/** A type as the README writes it (a union's bars escaped, as inside a Markdown table). */
function typeText(t: TypeDocType | undefined): string {
  if (t === undefined) return '?';
  if (t.type === 'union') return (t.types ?? []).map(typeText).join(' \\| ');
  if (t.type === 'literal') return String(t.value);
  return t.name ?? t.type;
}

/** The module names the entry points declare (`@module`), as packages import them. */
const ROOT_MODULE = 'blockyard-telemetry';
const TESTING_MODULE = 'blockyard-telemetry/testing';

let out: TempDir | undefined;
let run: CommandResult;
let modules: string[];
let exported: string[];
let exportedForTesting: string[];
let rootModule: TypeDocReflection | undefined;

beforeAll(async () => {
  out = await tempDir('blockyard-typedoc-');
  const json = join(out.path, 'api.json');
  // typedoc.json as `npm run docs` reads it; --json alone replaces the HTML output.
  run = await runCommand(process.execPath, [TYPEDOC, '--json', json, '--logLevel', 'Warn'], {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: '1' },
    timeoutMs: 60_000,
  });
  const project = run.code === 0 ? (JSON.parse(await readFile(json, 'utf8')) as TypeDocProject) : {};
  modules = (project.children ?? []).map((m) => m.name).sort();
  const exportsOf = (module: string): string[] =>
    (project.children?.find((m) => m.name === module)?.children ?? []).map((c) => c.name).sort();
  rootModule = project.children?.find((m) => m.name === ROOT_MODULE);
  exported = exportsOf(ROOT_MODULE);
  exportedForTesting = exportsOf(TESTING_MODULE);
}, 90_000);

afterAll(async () => {
  await out?.remove();
});

/** TypeDoc's messages of one level, without the level tag and the closing tally. */
function messages(level: 'warning' | 'error'): string[] {
  const tag = `[${level}] `;
  return (
    run.output
      .split('\n')
      // eslint-disable-next-line no-control-regex -- strips the ANSI colour codes TypeDoc prints
      .map((line) => line.replace(/\u001b\[[0-9;]*m/g, '').trim())
      .filter((line) => line.startsWith(tag) && !/^\[\w+\] Found \d+ errors? and \d+ warnings?$/.test(line))
      .map((line) => line.slice(tag.length))
  );
}

describe('TypeDoc (npm run docs)', () => {
  it('converts lib/index.ts and lib/testing/index.ts without an error, one module each', () => {
    expect(messages('error')).toEqual([]);
    expect(run.code).toBe(0);
    expect(modules).toEqual([ROOT_MODULE, TESTING_MODULE]);
    expect(exported.length).toBeGreaterThan(50);
    expect(exportedForTesting).toEqual(expect.arrayContaining(['collectAndCompare', 'lint', 'toFloat64']));
  });

  it('finds every export documented and every link resolvable', () => {
    expect(messages('warning')).toEqual([]);
  });
});

describe("the README's API reference", () => {
  /** The heading of the part of the section that lists the subpath's exports. */
  const TESTING_HEADING = '\n### The testing kit: `blockyard-telemetry/testing`\n';

  /**
   * The export each row of the section's tables names (the identifier its first cell starts
   * with): those before the testing kit's heading, and those after it.
   */
  async function listed(): Promise<{ root: string[]; testing: string[] }> {
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
    const start = readme.indexOf('\n## API reference\n');
    expect(start).toBeGreaterThanOrEqual(0);
    const end = readme.indexOf('\n## ', start + 1);
    const section = readme.slice(start, end < 0 ? undefined : end);
    const split = section.indexOf(TESTING_HEADING);
    expect(split).toBeGreaterThanOrEqual(0);
    const names = (part: string): string[] =>
      [...part.matchAll(/^\| `([A-Za-z_$][\w$]*)/gm)].map((m) => m[1] as string);
    return { root: names(section.slice(0, split)), testing: names(section.slice(split)) };
  }

  it.each([
    ['lib/index.ts', 'root', () => exported],
    ['lib/testing/index.ts', 'testing', () => exportedForTesting],
  ] as const)('names every export of %s, once, in its part', async (_file, part, exports) => {
    const names = (await listed())[part];
    expect(exports().filter((name) => !names.includes(name))).toEqual([]);
    expect(names.filter((name, i) => names.indexOf(name) !== i)).toEqual([]);
  });

  it.each([
    ['lib/index.ts', 'root', () => exported],
    ['lib/testing/index.ts', 'testing', () => exportedForTesting],
  ] as const)('names nothing in the part of %s that it does not export', async (_file, part, exports) => {
    expect((await listed())[part].filter((name) => !exports().includes(name))).toEqual([]);
  });

  it('lists every field of ActiveWorker with its type, the required ones and the optional ones apart', async () => {
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
    const row = /^\| `ActiveWorker` \|.*$/m.exec(readme)?.[0] ?? '';
    const [required = '', optional = ''] = row.split('Optional:');
    expect(required).toContain('Required:');
    const fields = rootModule?.children?.find((c) => c.name === 'ActiveWorker')?.children ?? [];
    expect(fields.map((f) => f.name).sort()).toEqual([
      'appId',
      'bundleId',
      'draining',
      'idleSince',
      'sessions',
      'startedAt',
    ]);
    for (const field of fields) {
      const text = `\`${field.name}${field.flags?.isOptional === true ? '?' : ''}: ${typeText(field.type)}\``;
      expect(field.flags?.isOptional === true ? optional : required).toContain(text);
    }
  });
});
