/**
 * In a cluster worker: answers the primary's metrics requests with this worker's registry.
 *
 * @packageDocumentation
 */
import cluster from 'node:cluster';
import { register as defaultRegistry, type Registry, type RegistryContentType } from 'prom-client';
import { messageOf } from '../describe-value';
import { stopFunction, type StopFunction } from '../lifecycle';
import { OptionChecks } from '../options';
import {
  REQUEST,
  RESPONSE,
  encodeNonFinite,
  isMessage,
  type MetricsRequest,
  type MetricsResponse,
} from './cluster-protocol';
import { registryAsJSON } from './render-registry';

/**
 * What {@link shareWorkerMetrics} returns: call it (or its `close()`) to stop answering the
 * primary. Idempotent.
 */
export type WorkerMetricsSharing = StopFunction;

/**
 * In a cluster worker: answers the primary's metrics requests with `registry`'s metrics
 * (default: prom-client's global registry). Returns the function that stops answering.
 *
 * Throws a `TypeError` outside a cluster worker, where there is no primary to answer.
 */
export function shareWorkerMetrics(registry: Registry<RegistryContentType> = defaultRegistry): WorkerMetricsSharing {
  const check = new OptionChecks('shareWorkerMetrics');
  if (!cluster.isWorker || typeof process.send !== 'function') {
    check.fail('call it in a node:cluster worker (cluster.isWorker is false here)');
  }
  if (sharing) {
    // Both would answer each request and the primary would keep whichever came first: the
    // other registry would never be served, without a word.
    check.fail(
      'this worker already shares a registry; call the function it returned first, or share one registry (Registry.merge)',
    );
  }
  check.registry('registry', registry);
  const send = (response: MetricsResponse): void => {
    try {
      // The callback keeps a closed channel (the primary going away) from becoming an
      // 'error' event; there is nobody left to answer then.
      process.send?.(response, undefined, undefined, () => undefined);
    } catch {
      // As above.
    }
  };
  const onMessage = (message: unknown): void => {
    if (!isMessage<MetricsRequest>(message, REQUEST)) return;
    const { id } = message;
    registryAsJSON(registry).then(
      (metrics) => send({ type: RESPONSE, id, metrics: encodeNonFinite(metrics) }),
      (err: unknown) => send({ type: RESPONSE, id, error: messageOf(err) }),
    );
  };
  process.on('message', onMessage);
  sharing = true;
  return stopFunction(() => {
    sharing = false;
    process.off('message', onMessage);
    return Promise.resolve();
  });
}

/** Whether this worker shares a registry now (see {@link shareWorkerMetrics}). */
let sharing = false;
