// The production install, as the Dockerfile builds it: compiled JavaScript plus `npm ci
// --omit=dev` in a clean directory. Both entry points must start (print --help) with no dev
// dependency present (their imports are static, so --help loads every module).
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../local/binaries.js';

describe('production install', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kcp-operator-prod-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('builds, installs without dev dependencies, and both entry points start', () => {
    execFileSync(path.join(repoRoot, 'node_modules/.bin/tsc'), ['-p', path.join(repoRoot, 'tsconfig.build.json'), '--outDir', path.join(dir, 'dist')], { stdio: 'pipe' });
    for (const f of ['package.json', 'package-lock.json']) copyFileSync(path.join(repoRoot, f), path.join(dir, f));
    execFileSync('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: dir, stdio: 'pipe' });
    expect(existsSync(path.join(dir, 'node_modules/pino'))).toBe(true);
    // client-node is for tests only (they parse generated kubeconfigs with it): the processes load
    // kubeconfigs with src/kube/kubeconfig.ts, and importing it would cost each about 65 MiB.
    for (const dev of ['@kubernetes/client-node', 'vitest', 'typescript', 'tsx', 'eslint']) expect(existsSync(path.join(dir, 'node_modules', dev)), dev).toBe(false);

    const op = execFileSync(process.execPath, ['dist/src/main.js', '--help'], { cwd: dir, encoding: 'utf8' });
    expect(op).toContain('Usage: kcp-operator');
    expect(op).toContain('--leader-elect');
    const sync = execFileSync(process.execPath, ['dist/sync/main.js', '--help'], { cwd: dir, encoding: 'utf8' });
    expect(sync).toContain('Usage: kcp-sync');
  });
});
