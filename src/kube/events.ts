// Kubernetes Events (events.k8s.io/v1) on the objects a person looks at. Repeats of the same
// event for the same object within the dedup window are dropped: events are for people, and a
// reconcile loop must not turn a steady state into a steady stream of writes.
import { randomBytes } from 'node:crypto';
import type { KubeClient } from './client.js';
import { microTime } from './conditions.js';
import { describeError } from './errors.js';
import type { Logger } from './log.js';
import { silentLogger } from './log.js';
import type { KubeObject } from './object.js';
import { Events } from './resources.js';

export type EventType = 'Normal' | 'Warning';

export class EventRecorder {
  private readonly recent = new Map<string, number>();
  private readonly log: Logger;

  constructor(
    private readonly client: KubeClient,
    private readonly controller: string,
    private readonly instance: string,
    opts: { logger?: Logger; dedupWindowMs?: number } = {},
    private readonly dedupWindowMs = opts.dedupWindowMs ?? 10 * 60_000,
  ) {
    this.log = opts.logger ?? silentLogger;
  }

  /** Records an event; never throws (an event that cannot be written is only logged). */
  async record(obj: KubeObject, type: EventType, reason: string, note: string, action = reason): Promise<void> {
    const namespace = obj.metadata.namespace ?? 'default';
    const key = `${obj.metadata.uid ?? obj.metadata.name}|${type}|${reason}|${note}`;
    const now = Date.now();
    const last = this.recent.get(key);
    if (last !== undefined && now - last < this.dedupWindowMs) return;
    this.recent.set(key, now);
    if (this.recent.size > 10_000) this.prune(now);
    try {
      await this.client.create(Events, {
        apiVersion: 'events.k8s.io/v1',
        kind: 'Event',
        metadata: { name: `${obj.metadata.name}.${randomBytes(8).toString('hex')}`, namespace },
        eventTime: microTime(),
        reportingController: this.controller,
        reportingInstance: this.instance,
        action,
        reason,
        note: note.slice(0, 1024),
        type,
        regarding: {
          apiVersion: obj.apiVersion,
          kind: obj.kind,
          name: obj.metadata.name,
          namespace: obj.metadata.namespace,
          uid: obj.metadata.uid,
          resourceVersion: obj.metadata.resourceVersion,
        },
      });
    } catch (err) {
      this.log.warn({ err: describeError(err), reason }, 'cannot record event');
    }
  }

  private prune(now: number): void {
    for (const [k, t] of this.recent) if (now - t >= this.dedupWindowMs) this.recent.delete(k);
  }
}
