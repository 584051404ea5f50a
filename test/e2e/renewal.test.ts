// Certificate renewal under load on real kcp v0.32.3: the standard topology (config/samples) with
// serving certificates that live minutes (`certificateTemplates.server` on the RootShard, the Shard
// and the FrontProxy: duration 10m, renewBefore 4m), so the built-in PKI renews them while a user
// keeps working through the front-proxy. What must hold:
// - each serving certificate is renewed by the operator on its own schedule (nothing in the spec
//   changes, the operator keeps running), not before renewBefore ahead of expiry, and before the
//   old one expires;
// - the Pods that mount them roll, and afterwards the front-proxy and both shards present the
//   renewed certificate (checked on a TLS handshake a client verifies: CA from the generated
//   kubeconfig, the name it asks for);
// - the user's requests fail only while Pods roll, at most a few per rollout, and succeed again
//   after it.
//
// The harness stands in for: the kubelet and the Deployment controller (the pod runner: rolling
// updates with the Deployment defaults, one surge Pod and no ready Pod given up early; it also
// starts a new Pod when only a mounted Secret's content changes, where a kubelet would update the
// files in place, so a renewal may show a rollout superseded at once by the operator's own
// pod-template change), cluster DNS, and the LoadBalancer and public DNS in front of the
// front-proxy (a port-forward to its Service, with the public host name kcp.dev.local as
// tls-server-name and SNI). Users reach kcp only through forwards to Services and the generated
// kubeconfig Secret; the test reads the certificate Secrets to compare them with what is served.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalStack } from '../../local/stack.js';
import type { PortForward } from '../../local/pods/runner.js';
import { parseGoDuration } from '../../src/resources/common/duration.js';
import { eventually } from '../integration/helpers.js';
import { KcpUser } from './kcp-user.js';
import { UserLoad } from './renewal-load.js';
import { RolloutWatch } from './renewal-rollouts.js';
import { kubeconfigCA, presentedCertificate, secretCertificate, type CertificateId } from './renewal-tls.js';
import { SERVER_CERTIFICATES, samplesWithShortLivedServing } from './renewal-topology.js';
import { FRONT_PROXY_PORT, STANDARD, waitAvailable } from './topology.js';

const NS = 'kcp-e2e-renewal';
const DURATION = '10m';
const RENEW_BEFORE = '4m';
/** The PKI backdates notBefore by 5 min (src/pki/x509.ts DEFAULT_BACKDATE_MS). */
const BACKDATE_MS = 5 * 60_000;
const REPLICAS = 2;
/** What a user may see fail per rollout (see the end of the test). */
const FAILURES_PER_ROLLOUT = 5;

const secs = (ms: number): string => `${ms < 0 ? '-' : '+'}${(Math.abs(ms) / 1000).toFixed(1)}s`;

/** The first `n` lines, and how many more there were. */
function head(lines: string[], n = 40): string[] {
  return lines.length > n ? [...lines.slice(0, n), `  ... ${lines.length - n} more`] : lines;
}

function report(load: UserLoad, watch: RolloutWatch, t0: number): void {
  const rollouts = watch.rolloutsSince(t0);
  const out = [`load: ${load.requests} requests, ${load.failures.length} failed; ${rollouts.length} rollouts (times from the start of the load)`];
  out.push(
    ...head(
      rollouts.map((r) => {
        const end = r.readyAt !== undefined ? `done ${secs(r.readyAt - t0)}` : r.superseded ? 'superseded' : 'not done';
        return `  rollout ${r.deployment} ${r.from}→${r.to} ${secs(r.at - t0)}, ${end}`;
      }),
    ),
  );
  out.push(...head(watch.degraded.map((w) => `  fewer ready Pods than wanted: ${w.deployment} ${secs(w.from - t0)}..${w.to === undefined ? '?' : secs(w.to - t0)}`)));
  out.push(...head(watch.timeline.map(([at, d, view]) => `  pods ${secs(at - t0)} ${d}: ${view}`), 60));
  if (watch.restarts.size > 0) out.push(`  container restarts: ${JSON.stringify([...watch.restarts])}`);
  out.push(...head(load.failures.map((f) => `  failed ${f.what} ${secs(f.start - t0)}..${secs(f.end - t0)}: ${f.error ?? ''}`)));
  console.log(out.join('\n'));
}

