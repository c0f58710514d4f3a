/**
 * The kit imports no test framework: a suite written for node:test and node:assert runs it in
 * a child process, where jest is nowhere, and passes.
 */
import { runTsFile } from '../helpers/run-ts-child';

describe('the testing kit outside jest', () => {
  it('passes a node:test suite using every function of the kit', async () => {
    const { code, output } = await runTsFile('spec/fixtures/testing-kit-node-test.ts', [], { timeoutMs: 60_000 });
    expect(output).toMatch(/pass 3/);
    expect(output).toMatch(/fail 0/);
    expect(code).toBe(0);
  }, 90_000);
});
