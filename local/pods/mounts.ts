// The mount steps of a Pod, as a kubelet and its container runtime would lay them out, for a
// process that has no root file system of its own: it sees the host's, in a private mount namespace.
//
// Volumes are bind-mounted in order of path depth, so a volume mounted inside another one (kcp's
// front-proxy: /etc/kcp/tls/ca and /etc/kcp/tls/ca/requestheader-client) lands on top of it. A
// mount point that does not exist is created, but never in a real host directory nor in a Secret
// or ConfigMap volume: the directory it would go in is first "shadowed", i.e. replaced (inside the
// namespace only) by a tmpfs that shows the same entries, each bind-mounted from the original, and
// the mount point is created in that tmpfs. Only an emptyDir, which belongs to the Pod, gets its
// mount points created directly. The namespace ends with its process, so nothing is left behind.
import { lstatSync, readdirSync, readlinkSync, realpathSync, statSync, type Stats } from 'node:fs';
import path from 'node:path';

export interface MountRequest {
  /** The host file or directory: a volume's directory, or a file or directory in it (subPath). */
  source: string;
  /** The mountPath, absolute. */
  target: string;
  /** An emptyDir: the Pod may create entries in it. Secret and ConfigMap volumes stay as they are. */
  podOwned: boolean;
  readOnly: boolean;
}

/** What the planner needs of the host file system; a seam for the tests of odd layouts. */
export interface FsView {
  stat(p: string): Stats | undefined;
  lstat(p: string): Stats | undefined;
  readdir(p: string): string[];
  readlink(p: string): string;
  realpath(p: string): string;
}

const tryStat = (f: (p: string) => Stats) => (p: string) => {
  try {
    return f(p);
  } catch {
    return undefined;
  }
};

export const hostFs: FsView = {
  stat: tryStat((p) => statSync(p)),
  lstat: tryStat((p) => lstatSync(p)),
  readdir: (p) => readdirSync(p),
  readlink: (p) => readlinkSync(p),
  realpath: (p) => realpathSync(p),
};

/** Single-quoted for bash. */
export const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * A layer of the namespace's mount table as planned: what is mounted at `target`. `backing` is the
 * host path whose content shows there; undefined for a tmpfs this plan made (its entries are the
 * ones the plan created). `podOwned`: entries may be created in it without touching anything shared.
 */
interface Layer {
  target: string;
  backing: string | undefined;
  podOwned: boolean;
}

interface Node {
  exists: boolean;
  isDir: boolean;
  podOwned: boolean;
  backing: string | undefined;
}

const under = (p: string, dir: string) => p === dir || p.startsWith(dir === '/' ? '/' : `${dir}/`);
const depth = (p: string) => p.split('/').filter(Boolean).length;

/**
 * The bash lines that mount `mounts` (in any order) in the current mount namespace, which must be
 * private. `stageDir` is a directory of the Pod's own where tmpfs shadows are prepared.
 * Throws for what no kubelet would run either (a relative mountPath, a file over a directory).
 */
