// Child processes for the test harness: each runs under hack/lib/reaper.sh, which ends it if this
// process dies without cleaning up, and is stopped with SIGTERM then SIGKILL.
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from './binaries.js';

const REAPER = path.join(repoRoot, 'hack/lib/reaper.sh');
const live = new Set<ManagedProcess>();

export class ManagedProcess {
  private exited: Promise<number | null>;
  exitCode: number | null | undefined;

  private constructor(
    readonly name: string,
    readonly child: ChildProcess,
    readonly logPath: string,
  ) {
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitCode = code ?? (signal ? -1 : null);
        live.delete(this);
        resolve(code);
      });
    });
  }

  static start(name: string, command: string, args: string[], opts: { logPath: string; env?: NodeJS.ProcessEnv }) {
    const fd = openSync(opts.logPath, 'a');
    const child = spawn(REAPER, [String(process.pid), command, ...args], {
      stdio: ['ignore', fd, fd],
      env: { ...process.env, ...opts.env },
      detached: true,
    });
    closeSync(fd);
    const p = new ManagedProcess(name, child, opts.logPath);
    live.add(p);
    return p;
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  async stop(graceMs = 5000): Promise<void> {
    if (!this.running || this.child.pid === undefined) return;
    const pid = this.child.pid;
    try {
      process.kill(-pid, 'SIGTERM');
    } catch {
      return;
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }, graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** Sends a signal to the process group (SIGKILL: a crash, no cleanup); resolves once it exited. */
  async kill(signal: NodeJS.Signals): Promise<void> {
    if (!this.running || this.child.pid === undefined) return;
    try {
      process.kill(-this.child.pid, signal);
    } catch {
      return;
    }
    await this.exited;
  }

  wait(): Promise<number | null> {
    return this.exited;
  }
}

function killAll(): void {
  for (const p of live) {
    if (p.child.pid !== undefined) {
      try {
        process.kill(-p.child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

process.once('exit', killAll);
