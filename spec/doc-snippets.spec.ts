/**
 * Every code snippet of README.md and docs/*.md runs as pasted, in the kind of project it says.
 *
 * The rule, also stated in the README's development section:
 * - a ```ts block is an ES module in TypeScript: it is type-checked (strict) and run in a
 *   project with `"type": "module"` and `"module": "NodeNext"`, where top-level `await` works;
 * - a ```js block is CommonJS: it is run as a `.js` file of a project without a `"type"`, the
 *   default of `npm init`;
 * - a block whose first line is a comment starting with `// fragment` shows part of a program
 *   (it uses names the reader's code defines) and is not run; blocks in other languages (sh,
 *   yaml, output) are not run either;
 * - a snippet must exit 0 by itself, with nothing on stderr; one that handles SIGTERM (a
 *   server: `process.once('SIGTERM', …)`) gets SIGTERM once it has printed its first line, or
 *   when it has printed nothing after a few seconds, and must then exit 0. So a server
 *   registers its handler before it prints: until then SIGTERM's default action would end it.
 *
 * The snippets import `blockyard-telemetry` as a user's project does: through a
 * node_modules/blockyard-telemetry link to this repository, so its package.json `exports` and
 * the built dist/ (rebuilt here when older than lib/) are what they get, and the other packages
 * are this repository's. Snippets run with METRICS_PORT=0, so those that read it bind a free
 * port. The packed tarball itself is tested in spec/e2e/package.e2e.spec.ts.
 */
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { mkdir, readdir, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { nodeNextCompilerOptions } from './helpers/node-next-project';
import { runCommand } from './helpers/run-command';
import { tempDir, type TempDir } from './helpers/temp-dir';

const ROOT = join(__dirname, '..');
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
/** How long a snippet may run before it must have exited (or, for a server, printed). */
const RUN_MS = 30_000;
/** How long a server that prints nothing runs before it gets SIGTERM. */
const QUIET_SERVER_MS = 3_000;

/** One code block of a Markdown file. */
interface Snippet {
  /** `README.md:35`: the file and the line of the opening fence. */
  readonly where: string;
  readonly kind: 'esm-ts' | 'cjs';
  readonly code: string;
  /** The file it is written to, under the temporary project. */
  readonly file: string;
}

/** The Markdown files whose snippets run: the README and the guides it points to. */
function markdownFiles(): string[] {
  const docs = readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md'));
  return ['README.md', ...docs.sort().map((f) => `docs/${f}`)];
}

/** Every ```ts and ```js block of `text` that is not a fragment. */
function snippetsOf(path: string, text: string): Snippet[] {
  const found: Snippet[] = [];
  for (const match of text.matchAll(/^```(\w*)[^\n]*\n([\s\S]*?)^```[ \t]*$/gm)) {
    const [, lang = '', code = ''] = match;
    const kind =
      lang === 'ts' || lang === 'typescript' ? 'esm-ts' : lang === 'js' || lang === 'javascript' ? 'cjs' : null;
    if (kind === null || /^\s*\/\/ fragment\b/.test(code)) continue;
    const line = text.slice(0, match.index).split('\n').length;
    const name = `${path.replace(/[/.]/g, '-')}-${line}`;
    found.push({
      where: `${path}:${line}`,
      kind,
      code,
      file: kind === 'esm-ts' ? join('esm', `${name}.ts`) : join('cjs', `${name}.js`),
    });
  }
  return found;
}

/** The newest modification time of the files under `dir`. */
async function newest(dir: string): Promise<number> {
  const entries = await readdir(dir, { withFileTypes: true });
  const times = await Promise.all(
    entries.map(async (e) => (e.isDirectory() ? newest(join(dir, e.name)) : (await stat(join(dir, e.name))).mtimeMs)),
  );
  return Math.max(0, ...times);
}

/** Builds dist/ when it is missing or older than lib/ (npm test builds it just before jest). */
async function ensureBuilt(): Promise<void> {
  const built = await stat(join(ROOT, 'dist', 'index.js')).then(
    (s) => s.mtimeMs,
    () => 0,
  );
  if (built >= (await newest(join(ROOT, 'lib')))) return;
  const build = await runCommand(process.execPath, [TSC, '-p', 'tsconfig.build.json'], {
    cwd: ROOT,
    timeoutMs: 120_000,
  });
  if (build.code !== 0) throw new Error(`building dist/ failed:\n${build.output}`);
}

/**
 * A project in `dir` where `blockyard-telemetry` and this repository's packages resolve:
 * node_modules holds a link to each of them. `esm/` is an ES module project, `cjs/` a default one.
 */
async function makeProject(dir: string): Promise<void> {
  const modules = join(dir, 'node_modules');
  await mkdir(modules);
  for (const entry of await readdir(join(ROOT, 'node_modules'))) {
    if (!entry.startsWith('.')) await symlink(join(ROOT, 'node_modules', entry), join(modules, entry));
  }
  await symlink(ROOT, join(modules, 'blockyard-telemetry'));
  await mkdir(join(dir, 'esm'));
  await mkdir(join(dir, 'cjs'));
  await writeFile(
    join(dir, 'esm', 'package.json'),
    JSON.stringify({ name: 'esm-snippets', private: true, type: 'module' }),
  );
  await writeFile(join(dir, 'cjs', 'package.json'), JSON.stringify({ name: 'cjs-snippets', private: true }));
  await writeFile(
    join(dir, 'esm', 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: nodeNextCompilerOptions({ skipLibCheck: true, rootDir: '.' }),
      include: ['*.ts'],
    }),
  );
}