describe('certificate renewal under load on real kcp', () => {
  let stack: LocalStack;
  const forwards = new Map<string, PortForward>();
  let user: KcpUser;
  let ca: string;

  beforeAll(async () => {
    const t0 = Date.now();
    stack = await LocalStack.start({ name: 'e2e-renewal', namespace: NS, crashLoopBackOffMs: 2_000 });
    await stack.apply(samplesWithShortLivedServing(DURATION, RENEW_BEFORE));
    try {
      await waitAvailable(stack, STANDARD);
    } catch (err) {
      throw new Error(`${String(err)}\n${await stack.kubectl(['-n', NS, 'get', 'rootshards,shards,frontproxies,kubeconfigs,deployments', '-o', 'wide'])}`);
    }
    console.log(`renewal topology Available in ${Date.now() - t0} ms`);
    for (const c of SERVER_CERTIFICATES) forwards.set(c.service, await stack.runner.forward(c.service, FRONT_PROXY_PORT));
    const fp = forwards.get('front-proxy-front-proxy');
    if (!fp) throw new Error('no forward to the front-proxy');
    user = await KcpUser.fromSecret(stack, 'kcp-admin-kubeconfig', fp.port);
    ca = await kubeconfigCA(stack, 'kcp-admin-kubeconfig');
    await user.createWorkspace('root', 'renewal', 'shard-2');
    await eventually('workspace renewal Ready', async () => (await user.workspace('root', 'renewal')).status?.phase === 'Ready', 180_000);
    await user.must('root:renewal', ['create', 'configmap', 'probe', '--from-literal=value=renewal']);
  });

  afterAll(async () => {
    for (const f of forwards.values()) await f.close();
    await stack?.stop();
  });

  const presented = (c: (typeof SERVER_CERTIFICATES)[number]): Promise<CertificateId> =>
    presentedCertificate(forwards.get(c.service)?.port ?? 0, c.serverName(NS), ca);

  it('serving certificates renew on schedule while a user works through the front-proxy; the renewed ones are presented', async () => {
    const renewBeforeMs = parseGoDuration(RENEW_BEFORE);
    const watch = new RolloutWatch(stack, Object.fromEntries(SERVER_CERTIFICATES.map((c) => [c.deployment, REPLICAS]))).start();
    const load = new UserLoad(user, { workspace: 'root:renewal', configMap: 'probe', expect: 'renewal', pauseMs: 500, maxBackoffMs: 8_000 }).start();
    const loadStart = Date.now();
    let renewedAt = Number.NaN;
    try {
      // What is served before: the Secrets' certificates, as the client sees them.
      const before = new Map<string, CertificateId>();
      for (const c of SERVER_CERTIFICATES) {
        const s = await secretCertificate(stack, c.secret);
        before.set(c.secret, s);
        await eventually(`${c.service} presents ${c.secret}`, async () => (await presented(c)).fingerprint256 === s.fingerprint256, 120_000);
      }
      const renewAt = (c: CertificateId) => c.notAfter.getTime() - renewBeforeMs;
      const latest = Math.max(...[...before.values()].map(renewAt));
      console.log(`renewal due in ${Math.round((latest - Date.now()) / 1000)} s (renewBefore ${RENEW_BEFORE} of ${DURATION})`);

      // Renewed by the operator, each on its own schedule.
      const after = new Map<string, CertificateId>();
      for (const c of SERVER_CERTIFICATES) {
        const old = before.get(c.secret) as CertificateId;
        const renewed = await eventually(
          `${c.secret} renewed`,
          async () => {
            const s = await secretCertificate(stack, c.secret);
            return s.fingerprint256 !== old.fingerprint256 ? s : undefined;
          },
          Math.max(0, old.notAfter.getTime() - Date.now()) + 60_000,
        );
        after.set(c.secret, renewed);
        const issuedAt = renewed.notBefore.getTime() + BACKDATE_MS;
        console.log(`${c.secret}: renewal due ${new Date(renewAt(old)).toISOString()}, issued ${new Date(issuedAt).toISOString()} (${Math.round((issuedAt - renewAt(old)) / 1000)} s after due), old one expires ${old.notAfter.toISOString()}`);
        // Not early (second-truncated notBefore), and before the old one expired.
        expect(issuedAt, `${c.secret} renewed before it was due`).toBeGreaterThanOrEqual(renewAt(old) - 1000);
        expect(issuedAt, `${c.secret} renewed only after it expired`).toBeLessThan(old.notAfter.getTime());
        expect(renewed.serialNumber).not.toBe(old.serialNumber);
      }
      renewedAt = Math.min(...[...after.values()].map((c) => c.notBefore.getTime() + BACKDATE_MS));

      // Said where a user looks: an Event on each owner.
      await eventually(
        'a CertificateRenewed Event for each',
        async () => {
          const events = JSON.parse(await stack.kubectl(['-n', NS, 'get', 'events.events.k8s.io', '-o', 'json'])) as {
            items: Array<{ reason?: string; note?: string; regarding?: { kind?: string; name?: string } }>;
          };
          return SERVER_CERTIFICATES.every((c) =>
            events.items.some((e) => e.reason === 'CertificateRenewed' && e.note === `renewed ${c.secret}` && `${e.regarding?.kind?.toLowerCase()}/${e.regarding?.name}` === c.owner),
          );
        },
        60_000,
      );

      // The Pods roll, each Deployment to Pods that mount the renewed Secret, all ready.
      await eventually(
        'every Deployment rolled and settled',
        () => watch.settled() && SERVER_CERTIFICATES.every((c) => watch.rolloutsSince(renewedAt - 1000, c.deployment).some((r) => r.readyAt !== undefined)),
        600_000,
      );
      const settledAt = Date.now();
      console.log(`renewed at ${new Date(renewedAt).toISOString()}; every rollout done ${Math.round((settledAt - renewedAt) / 1000)} s later`);

      // Every handshake now presents the renewed certificate (the Secret's, which a later renewal
      // could have replaced again meanwhile), verified as a client does; never the first one.
      for (const c of SERVER_CERTIFICATES) {
        const old = before.get(c.secret) as CertificateId;
        const current = await secretCertificate(stack, c.secret);
        for (let i = 0; i < 5; i++) {
          const p = await presented(c);
          expect(p.fingerprint256, `${c.service} presents the renewed ${c.secret}`).toBe(current.fingerprint256);
          expect(p.serialNumber, `${c.service} presents the first ${c.secret}`).not.toBe(old.serialNumber);
        }
        console.log(`${c.service} presents serial ${current.serialNumber} (was ${old.serialNumber})`);
      }

      // The user goes on working: 10 more rounds, every request of which succeeds.
      await eventually('10 rounds after the rollouts', () => load.since(settledAt).length >= 20, 300_000);
      const afterRenewal = load.since(settledAt);
      expect(afterRenewal.filter((r) => !r.ok).map((r) => `${r.what}: ${r.error ?? ''}`)).toEqual([]);
    } finally {
      await load.stop();
      watch.stop();
      report(load, watch, loadStart);
    }
    // Failures only while Pods rolled, and a few per rollout: a new kcp Pod passes /readyz a little
    // before it serves every API (seen: InternalError, Forbidden and NotFound from a root shard Pod
    // for about 13 s after it turned ready), and the user, who backs off after each failure, meets
    // that a few times; stopping an old Pod can break the one request in flight through it.
    const rollouts = watch.rolloutsSince(loadStart);
    const completed = rollouts.filter((r) => r.readyAt !== undefined);
    const firstRollout = Math.min(...rollouts.map((r) => r.at));
    const failures = load.failures;
    console.log(
      `figures: ${load.requests} requests, ${failures.length} failed, ${completed.length} rollouts (and ${rollouts.length - completed.length} superseded at once), ` +
        `renewal ${Math.round((renewedAt - loadStart) / 1000)} s into the load`,
    );
    expect(load.requests).toBeGreaterThan(0);
    expect(completed.length).toBeGreaterThanOrEqual(SERVER_CERTIFICATES.length);
    expect(failures.filter((f) => f.end < firstRollout).map((f) => `${f.what}: ${f.error ?? ''}`), 'failures before any rollout').toEqual([]);
    expect(failures.length, `failures for ${completed.length} rollouts`).toBeLessThanOrEqual(FAILURES_PER_ROLLOUT * completed.length);
  }, 25 * 60_000);
});