export function planMounts(mounts: MountRequest[], stageDir: string, fs: FsView = hostFs): string[] {
  const layers: Layer[] = [];
  const created = new Map<string, boolean>(); // what the plan creates (in a tmpfs or an emptyDir) -> is a directory
  const lines: string[] = [];
  let shadows = 0;

  const layerOf = (p: string): Layer | undefined => {
    let best: Layer | undefined;
    // Later layers at the same depth sit on top of earlier ones.
    for (const l of layers) if (under(p, l.target) && (!best || depth(l.target) >= depth(best.target))) best = l;
    return best;
  };
  const node = (p: string): Node => {
    const l = layerOf(p);
    const podOwned = l?.podOwned ?? false;
    const made = created.get(p);
    if (l && l.backing === undefined) {
      const isDir = p === l.target ? true : made;
      return { exists: isDir !== undefined, isDir: isDir ?? false, podOwned, backing: undefined };
    }
    const backing = l ? path.join(l.backing ?? '', path.relative(l.target, p)) : p;
    if (made !== undefined) return { exists: true, isDir: made, podOwned, backing };
    const st = fs.stat(backing);
    return { exists: !!st, isDir: st?.isDirectory() ?? false, podOwned, backing };
  };
  const pushLayer = (l: Layer) => {
    for (const c of created.keys()) if (under(c, l.target)) created.delete(c); // hidden now
    layers.push(l);
  };

  // Replaces directory `dir` (in the namespace only) by a tmpfs with the same entries.
  const shadow = (dir: string, n: Node) => {
    if (dir === '/') throw new Error('cannot create a top-level directory for a mount: the pod runner shares the host\'s root file system');
    const backing = n.backing ?? dir;
    const st = fs.stat(backing);
    const stage = path.join(stageDir, String(shadows++));
    const mode = ((st?.mode ?? 0o755) & 0o7777).toString(8);
    lines.push(`mkdir -p ${q(stage)}`, `mount -t tmpfs -o mode=${mode},uid=${st?.uid ?? 0},gid=${st?.gid ?? 0} kpr-shadow ${q(stage)}`);
    // A snapshot of the entries: enough, as a Pod is started afresh whenever what it mounts changes.
    const entries = fs.readdir(backing).sort();
    const stubs: Layer[] = [];
    const dirs: string[] = [];
    const files: string[] = [];
    const binds: string[] = [];
    for (const e of entries) {
      const from = path.join(dir, e);
      const to = path.join(stage, e);
      const lst = fs.lstat(path.join(backing, e));
      if (lst?.isSymbolicLink()) {
        lines.push(`ln -s ${q(fs.readlink(path.join(backing, e)))} ${q(to)}`);
        continue;
      }
      (lst?.isDirectory() ? dirs : files).push(q(to));
      binds.push(`mount --rbind ${q(from)} ${q(to)}`);
      stubs.push({ target: from, backing: path.join(backing, e), podOwned: n.podOwned });
    }
    if (dirs.length) lines.push(`mkdir ${dirs.join(' ')}`);
    if (files.length) lines.push(`touch ${files.join(' ')}`);
    lines.push(...binds, `mount --move ${q(stage)} ${q(dir)}`);
    pushLayer({ target: dir, backing: undefined, podOwned: true });
    for (const l of stubs) pushLayer(l);
  };

  // Makes `p` exist as a directory (or an empty file) where the namespace can mount on it.
  const ensure = (p: string, isDir: boolean) => {
    const n = node(p);
    if (n.exists) {
      if (n.isDir !== isDir) throw new Error(`cannot mount a ${isDir ? 'directory' : 'file'} on ${p}: it is a ${n.isDir ? 'directory' : 'file'}`);
      return;
    }
    const missing: string[] = [];
    let a = p;
    for (; !node(a).exists; a = path.dirname(a)) missing.unshift(a);
    const an = node(a);
    if (!an.isDir) throw new Error(`cannot mount on ${p}: ${a} is not a directory`);
    if (!an.podOwned) shadow(a, an);
    for (const [i, m] of missing.entries()) {
      const dir = i < missing.length - 1 || isDir;
      lines.push(dir ? `mkdir ${q(m)}` : `touch ${q(m)}`);
      created.set(m, dir);
    }
  };

  const canonical = (target: string) => {
    if (!path.isAbsolute(target)) throw new Error(`mountPath ${target} is not absolute`);
    const t = path.normalize(target);
    // Symbolic links on the way (/var/run -> /run) are resolved now, while the host view still
    // holds: the plan tracks paths as strings.
    let a = t;
    while (!fs.stat(a) && a !== '/') a = path.dirname(a);
    return path.join(fs.realpath(a), path.relative(a, t));
  };

  const ordered = mounts.map((m, i) => ({ ...m, target: canonical(m.target), i })).sort((x, y) => depth(x.target) - depth(y.target) || x.i - y.i);
  for (const m of ordered) {
    const st = fs.stat(m.source);
    if (!st) throw new Error(`volume source ${m.source} does not exist`);
    ensure(m.target, st.isDirectory());
    lines.push(`mount --bind ${q(m.source)} ${q(m.target)}`);
    if (m.readOnly) lines.push(`mount -o remount,bind,ro ${q(m.target)}`);
    pushLayer({ target: m.target, backing: m.source, podOwned: m.podOwned && !m.readOnly });
  }
  return lines;
}
