/**
 * The compiler options of a user's TypeScript project on Node.js, for the tests that type-check
 * code as users write it (README snippets, consumers of the packed package): strict, ES2022,
 * `NodeNext` (an ES module or CommonJS, as the project's package.json says), output in `out/`.
 */

/** Those options, with `extra` added or overriding. */
export function nodeNextCompilerOptions(extra: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    strict: true,
    types: ['node'],
    outDir: 'out',
    ...extra,
  };
}
