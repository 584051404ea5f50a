// Fuzzed specs (issue 14, item 6). For each kind, specs generated from the CRD schemas of src/api/
// (spec-arbitrary.ts: well-shaped and deliberately broken, mixed) go through three stages:
// - admission, REAL: a server-side dry-run create on the shared kube-apiserver (OpenAPI schema,
//   CEL rules, strict field validation). Every rejection must name the field it is about.
// - reconcile, IN-PROCESS: every admitted object (as the API server defaulted it) through what the
//   controllers compute from a spec and every pure builder they call (pipeline.ts). 0 throws, 0
//   unhandled rejections.
// - a sample, REAL: created for real while the operator runs as its own process (src/main.ts
//   under tsx, as `make dev` runs it) against the same API server. Each object gets conditions,
//   every one with a reason; the process stays up; its reconcile counter (/metrics) goes flat.
// The control plane has no kubelet or controller-manager, so nothing ever becomes Available: a
// sample object counts as settled once its status describes its generation.
// Seed: CHAOS_SEED; specs per kind: FUZZ_SPECS_PER_KIND (10,000); sample: FUZZ_SAMPLE_PER_KIND (30).
import { randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { KIND_DEFINITIONS } from '../../src/api/crds.js';
import { CacheServers, FrontProxies, Kubeconfigs, RootShards, Shards, VirtualWorkspaces } from '../../src/controllers/context.js';
import type { KubeClient } from '../../src/kube/client.js';
import { ApiError } from '../../src/kube/errors.js';
import type { KubeObject } from '../../src/kube/object.js';
import type { ResourceType } from '../../src/kube/resources.js';
import { spawnEntry } from '../../local/entry.js';
import { freePort } from '../../local/ports.js';
import { builtInPkiRootShard } from '../integration/fixtures.js';
import { createNamespace, eventually, sharedClient } from '../integration/helpers.js';
import { collectClusterTexts, collectPrivateKeys, findLeaks } from './leak-scan.js';
import { HandledByController, renderAdmitted, type Kind } from './pipeline.js';
import { fuzzedSpec, type FuzzedSpec } from './spec-arbitrary.js';

const SEED = Number(process.env.CHAOS_SEED ?? randomBytes(4).readUInt32BE() >>> 1);
const PER_KIND = Number(process.env.FUZZ_SPECS_PER_KIND ?? 10_000);
const SAMPLE = Number(process.env.FUZZ_SAMPLE_PER_KIND ?? 30);
const CONCURRENCY = Number(process.env.FUZZ_CONCURRENCY ?? 32);

const RESOURCES: Record<Kind, ResourceType> = {
  RootShard: RootShards,
  Shard: Shards,
  FrontProxy: FrontProxies,
  CacheServer: CacheServers,
  Kubeconfig: Kubeconfigs,
  VirtualWorkspace: VirtualWorkspaces,
};

// A rejection names its field: "spec.x.y: Invalid value", "spec: Required value", or strict
// decoding's `unknown field "spec.x"`.
const NAMES_A_FIELD = /\bspec(\.|\[|:|")/;

interface KindResult {
  kind: Kind;
  specs: number;
  accepted: number;
  rejected: number;
  brokenAccepted: number;
  unnamedRejections: string[];
  otherErrors: string[];
  reconciled: number;
  handledByController: number;
  throws: string[];
  admissionMs: number;
  /** Rejections by their first field and complaint, for the report. */
  causes: Map<string, number>;
  /** Accepted specs, for the real sample. */
  admitted: FuzzedSpec[];
}

async function pool<T>(items: readonly T[], n: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i] as T, i);
      }
    }),
  );
}

let unhandled = 0;
const onUnhandled = () => unhandled++;

