// Smoke test of the real kcp binaries (make test builds them; a missing one fails here, it is
// never skipped): kcp and kcp-front-proxy report their version, and kcp start and cache-server,
// each with embedded etcd in a temporary directory and a serving certificate and client CA of the
// test's own, become ready on loopback and report the pinned version from /version to a client
// in system:masters.
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { binaryPath, versions, type BinaryName } from '../../local/binaries.js';
import { createControlPlanePki, type ControlPlanePki } from '../../local/pki.js';
import { freePort } from '../../local/ports.js';
import { ManagedProcess } from '../../local/process.js';

describe('kcp binaries', () => {
  // cache-server has no --version flag (its command line is the server's own flags only).
  it.each(['kcp', 'kcp-front-proxy'] as const)('%s reports its version', (name) => {
    const out = execFileSync(binaryPath(name), ['--version'], { encoding: 'utf8' });
    expect(out).toContain(versions().KCP_VERSION);
  });

  it('kcp start with embedded etcd becomes ready on loopback', async () => {
    await serveAndCheck('kcp', (dir, port, etcd) => [
      'start',
      `--root-directory=${dir}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${port}`,
      `--embedded-etcd-client-port=${etcd[0]}`,
      `--embedded-etcd-peer-port=${etcd[1]}`,
    ]);
  });

  // cache-server serves everything below /services/cache/shards/<shard>/ (plain /version answers
  // 400 "a shard name is required"), so readiness is what is checked.
  it('cache-server with embedded etcd becomes ready on loopback', async () => {
    await serveAndCheck(
      'cache-server',
      (dir, port, etcd) => [
        `--root-directory=${dir}`,
        '--bind-address=127.0.0.1',
        `--secure-port=${port}`,
        `--embedded-etcd-client-port=${etcd[0]}`,
        `--embedded-etcd-peer-port=${etcd[1]}`,
      ],
      null,
    );
  });
});

/** Starts a server with the test's serving certificate and client CA; waits for /readyz; checks its version. */
async function serveAndCheck(name: BinaryName, args: (dir: string, port: number, etcd: [number, number]) => string[], versionPath: string | null = '/version'): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `${name}-smoke-`));
  const pki = await createControlPlanePki(dir);
  const [port, etcdClient, etcdPeer] = [await freePort(), await freePort(), await freePort()];
  const tls = [`--tls-cert-file=${pki.files.servingCert}`, `--tls-private-key-file=${pki.files.servingKey}`, `--client-ca-file=${pki.files.clientCa}`];
  const proc = ManagedProcess.start(name, binaryPath(name), [...args(dir, port, [etcdClient, etcdPeer]), ...tls], {
    logPath: path.join(dir, `${name}.log`),
    env: { UNSAFE_E2E_HACK_DISABLE_ETCD_FSYNC: 'true' },
  });
  try {
    const deadline = Date.now() + 180_000;
    let ready = false;
    while (!ready && Date.now() < deadline && proc.running) {
      ready = (await get(`https://127.0.0.1:${port}/readyz`, pki)).status === 200;
      if (!ready) await new Promise((r) => setTimeout(r, 500));
    }
    expect(ready, await readFile(proc.logPath, 'utf8').catch(() => '')).toBe(true);
    if (!versionPath) return;
    const version = await get(`https://127.0.0.1:${port}${versionPath}`, pki);
    expect(version.status, version.body).toBe(200);
    expect((JSON.parse(version.body) as { gitVersion: string }).gitVersion).toContain(`kcp-${versions().KCP_VERSION}`);
  } finally {
    await proc.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

function get(url: string, pki: ControlPlanePki): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = https.get(url, { ca: pki.caPem, cert: pki.admin.certPem, key: pki.admin.keyPem, timeout: 2000 }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', () => resolve({ status: 0, body: '' }));
    req.on('timeout', () => req.destroy());
  });
}
