/**
 * The testing kit, `blockyard-telemetry/testing`: assertions for code that records into a
 * prom-client registry, in the spirit of client_golang's `testutil`. Each function reads what
 * a scraper would read (the registry's exposition), so it works with any registry (ours or
 * not, of either content type) and renames nothing in it. No test framework is imported:
 * failures are rejected promises with readable messages, which jest, node:test and vitest all
 * report.
 *
 * @module blockyard-telemetry/testing
 */
export { collectAndCompare } from './collect-and-compare';
export { collectAndCount } from './collect-and-count';
export { lint, type LintProblem } from './lint';
export { toFloat64, type SampleLabels } from './to-float64';
