// The facts every benchmark result is recorded with: machine, versions, date.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { versions } from '../../local/binaries.js';

export function machineFacts(): Record<string, string> {
  const cpu = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? os.cpus()[0]?.model ?? 'unknown';
  const v = versions();
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    // not a git checkout
  }
  return {
    date: new Date().toISOString().slice(0, 10),
    commit,
    cpu: `${cpu} × ${os.cpus().length}`,
    memory: `${Math.round(os.totalmem() / 2 ** 30)} GiB`,
    node: process.version,
    'kube-apiserver': v.KUBERNETES_VERSION ?? '?',
    etcd: v.ETCD_VERSION ?? '?',
  };
}

export function stats(samples: number[]): { min: number; p50: number; p99: number; max: number; mean: number } {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0;
  return { min: s[0] ?? 0, p50: at(0.5), p99: at(0.99), max: s[s.length - 1] ?? 0, mean: s.reduce((a, b) => a + b, 0) / (s.length || 1) };
}

/** The head of a result section: date and commit, then every fact as a list item, then kcp's version. */
export function resultHeader(facts: Record<string, string> = machineFacts()): string[] {
  return ['', `## ${facts.date} (commit ${facts.commit})`, '', ...Object.entries(facts).map(([k, v]) => `- ${k}: ${v}`), `- kcp: ${versions().KCP_VERSION ?? '?'}`, ''];
}

/** A process's resident set now and at its peak, in MiB (/proc VmRSS, VmHWM). */
export function rssOf(pid: number): { rss: number; hwm: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(s)?.[1] ?? 0) / 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

/**
 * CPU a process used so far, user + system, in seconds (/proc/PID/stat fields 14 and 15, in the
 * kernel's USER_HZ of 100 ticks per second): what a profile's "busy" says, without a profiler.
 */
export function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}
