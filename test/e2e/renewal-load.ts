// A user keeping kcp busy: through the front-proxy, one request after another, listing the
// workspaces of `root` and reading a ConfigMap in a workspace on another shard. Every request is
// recorded (what, when, how it ended), so failures can be set against the rollouts they fell in.
import type { KcpUser } from './kcp-user.js';

export interface RequestRecord {
  what: 'list-workspaces' | 'read-configmap';
  start: number;
  end: number;
  ok: boolean;
  /** The first line of kubectl's stderr, for a failure. */
  error?: string;
}

export interface LoadOptions {
  /** The workspace holding the ConfigMap, e.g. `root:renewal`. */
  workspace: string;
  configMap: string;
  /** The ConfigMap's data.value. */
  expect: string;
  /** Pause between rounds (each round is one request of each kind). */
  pauseMs: number;
  /**
   * After a round with a failure, the pause grows: pauseMs·2ⁿ after n failed rounds in a row, at
   * most this; a user (or client-go's retry) does not hammer a server that just failed.
   */
  maxBackoffMs: number;
}

export class UserLoad {
  readonly records: RequestRecord[] = [];
  private stopped = false;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly user: KcpUser,
    private readonly opts: LoadOptions,
  ) {}

  start(): this {
    this.loop = this.run();
    return this;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }

  get requests(): number {
    return this.records.length;
  }

  get failures(): RequestRecord[] {
    return this.records.filter((r) => !r.ok);
  }

  /** Records that ended after `t`. */
  since(t: number): RequestRecord[] {
    return this.records.filter((r) => r.end > t);
  }

  private async one(what: RequestRecord['what'], workspace: string, args: string[], check: (stdout: string) => boolean): Promise<boolean> {
    const start = Date.now();
    const r = await this.user.kubectl(workspace, args);
    const ok = r.code === 0 && check(r.stdout);
    const error = ok ? undefined : (r.stderr.trim().split('\n')[0] ?? '') || `exit ${r.code}, stdout ${JSON.stringify(r.stdout.slice(0, 200))}`;
    this.records.push({ what, start, end: Date.now(), ok, ...(error === undefined ? {} : { error }) });
    return ok;
  }

  private async run(): Promise<void> {
    let failedRounds = 0;
    while (!this.stopped) {
      const a = await this.one('list-workspaces', 'root', ['get', 'workspaces', '-o', 'name'], (out) => out.includes('workspace.tenancy.kcp.io/'));
      const b = await this.one('read-configmap', this.opts.workspace, ['get', 'configmap', this.opts.configMap, '-o', 'jsonpath={.data.value}'], (out) => out === this.opts.expect);
      failedRounds = a && b ? 0 : failedRounds + 1;
      const pause = Math.min(this.opts.pauseMs * 2 ** failedRounds, this.opts.maxBackoffMs);
      await new Promise((r) => setTimeout(r, pause));
    }
  }
}
