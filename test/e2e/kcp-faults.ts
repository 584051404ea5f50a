// kcp Pod faults for the standard e2e (issue 14, item 5): a kcp Pod's container is killed with
// SIGKILL and the owning CR's status and the component metric are watched until they report it
// and until the component is Available and serving again.
//
// What a "kill" is here: SIGKILL to the Pod's whole process group through the pod runner
// (podsOf().pid), i.e. the container dies as under the OOM killer. The runner, standing in for the
// kubelet, restarts the container in the same Pod after its CrashLoopBackOff back-off and reports
// the Deployment's readiness from real probes, as kube-controller-manager would; no Pod object
// is deleted (the runner has none), so the Pod's name and address stay.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { FrontProxies, RootShards, Shards } from '../../src/controllers/context.js';
import type { KubeObject } from '../../src/kube/object.js';
import type { ResourceType } from '../../src/kube/resources.js';
import type { LocalStack } from '../../local/stack.js';
import type { Text } from '../chaos/leak-scan.js';

type Cond = { type: string; status: string; reason: string; message: string };

export interface FaultTarget {
  /** The CR whose Available condition owns the Pod. */
  resource: ResourceType;
  name: string;
  /** The Deployment whose Pod is killed. */
  deployment: string;
  /** kcp serves what this component serves (through the front-proxy, as a user). */
  serves: () => Promise<boolean>;
}

export interface FaultResult {
  target: string;
  /** kill → first status read showing Available=False. */
  detectedMs: number;
  /** kill → kcp_operator_component_available 0, or undefined if it never was observed at 0. */
  metricDetectedMs: number | undefined;
  reason: string;
  message: string;
  /** The first Available message that counted no replica available, if one was read. */
  downMessage: string | undefined;
  /** kill → Available=True again. */
  availableMs: number;
  /** kill → Available=True, metric 1 and kcp serving again. */
  recoveredMs: number;
  /** Pods killed (every replica of the Deployment). */
  pods: number;
  /** The containers' restarts after the fault (the runner's restartCount, summed). */
  restarts: number;
}

export const faultTargets = (serves: { root: () => Promise<boolean>; shard2: () => Promise<boolean>; frontProxy: () => Promise<boolean> }): FaultTarget[] => [
  { resource: RootShards, name: 'root', deployment: 'root-kcp', serves: serves.root },
  { resource: Shards, name: 'shard-2', deployment: 'shard-2-shard-kcp', serves: serves.shard2 },
  { resource: FrontProxies, name: 'front-proxy', deployment: 'front-proxy-front-proxy', serves: serves.frontProxy },
];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The operator's kcp_operator_component_available for one object, from its /metrics. */
export async function componentMetric(stack: LocalStack, kind: string, name: string): Promise<number | undefined> {
  const res = await fetch(`http://127.0.0.1:${stack.operatorProbePort}/metrics`).catch(() => undefined);
  if (!res?.ok) return undefined;
  const text = await res.text();
  const line = text
    .split('\n')
    .find((l) => l.startsWith('kcp_operator_component_available{') && l.includes(`namespace="${stack.namespace}"`) && l.includes(`kind="${kind}"`) && l.includes(`name="${name}"`));
  return line ? Number(line.split(' ').pop()) : undefined;
}

async function available(stack: LocalStack, t: FaultTarget): Promise<Cond | undefined> {
  const o = await stack.admin.get<KubeObject & { status?: { conditions?: Cond[] } }>(t.resource, stack.namespace, t.name).catch(() => undefined);
  return o?.status?.conditions?.find((c) => c.type === 'Available');
}

/**
 * Kills every Pod of the target's Deployment and follows status, metric and service until it is back; throws if it
 * is not reported within `detectWithinMs` or not back within `recoverWithinMs`.
 */
export async function killAndRecover(stack: LocalStack, t: FaultTarget, detectWithinMs = 60_000, recoverWithinMs = 300_000): Promise<FaultResult> {
  // Every replica: the component is down, not degraded, so "serves again" means it came back.
  const pods = stack.runner.podsOf(t.deployment);
  if (pods.length === 0 || pods.some((p) => !p.pid || !p.ready)) throw new Error(`${t.deployment}: expected ready running Pods, got ${JSON.stringify(pods)}`);
  const restartsBefore = pods.reduce((n, p) => n + p.restartCount, 0);
  const t0 = Date.now();
  for (const p of pods) process.kill(-(p.pid ?? 0), 'SIGKILL');
  let detected: Cond | undefined;
  let detectedMs = 0;
  let metricDetectedMs: number | undefined;
  let availableMs = 0;
  // The Pods' exits reach the Deployment one status write at a time: the first False may still count one.
  let downMessage: string | undefined;
  for (;;) {
    const elapsed = Date.now() - t0;
    const [cond, metric] = await Promise.all([available(stack, t), componentMetric(stack, t.resource.kind, t.name)]);
    if (metric === 0 && metricDetectedMs === undefined) metricDetectedMs = Date.now() - t0;
    if (cond?.status === 'False' && cond.message.startsWith(`0/${pods.length} `)) downMessage ??= cond.message;
    if (!detected) {
      if (cond?.status === 'False') {
        detected = cond;
        detectedMs = Date.now() - t0;
      } else if (elapsed > detectWithinMs) {
        throw new Error(`${t.resource.kind}/${t.name}: Available still ${JSON.stringify(cond)} ${elapsed} ms after its Pod was killed`);
      }
    } else if (cond?.status === 'True' && metric === 1) {
      availableMs ||= Date.now() - t0;
      if (await t.serves()) break;
    }
    if (elapsed > recoverWithinMs) throw new Error(`${t.resource.kind}/${t.name}: not back ${elapsed} ms after its Pod was killed: ${JSON.stringify(cond)}, metric ${metric}`);
    await sleep(250);
  }
  const recoveredMs = Date.now() - t0;
  return {
    target: `${t.resource.kind}/${t.name}`,
    detectedMs,
    metricDetectedMs,
    reason: detected.reason,
    message: detected.message,
    downMessage,
    availableMs,
    recoveredMs,
    pods: pods.length,
    restarts: stack.runner.podsOf(t.deployment).reduce((n, p) => n + p.restartCount, 0) - restartsBefore,
  };
}

/** Every log the run produced: the operator's, and every container's the pod runner ran (item 8). */
export async function processLogs(stack: LocalStack): Promise<Text[]> {
  const texts: Text[] = [{ source: 'operator log', text: await stack.logOf('operator') }];
  for (const file of stack.runner.containerLogs()) {
    texts.push({ source: `container log ${path.basename(path.dirname(file))}`, text: readFileSync(file, 'utf8') });
  }
  return texts;
}

/** p50 and p99 (nearest rank) of some figures. */
export function percentiles(xs: number[]): { p50: number; p99: number } {
  const s = [...xs].sort((a, b) => a - b);
  const at = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))] ?? NaN;
  return { p50: at(0.5), p99: at(0.99) };
}