/** How a snippet ended, and what it printed. */
interface Outcome {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `file` with node in `cwd`; see the module comment for when it gets SIGTERM. */
function runSnippet(file: string, cwd: string, server: boolean): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [file], {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, METRICS_PORT: '0', NODE_OPTIONS: '' },
    });
    let stdout = '';
    let stderr = '';
    let terminated = false;
    const terminate = (): void => {
      if (terminated) return; // once: a second SIGTERM would meet the default action
      terminated = true;
      child.kill('SIGTERM');
    };
    const quiet = server ? setTimeout(terminate, QUIET_SERVER_MS) : undefined;
    const deadline = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${file} did not exit within ${RUN_MS} ms\n${stdout}${stderr}`));
    }, RUN_MS);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      if (server && stdout.includes('\n')) terminate();
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(quiet);
      clearTimeout(deadline);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

const snippets = markdownFiles().flatMap((path) => snippetsOf(path, readFileSync(join(ROOT, path), 'utf8')));
let project: TempDir;
let typeErrors: string;

beforeAll(async () => {
  project = await tempDir('blockyard-snippets-');
  await Promise.all([ensureBuilt(), makeProject(project.path)]);
  for (const s of snippets) await writeFile(join(project.path, s.file), s.code);
  // One compilation for every TypeScript snippet; each test reads the errors of its own file.
  const tsc = await runCommand(process.execPath, [TSC, '-p', 'tsconfig.json'], {
    cwd: join(project.path, 'esm'),
    timeoutMs: 120_000,
  });
  typeErrors = tsc.code === 0 ? '' : tsc.output;
}, 240_000);

afterAll(async () => {
  await project.remove();
});

describe('the snippets of README.md and docs/*.md', () => {
  it('include the README quick start (TypeScript, ES module) and a CommonJS snippet', () => {
    const readme = snippets.filter((s) => s.where.startsWith('README.md:'));
    expect(readme.map((s) => s.kind)).toEqual(expect.arrayContaining(['esm-ts', 'cjs']));
  });

  it.each(snippets.map((s) => [s.where, s] as const))(
    '%s runs as pasted, in the project kind it says',
    async (_where, s) => {
      const name = s.file.slice('esm/'.length).replace(/\.(ts|js)$/, '');
      if (s.kind === 'esm-ts') {
        // tsc names each file relative to esm/: "README-md-35.ts(3,5): error TS2304: …"
        expect(typeErrors.split('\n').filter((line) => line.startsWith(`${name}.ts(`))).toEqual([]);
      }
      const [folder, file] = s.kind === 'esm-ts' ? ['esm', join('out', `${name}.js`)] : ['cjs', `${name}.js`];
      const server = /process\.(once|on)\(\s*['"]SIGTERM['"]/.test(s.code);
      const outcome = await runSnippet(file, join(project.path, folder), server);
      expect({ code: outcome.code, signal: outcome.signal, stderr: outcome.stderr }).toEqual({
        code: 0,
        signal: null,
        stderr: '',
      });
    },
    60_000,
  );
});
