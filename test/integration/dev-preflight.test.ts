// make dev's bad-input answers, from the real entry point: not root names the alternative (kind
// with Docker), a missing binary says how to build it, a busy port names the variable to pick
// another. Each exits 2 before anything starts.
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { binDir, repoRoot } from '../../local/binaries.js';

function dev(opts: { asNobody?: boolean; env?: NodeJS.ProcessEnv }): Promise<{ code: number | null; stderr: string }> {
  const node = [process.execPath, '--import', 'tsx', path.join(repoRoot, 'hack/dev.ts')];
  const [cmd, ...args] = opts.asNobody ? ['runuser', '-u', 'nobody', '--', ...node] : node;
  return new Promise((resolve) => {
    const child = spawn(cmd ?? '', args, { cwd: repoRoot, env: { ...process.env, HOME: '/tmp', ...opts.env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('make dev preflight', () => {
  it('without root: says so and names make kind-e2e', async () => {
    const r = await dev({ asNobody: true });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/needs root/);
    expect(r.stderr).toMatch(/make kind-e2e/);
  });

  it('a binary missing: names it and how to get it', async () => {
    const r = await dev({ env: { BIN_CACHE: '/nonexistent/kcp-operator-ts-bin' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/etcd is not built/);
    expect(r.stderr).toMatch(/make binaries/);
  });

  it('a busy port: names it and KCP_DEV_PORT', async () => {
    const srv = net.createServer();
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
    const port = (srv.address() as net.AddressInfo).port;
    try {
      const r = await dev({ env: { KCP_DEV_PORT: String(port), BIN_CACHE: binDir() } });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`port ${port} on 127.0.0.1 is in use`);
      expect(r.stderr).toContain('KCP_DEV_PORT=');
    } finally {
      srv.close();
    }
  });
});
