/**
 * The metric contract (shared/CONTRACT.md) as data, for parity tests. Kept as a literal copy
 * so the tests run from a clone alone; any change here is a change of the wire contract.
 */
export interface ContractEntry {
  readonly property: string;
  readonly name: string;
  readonly type: 'gauge' | 'counter' | 'histogram';
  readonly labels: readonly string[];
  readonly buckets?: readonly number[];
}

export const CONTRACT: readonly ContractEntry[] = [
  { property: 'workersActive', name: 'blockyard_workers_active', type: 'gauge', labels: [] },
  { property: 'workersByState', name: 'blockyard_workers', type: 'gauge', labels: ['state'] },
  { property: 'sessionsActive', name: 'blockyard_sessions_active', type: 'gauge', labels: [] },
  { property: 'workersSpawned', name: 'blockyard_workers_spawned_total', type: 'counter', labels: [] },
  { property: 'workersStopped', name: 'blockyard_workers_stopped_total', type: 'counter', labels: ['reason'] },
  { property: 'bundlesUploaded', name: 'blockyard_bundles_uploaded_total', type: 'counter', labels: [] },
  {
    property: 'bundleRestoresSucceeded',
    name: 'blockyard_bundle_restores_succeeded_total',
    type: 'counter',
    labels: [],
  },
  { property: 'bundleRestoresFailed', name: 'blockyard_bundle_restores_failed_total', type: 'counter', labels: [] },
  { property: 'proxyRequests', name: 'blockyard_proxy_requests_total', type: 'counter', labels: ['app', 'status'] },
  { property: 'healthChecksFailed', name: 'blockyard_health_checks_failed_total', type: 'counter', labels: ['app'] },
  { property: 'auditEntriesDropped', name: 'blockyard_audit_entries_dropped_total', type: 'counter', labels: [] },
  {
    property: 'coldStartDuration',
    name: 'blockyard_cold_start_seconds',
    type: 'histogram',
    labels: [],
    buckets: [0.5, 1, 2, 4, 8, 16, 32, 64],
  },
  {
    property: 'proxyRequestDuration',
    name: 'blockyard_proxy_request_seconds',
    type: 'histogram',
    labels: [],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  },
  {
    property: 'buildDuration',
    name: 'blockyard_build_seconds',
    type: 'histogram',
    labels: [],
    buckets: [5, 10, 20, 40, 80, 160, 320, 640],
  },
];

/** One opt-in collector beside the contract: shared/CONTRACT.md, "Opt-in collectors beside the contract". */
export interface OptInEntry {
  readonly option: 'byApp' | 'countTransitions' | 'selfMetrics';
  readonly name: string;
  readonly type: 'gauge' | 'counter' | 'histogram';
  readonly labels: readonly string[];
}

/** The tracker's opt-in collectors, as literals; any change here is a change of what dashboards rely on. */
export const OPT_IN: readonly OptInEntry[] = [
  { option: 'byApp', name: 'blockyard_app_workers', type: 'gauge', labels: ['app', 'state'] },
  { option: 'countTransitions', name: 'blockyard_worker_transitions_total', type: 'counter', labels: ['from', 'to'] },
  { option: 'selfMetrics', name: 'blockyard_tracker_last_reconcile_timestamp_seconds', type: 'gauge', labels: [] },
  { option: 'selfMetrics', name: 'blockyard_tracker_reconcile_duration_seconds', type: 'histogram', labels: [] },
  { option: 'selfMetrics', name: 'blockyard_tracker_snapshot_age_seconds', type: 'gauge', labels: [] },
  { option: 'selfMetrics', name: 'blockyard_tracker_invalid_workers', type: 'gauge', labels: [] },
  { option: 'selfMetrics', name: 'blockyard_tracker_errors_total', type: 'counter', labels: ['origin'] },
];

/** The label values of the opt-in collectors' bounded labels (besides `state`). */
export const OPT_IN_VALUES: Readonly<Record<string, readonly string[]>> = {
  from: ['none', 'busy', 'idle', 'draining'],
  to: ['none', 'busy', 'idle', 'draining'],
  origin: ['snapshot', 'event', 'source', 'tick', 'subscriber', 'bound'],
};
