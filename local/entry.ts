// The operator's and the sidecar's entry points, run as real processes from source (under tsx),
// the way make dev, the process tests and the benchmarks start them.
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import path from 'node:path';
import { SIDECAR_NODE_FLAGS } from '../sync/node-flags.js';
import { repoRoot } from './binaries.js';

export type Entry = 'src/main.ts' | 'sync/main.ts';

/** The command line that runs `entry` from source: Node, the flags it ships with, tsx, the file. */
export function entryArgv(entry: Entry): string[] {
  const nodeFlags = entry === 'sync/main.ts' ? SIDECAR_NODE_FLAGS : [];
  return [process.execPath, ...nodeFlags, '--import', 'tsx', path.join(repoRoot, entry)];
}

export function spawnEntry(entry: Entry, args: string[], opts: { env?: NodeJS.ProcessEnv; stdio?: StdioOptions } = {}): ChildProcess {
  const [node, ...argv] = entryArgv(entry);
  return spawn(node ?? process.execPath, [...argv, ...args], {
    cwd: repoRoot,
    stdio: opts.stdio ?? 'ignore',
    env: { ...process.env, ...opts.env },
  });
}