describe('fuzzed specs', () => {
  let client: KubeClient;
  let ns: string;
  const results: KindResult[] = [];
  const t0 = Date.now();

  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled);
    console.log(`fuzz: seed ${SEED} (CHAOS_SEED=${SEED} reruns it), ${PER_KIND} specs per kind, sample ${SAMPLE} per kind`);
    client = await sharedClient('chaos-fuzz');
    ns = await createNamespace(client, 'fuzz');
  });
  afterAll(() => {
    process.off('unhandledRejection', onUnhandled);
    client?.close();
  });

  it('admission names the field of every rejection; the in-process pipeline never throws on what is admitted', async () => {
    for (const [k, def] of KIND_DEFINITIONS.entries()) {
      const kind = def.names.kind as Kind;
      const specs = fc.sample(fuzzedSpec(def.spec()), { seed: SEED + k, numRuns: PER_KIND });
      const r: KindResult = { kind, specs: specs.length, accepted: 0, rejected: 0, brokenAccepted: 0, unnamedRejections: [], otherErrors: [], reconciled: 0, handledByController: 0, throws: [], admissionMs: 0, causes: new Map(), admitted: [] };
      const started = Date.now();
      await pool(specs, CONCURRENCY, async (s, i) => {
        const obj: KubeObject = { apiVersion: 'operator.kcp.io/v1alpha1', kind, metadata: { name: `f-${i}`, namespace: ns }, spec: s.spec };
        let admitted: KubeObject;
        try {
          admitted = await client.create(RESOURCES[kind], obj, { dryRun: 'All', fieldValidation: 'Strict' });
        } catch (err) {
          if (err instanceof ApiError && (err.code === 422 || err.code === 400)) {
            r.rejected++;
            const cause = /(spec[^\s:"]*)["]?: ([A-Za-z ]+?)(:|,|$)/.exec(err.message);
            const c = cause ? `${cause[1]?.replace(/\[\d+\]/g, '[]')}: ${cause[2]}` : err.message.slice(0, 60);
            r.causes.set(c, (r.causes.get(c) ?? 0) + 1);
            if (!NAMES_A_FIELD.test(err.message)) r.unnamedRejections.push(`${err.message.slice(0, 300)} <- ${JSON.stringify(s.spec).slice(0, 300)}`);
          } else {
            r.otherErrors.push(String(err).slice(0, 300));
          }
          return;
        }
        r.accepted++;
        if (s.mutation) r.brokenAccepted++;
        if (r.admitted.length < SAMPLE * 4) r.admitted.push(s);
        try {
          renderAdmitted(kind, admitted);
          r.reconciled++;
        } catch (err) {
          if (err instanceof HandledByController) r.handledByController++;
          else r.throws.push(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n  spec: ${JSON.stringify(admitted.spec).slice(0, 600)}`);
        }
      });
      r.admissionMs = Date.now() - started;
      results.push(r);
      console.log(
        `fuzz ${kind}: ${r.specs} specs, ${r.accepted} accepted (${r.brokenAccepted} of them deliberately broken), ${r.rejected} rejected ` +
          `(${r.unnamedRejections.length} without a field), ${r.otherErrors.length} other errors; in-process: ${r.reconciled} rendered, ` +
          `${r.handledByController} turned into a condition by the controller, ${r.throws.length} threw; ${r.admissionMs} ms`,
      );
      console.log(`  top rejections: ${[...r.causes].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([c, n]) => `${c} (${n})`).join('; ')}`);
      for (const x of [...r.unnamedRejections.slice(0, 3), ...r.otherErrors.slice(0, 3), ...r.throws.slice(0, 3)]) console.log(`  ${x}`);
    }
    console.log(`fuzz: admission and in-process stage ${Date.now() - t0} ms, unhandled rejections ${unhandled}`);
    for (const r of results) {
      expect(r.unnamedRejections, `${r.kind}: rejections that name no field`).toEqual([]);
      expect(r.otherErrors, `${r.kind}: admission errors other than a rejection`).toEqual([]);
      expect(r.throws, `${r.kind}: the pipeline threw`).toEqual([]);
      expect(r.accepted, `${r.kind}: nothing admitted, the generator is too broken to test reconcile`).toBeGreaterThan(SAMPLE);
      expect(r.rejected, `${r.kind}: nothing rejected`).toBeGreaterThan(0);
    }
    expect(unhandled).toBe(0);
  });

  it('a sample, created for real with the operator process running: conditions with reasons, no crash, no hot loop', async () => {
    expect(results.length, 'the admission stage ran first').toBe(KIND_DEFINITIONS.length);
    const sampleNs = await createNamespace(client, 'fuzz-real');
    const port = await freePort();
    const child: ChildProcess = spawnEntry('src/main.ts', [`--kubeconfig=${inject('kubeconfigPath')}`, `--namespace=${sampleNs}`, `--health-probe-bind-address=127.0.0.1:${port}`], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { LOG_LEVEL: 'info' },
    });
    let logs = '';
    child.stdout?.on('data', (d: Buffer) => (logs += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (logs += d.toString()));
    let exits = 0;
    child.once('exit', () => exits++);
    try {
      const base = `http://127.0.0.1:${port}`;
      await eventually('operator ready', async () => (await fetch(`${base}/readyz`).catch(() => undefined))?.status === 200, 60_000);
      // A real RootShard named as the fuzzed references often are, so some references resolve.
      const root = builtInPkiRootShard(sampleNs);
      root.metadata.name = 'root';
      await client.create(RootShards, root);

      const created: Array<{ kind: Kind; name: string }> = [];
      for (const r of results) {
        // Every fourth admitted spec, so the sample spreads over the run rather than its first specs.
        const picks = r.admitted.filter((_, i) => i % 4 === 0).slice(0, SAMPLE);
        await pool(picks, 8, async (s, i) => {
          const name = `s-${r.kind.toLowerCase()}-${i}`;
          await client.create(RESOURCES[r.kind], { apiVersion: 'operator.kcp.io/v1alpha1', kind: r.kind, metadata: { name, namespace: sampleNs }, spec: s.spec } as KubeObject);
          created.push({ kind: r.kind, name });
        });
      }
      type Cond = { type: string; status: string; reason?: string; observedGeneration?: number };
      const unsettled = async () => {
        const out: string[] = [];
        for (const kind of Object.keys(RESOURCES) as Kind[]) {
          for (const o of (await client.list<KubeObject & { status?: { conditions?: Cond[] } }>(RESOURCES[kind], { namespace: sampleNs })).items) {
            const conds = o.status?.conditions ?? [];
            if (conds.length === 0 || conds.some((c) => c.observedGeneration !== o.metadata.generation)) out.push(`${kind}/${o.metadata.name}`);
          }
        }
        return out;
      };
      const settleStart = Date.now();
      let last: string[] = [];
      await eventually('every sample object has conditions for its generation', async () => (last = await unsettled()).length === 0, 150_000).catch(async (err: unknown) => {
        for (const u of last.slice(0, 3)) {
          const [kind, name] = u.split('/') as [Kind, string];
          const o = await client.get(RESOURCES[kind], sampleNs, name);
          console.log(`unsettled ${u}: spec ${JSON.stringify(o.spec)}\n  log: ${logs.split('\n').filter((l) => l.includes(name) && /"level":"(error|warn)"|"level":[45]0/.test(l)).slice(-3).join('\n  ')}`);
        }
        throw new Error(`${String(err)}; unsettled: ${last.slice(0, 10).join(', ')}`);
      });
      const settleMs = Date.now() - settleStart;

      const withoutReason: string[] = [];
      const reasons = new Map<string, number>();
      for (const kind of Object.keys(RESOURCES) as Kind[]) {
        for (const o of (await client.list<KubeObject & { status?: { conditions?: Cond[] } }>(RESOURCES[kind], { namespace: sampleNs })).items) {
          for (const c of o.status?.conditions ?? []) {
            if (!c.reason) withoutReason.push(`${kind}/${o.metadata.name} ${c.type}`);
            if (c.type === 'Available') reasons.set(`${kind} ${c.reason}`, (reasons.get(`${kind} ${c.reason}`) ?? 0) + 1);
          }
        }
      }
      // Hot loops: an object reconciled more often than every 10 s. Objects blocked on what the
      // sample cannot provide (a RootShard that does not exist) are polled every 30-60 s, so the
      // counter as a whole never stands still for long with 180 of them; what it must not do is
      // exceed one reconcile per object per 10 s over a 30 s window (one hot object alone, at a
      // reconcile every few milliseconds, would).
      const reconciles = async () => {
        const text = await (await fetch(`${base}/metrics`)).text();
        return [...text.matchAll(/^controller_runtime_reconcile_total\{([^}]*)\} (\d+)/gm)].reduce((a, m) => a + Number(m[2]), 0);
      };
      await new Promise((r) => setTimeout(r, 10_000));
      const before = await reconciles();
      await new Promise((r) => setTimeout(r, 30_000));
      const flat = await reconciles();
      const objects = created.length + 1;
      console.log(
        `fuzz sample: ${created.length} objects (${SAMPLE} per kind) + RootShard root; settled in ${settleMs} ms; ` +
          `reconciles over 30 s at rest: ${flat - before} (bound ${objects * 3}); operator exits ${exits}; Available reasons: ` +
          [...reasons].map(([k, v]) => `${k}=${v}`).join(', '),
      );
      expect(flat - before, 'reconciles in 30 s at rest (more than one per object per 10 s is a hot loop)').toBeLessThanOrEqual(objects * 3);
      expect(withoutReason).toEqual([]);
      expect(exits, 'the operator process crashed').toBe(0);
      expect(child.exitCode).toBeNull();

      const keys = await collectPrivateKeys(client, [ns, sampleNs]);
      const texts = [{ source: 'operator log', text: logs }, ...(await collectClusterTexts(client, [ns, sampleNs]))];
      const leaks = findLeaks(texts, keys);
      console.log(`fuzz leak scan: ${texts.length} texts against ${keys.length} private keys, ${leaks.length} leaks; total wall time ${Date.now() - t0} ms`);
      expect(keys.length).toBeGreaterThan(0);
      expect(leaks).toEqual([]);
    } finally {
      if (child.exitCode === null) child.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 500));
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
