// Leader election on a coordination.k8s.io/v1 Lease with client-go's semantics: a lease is
// expired when its record has not changed for leaseDuration of *our* clock (so clock skew between
// nodes does not matter), updates are guarded by resourceVersion, and a leader that cannot renew
// within renewDeadline steps down. Callers exit the process on loss, as controller-runtime does.
import type { KubeClient } from './client.js';
import { sleep } from './client.js';
import { microTime } from './conditions.js';
import { describeError, isAlreadyExists, isConflict, isNotFound } from './errors.js';
import type { Logger } from './log.js';
import { silentLogger } from './log.js';
import { leaderStatus } from './metrics.js';
import type { KubeObject } from './object.js';
import { Leases } from './resources.js';

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  /** Give the lease up on a clean stop so a successor need not wait for expiry. */
  releaseOnCancel?: boolean;
  logger?: Logger;
}

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

type Lease = KubeObject & { spec?: LeaseSpec };

export class LeaderElector {
  private observedRecord = '';
  private observedAt = 0;
  private leading = false;
  private lease: Lease | undefined;
  /** The background renewals, and how release() stops them before it writes. */
  private renewing: Promise<void> | undefined;
  private stopRenewing = new AbortController();
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly log: Logger;

  constructor(
    private readonly client: KubeClient,
    private readonly opts: LeaderElectionOptions,
  ) {
    this.leaseDurationMs = opts.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = opts.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = opts.retryPeriodMs ?? 2_000;
    this.log = (opts.logger ?? silentLogger).child({ lease: `${opts.namespace}/${opts.name}`, identity: opts.identity });
  }

  isLeader(): boolean {
    return this.leading;
  }

  /**
   * Blocks until this instance leads (resolves true) or `signal` aborts (resolves false). Then
   * renews in the background; `onLost` runs once if renewal fails for longer than renewDeadline.
   */
  async acquire(signal: AbortSignal, onLost: () => void): Promise<boolean> {
    while (!signal.aborted) {
      if (await this.tryAcquireOrRenew()) {
        this.leading = true;
        leaderStatus.set({ name: this.opts.name }, 1);
        this.log.info('acquired leadership');
        this.stopRenewing = new AbortController();
        this.renewing = this.renewLoop(AbortSignal.any([signal, this.stopRenewing.signal]), onLost);
        return true;
      }
      await sleep(this.retryPeriodMs * (1 + Math.random() * 0.2), signal);
    }
    return false;
  }

  private async renewLoop(signal: AbortSignal, onLost: () => void): Promise<void> {
    let lastRenew = Date.now();
    while (!signal.aborted && this.leading) {
      await sleep(this.retryPeriodMs, signal);
      if (signal.aborted) break;
      if (await this.tryAcquireOrRenew()) {
        lastRenew = Date.now();
        continue;
      }
      if (Date.now() - lastRenew >= this.renewDeadlineMs || !this.holdsLease()) {
        this.leading = false;
        leaderStatus.set({ name: this.opts.name }, 0);
        this.log.error('leader election lost');
        onLost();
        return;
      }
    }
    // Stopped: whoever stopped us either released the lease or is about to exit.
    if (signal.aborted && this.leading && !this.opts.releaseOnCancel) {
      this.leading = false;
      leaderStatus.set({ name: this.opts.name }, 0);
    }
  }

  private holdsLease(): boolean {
    return this.lease?.spec?.holderIdentity === this.opts.identity;
  }

  /** One attempt, as client-go's tryAcquireOrRenew. */
  async tryAcquireOrRenew(): Promise<boolean> {
    const now = new Date();
    const { namespace, name, identity } = this.opts;
    const record = (prev?: LeaseSpec): LeaseSpec => ({
      holderIdentity: identity,
      leaseDurationSeconds: Math.ceil(this.leaseDurationMs / 1000),
      acquireTime: prev?.holderIdentity === identity && prev.acquireTime ? prev.acquireTime : microTime(now),
      renewTime: microTime(now),
      leaseTransitions:
        prev === undefined ? 0 : (prev.leaseTransitions ?? 0) + (prev.holderIdentity === identity ? 0 : 1),
    });
    let current: Lease;
    try {
      current = await this.client.get<Lease>(Leases, namespace, name);
    } catch (err) {
      if (!isNotFound(err)) {
        this.log.warn({ err: describeError(err) }, 'cannot read lease');
        return false;
      }
      try {
        this.lease = await this.client.create<Lease>(Leases, {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name, namespace },
          spec: record(),
        });
        this.observe(this.lease);
        return true;
      } catch (createErr) {
        if (!isAlreadyExists(createErr)) this.log.warn({ err: describeError(createErr) }, 'cannot create lease');
        return false;
      }
    }
    this.lease = current;
    this.observe(current);
    const spec = current.spec ?? {};
    const heldByOther = !!spec.holderIdentity && spec.holderIdentity !== identity;
    if (heldByOther && this.observedAt + (spec.leaseDurationSeconds ?? 0) * 1000 > Date.now()) return false;
    try {
      this.lease = await this.client.update<Lease>(Leases, { ...current, spec: record(spec) });
      this.observe(this.lease);
      return true;
    } catch (err) {
      if (!isConflict(err)) this.log.warn({ err: describeError(err) }, 'cannot update lease');
      return false;
    }
  }

  private observe(lease: Lease): void {
    const rec = JSON.stringify(lease.spec ?? {});
    if (rec !== this.observedRecord) {
      this.observedRecord = rec;
      this.observedAt = Date.now();
    }
  }

  /** Gives the lease up (ReleaseOnCancel) so a standby takes over at once. */
  async release(): Promise<void> {
    if (!this.leading || !this.opts.releaseOnCancel || !this.lease) return;
    // A renewal still in flight would otherwise race the release: landing first, it makes the
    // release fail on a conflict; reading the released record, it takes the lease back. Either
    // way the standby would wait out a whole lease. So stop renewing, then release the latest.
    this.stopRenewing.abort();
    await this.renewing;
    if (!this.leading || !this.lease) return;
    this.leading = false;
    leaderStatus.set({ name: this.opts.name }, 0);
    try {
      await this.client.update<Lease>(Leases, {
        ...this.lease,
        spec: { ...this.lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime() },
      });
      this.log.info('released leadership');
    } catch (err) {
      this.log.warn({ err: describeError(err) }, 'cannot release lease');
    }
  }
}
