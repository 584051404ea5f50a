// Whether a published document reached where it is going, as the sync sidecar reports it on the
// source (its `sync.operator.kcp.io/status` annotation): a partitioned or refused destination
// becomes a reason a person can read, instead of an unexplained wait.
import { STATUS_ANNOTATION } from '../../sync/keys.js';
import type { SourceStatus } from '../../sync/status.js';
import type { KubeObject } from '../kube/object.js';

/** Undelivered states and their condition reasons. */
const REASONS: Record<string, string> = {
  Unreachable: 'ClusterUnreachable',
  Connecting: 'ClusterUnreachable',
  NotRegistered: 'ClusterNotRegistered',
  NotAccepted: 'NamespaceNotAccepting',
  Conflict: 'ReplicaConflict',
  Error: 'DeliveryFailed',
};

/**
 * Why `source` has not reached `cluster`/`namespace`, or undefined when it has (or the sidecar has
 * not said yet). Only what the sidecar wrote is read; content never appears in its status.
 */
export function undelivered(source: KubeObject | undefined, cluster: string, namespace: string): { reason: string; message: string } | undefined {
  const text = source?.metadata.annotations?.[STATUS_ANNOTATION];
  if (!text) return undefined;
  let status: SourceStatus;
  try {
    status = JSON.parse(text) as SourceStatus;
  } catch {
    return undefined;
  }
  if (status.error) return { reason: 'DeliveryFailed', message: `the sync sidecar cannot deliver ${source?.metadata.name}: ${status.error}` };
  const d = status.destinations?.find((x) => x.cluster === cluster && (x.namespace === undefined || x.namespace === namespace));
  const reason = d ? REASONS[d.state] : undefined;
  if (!d || !reason) return undefined;
  return { reason, message: `the sync sidecar reports ${d.state} for ${cluster}/${namespace}${d.message ? `: ${d.message}` : ''}` };
}
