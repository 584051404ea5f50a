// hack/build-binaries.sh's kcp set and the pod runner's image-command mapping: a VirtualWorkspace
// runs the kcp image's `/virtual-workspaces`, so the binary must be built, and a cache from before
// it was added must count as incomplete. The script runs for real against stub binaries in a
// scratch cache; the Go module proxy is switched off (and the module cache empty), so a rebuild
// stops at its first download instead of compiling kcp.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { repoRoot, versions } from '../../local/binaries.js';
import { defaultBinaryFor } from '../../local/pods/runner.js';

const scratch: string[] = [];
afterEach(() => {
  for (const d of scratch.splice(0)) rmSync(d, { recursive: true, force: true });
});

function cacheWith(bins: string[]): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bin-cache-'));
  scratch.push(dir);
  const kcpDir = path.join(dir, `kcp-${versions().KCP_VERSION}`);
  mkdirSync(kcpDir, { recursive: true });
  for (const b of bins) {
    writeFileSync(path.join(kcpDir, b), '#!/bin/sh\n');
    chmodSync(path.join(kcpDir, b), 0o755);
  }
  return dir;
}

function buildKcp(binCache: string, component = 'kcp') {
  const modCache = mkdtempSync(path.join(os.tmpdir(), 'gomodcache-'));
  scratch.push(modCache);
  const env: NodeJS.ProcessEnv = { ...process.env, BIN_CACHE: binCache, GOPROXY: 'off', GOMODCACHE: modCache, GOFLAGS: '' };
  delete env.KCP_BIN_DIR;
  delete env.KCP_SOURCE_DIR;
  const r = spawnSync('bash', [path.join(repoRoot, 'hack/build-binaries.sh'), component], { env, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stderr: r.stderr };
}

/** A scratch cache holding a stub helm at the pinned version, or nothing. */
function cacheWithHelm(present: boolean): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bin-cache-'));
  scratch.push(dir);
  if (present) {
    const helmDir = path.join(dir, `helm-${versions().HELM_VERSION}`);
    mkdirSync(helmDir, { recursive: true });
    writeFileSync(path.join(helmDir, 'helm'), '#!/bin/sh\n');
    chmodSync(path.join(helmDir, 'helm'), 0o755);
  }
  return dir;
}

const hasGo = spawnSync('go', ['version']).status === 0;

describe.skipIf(!hasGo)('hack/build-binaries.sh kcp', () => {
  it('takes a cache holding all four kcp binaries as built', () => {
    const r = buildKcp(cacheWith(['kcp', 'kcp-front-proxy', 'cache-server', 'virtual-workspaces']));
    expect(r.stderr).toContain('cached in');
    expect(r.code).toBe(0);
  });

  it('rebuilds a cache from before virtual-workspaces was added (three binaries) instead of calling it complete', () => {
    const r = buildKcp(cacheWith(['kcp', 'kcp-front-proxy', 'cache-server']));
    expect(r.stderr).not.toContain('cached in');
    // It went on to build: the switched-off module proxy is where it stopped.
    expect(r.stderr).toMatch(/module proxy/);
    expect(r.code).not.toBe(0);
  });
});

// helm (for the chart's tests) is one more component, cached like the others: "install Helm from
// a registry package", i.e. helm.sh/helm/v3/cmd/helm from the Go module proxy, never a download.
describe.skipIf(!hasGo)('hack/build-binaries.sh helm', () => {
  it('takes a cached helm at the pinned version as built', () => {
    const r = buildKcp(cacheWithHelm(true), 'helm');
    expect(r.stderr).toContain(`helm ${versions().HELM_VERSION}: cached in`);
    expect(r.code).toBe(0);
  });

  it('builds helm from the Go module proxy when the cache has none', () => {
    const r = buildKcp(cacheWithHelm(false), 'helm');
    expect(r.stderr).not.toContain('cached in');
    expect(r.stderr).toContain(`helm.sh/helm/v3@${versions().HELM_VERSION}`);
    expect(r.code).not.toBe(0);
  });
});

describe('the pod runner', () => {
  it('runs the kcp image\'s /virtual-workspaces as the virtual-workspaces binary', () => {
    expect(defaultBinaryFor({ name: 'kcp', image: 'ghcr.io/kcp-dev/kcp:v0.32.3', command: ['/virtual-workspaces'] })).toBe('virtual-workspaces');
    expect(defaultBinaryFor({ name: 'kcp', image: 'ghcr.io/kcp-dev/kcp:v0.32.3', command: ['/kcp', 'start'] })).toBe('kcp');
  });
});
