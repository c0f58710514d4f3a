/**
 * `blockyard_worker_transitions_total{from,to}` (the `countTransitions` option): every
 * transition a tick finds, the same ones `transitions$` reports, counted whether or not anyone
 * subscribes to it.
 *
 * Bounded: `from` and `to` are each one of the three worker states or `none` (a worker
 * appearing, `from="none"`, or leaving, `to="none"`), never the same, so 12 series, all
 * exported from the start at 0 so that `rate()` and `increase()` see a transition's first
 * occurrence. Which worker or app changed is left to `transitions$` (and `byApp`): a label per
 * worker would grow without bound.
 *
 *     tick:          --1-----------2-------
 *     transitions$:  --(a b)-------(c)-----   (a, b: none→idle; c: idle→busy)
 *     none→idle:     --2-----------2-------
 *     idle→busy:     --0-----------1-------
 *
 * The tick counts into an array and adds each pair's total to its child once: a tick where
 * 100,000 workers appear costs 100,000 array increments and one `inc()`.
 *
 * @packageDocumentation
 */
import type { Counter } from 'prom-client';
import { StateBusy, StateDraining, StateIdle } from '../labels';
import { CODE_NONE } from './state-diff';

/** The `from` / `to` value of a worker absent on one side of a transition. */
const TRANSITION_NONE = 'none';

/** The label value of each code: the state codes (worker-state.ts), then {@link CODE_NONE}. */
const VALUE_OF_CODE: readonly string[] = [StateBusy, StateIdle, StateDraining, TRANSITION_NONE];

/** Pairs of codes, `from * 4 + to`: 16, of which 12 can happen. */
const PAIRS = 16;

/** Counts transitions into `blockyard_worker_transitions_total`. @internal */
export class TransitionCounter {
  /** The child of each pair that can happen, by `from * 4 + to`. */
  private readonly children: (Counter.Internal | undefined)[] = [];
  private readonly pending = new Float64Array(PAIRS);

  constructor(counter: Counter<'from' | 'to'>) {
    for (let from = 0; from <= CODE_NONE; from += 1) {
      for (let to = 0; to <= CODE_NONE; to += 1) {
        if (from === to) continue;
        const child = counter.labels(VALUE_OF_CODE[from] as string, VALUE_OF_CODE[to] as string);
        child.inc(0);
        this.children[from * 4 + to] = child;
      }
    }
  }

  /** Adds one tick's transitions, given as their pairs of codes (`from * 4 + to`). */
  count(pairs: readonly number[]): void {
    const pending = this.pending;
    pending.fill(0);
    for (const pair of pairs) pending[pair] = (pending[pair] as number) + 1;
    for (let pair = 0; pair < PAIRS; pair += 1) {
      const n = pending[pair] as number;
      if (n > 0) this.children[pair]?.inc(n);
    }
  }
}
