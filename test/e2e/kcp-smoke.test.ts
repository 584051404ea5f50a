// Smoke test of the real kcp binaries: each reports its version, and `kcp start` with embedded
// etcd in a temporary directory becomes ready on loopback. Skipped, with the reason, when the Go
// module proxy could not supply kcp (hack/build-binaries.sh records why).
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { binaryPath, unavailableReason, versions } from '../../local/binaries.js';
import { freePort } from '../../local/ports.js';
import { ManagedProcess } from '../../local/process.js';

const reason = unavailableReason('kcp');
if (reason) console.warn(`SKIP kcp smoke tests: ${reason}`);

describe.skipIf(reason !== undefined)('kcp binaries', () => {
  it.each(['kcp', 'kcp-front-proxy', 'cache-server'] as const)('%s reports its version', (name) => {
    const out = execFileSync(binaryPath(name), ['--version'], { encoding: 'utf8' });
    expect(out).toContain(versions().KCP_VERSION);
  });

  it('kcp start with embedded etcd becomes ready on loopback', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'kcp-smoke-'));
    const [port, etcdClient, etcdPeer] = [await freePort(), await freePort(), await freePort()];
    const kcp = ManagedProcess.start(
      'kcp',
      binaryPath('kcp'),
      [
        'start',
        `--root-directory=${dir}`,
        '--bind-address=127.0.0.1',
        `--secure-port=${port}`,
        `--embedded-etcd-client-port=${etcdClient}`,
        `--embedded-etcd-peer-port=${etcdPeer}`,
      ],
      { logPath: path.join(dir, 'kcp.log'), env: { UNSAFE_E2E_HACK_DISABLE_ETCD_FSYNC: 'true' } },
    );
    try {
      const deadline = Date.now() + 120_000;
      let ready = false;
      while (!ready && Date.now() < deadline && kcp.running) {
        const ca = await readFile(path.join(dir, 'apiserver.crt'), 'utf8').catch(() => undefined);
        if (ca) ready = await readyz(`https://127.0.0.1:${port}/readyz`, ca);
        if (!ready) await new Promise((r) => setTimeout(r, 500));
      }
      expect(ready, await readFile(kcp.logPath, 'utf8').catch(() => '')).toBe(true);
    } finally {
      await kcp.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

function readyz(url: string, ca: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = https.get(url, { ca, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
  });
}
