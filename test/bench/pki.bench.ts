// PKI costs per key algorithm: key generation, signing a certificate, verifying one, and issuing
// the whole RootShard hierarchy (5 CAs + 7 leaves) the way a first reconcile does.
//
//   npx tsx test/bench/pki.bench.ts [--quick]
//
// Prints a Markdown report and replaces the generated section of test/bench/results/pki.md
// (between the bench markers); the hand-written decision around it is kept.
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { frontProxyCertificates, rootShardCertificates, shardCertificates } from '../../src/pki/hierarchy.js';
import type { PlannedCertificate } from '../../src/pki/hierarchy.js';
import { issueAll } from '../../src/pki/issue.js';
import { generateKeyPair } from '../../src/pki/keys.js';
import type { KeySpec } from '../../src/pki/keys.js';
import { selfSigned, signCertificate, signCertificateSync } from '../../src/pki/x509.js';

const quick = process.argv.includes('--quick');
const RESULTS = fileURLToPath(new URL('./results/pki.md', import.meta.url));
const START = '<!-- bench:start -->';
const END = '<!-- bench:end -->';

interface Algo {
  label: string;
  spec: KeySpec;
  keygenRuns: number;
}
const ALGOS: Algo[] = [
  { label: 'RSA-2048', spec: { algorithm: 'RSA', size: 2048 }, keygenRuns: quick ? 5 : 40 },
  { label: 'RSA-4096', spec: { algorithm: 'RSA', size: 4096 }, keygenRuns: quick ? 2 : 12 },
  { label: 'ECDSA P-256', spec: { algorithm: 'ECDSA', size: 256 }, keygenRuns: quick ? 50 : 1000 },
  { label: 'ECDSA P-384', spec: { algorithm: 'ECDSA', size: 384 }, keygenRuns: quick ? 50 : 500 },
  { label: 'Ed25519', spec: { algorithm: 'Ed25519' }, keygenRuns: quick ? 50 : 1000 },
];
const SIGN_RUNS = quick ? 50 : 500;
const HIERARCHY_RUNS = quick ? 2 : 7;

const ms = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e6;

function summary(samples: number[]): { p50: number; p90: number; mean: number } {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number): number => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0;
  return { p50: at(0.5), p90: at(0.9), mean: s.reduce((a, b) => a + b, 0) / (s.length || 1) };
}

const fmt = (x: number): string => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x >= 1 ? x.toFixed(2) : x.toFixed(3));

function machine(): Record<string, string> {
  const cpu = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? os.cpus()[0]?.model ?? 'unknown';
  const run = (cmd: string, args: string[]): string => {
    try {
      return execFileSync(cmd, args, { encoding: 'utf8' }).trim();
    } catch {
      return 'unknown';
    }
  };
  return {
    date: new Date().toISOString().slice(0, 10),
    commit: run('git', ['rev-parse', '--short', 'HEAD']),
    cpu: cpu,
    nproc: run('nproc', []),
    'libuv threadpool': process.env.UV_THREADPOOL_SIZE ?? '4 (default)',
    node: process.version,
    'OpenSSL (in node)': process.versions.openssl ?? 'unknown',
  };
}

/** Sequential, to measure the cost of one operation rather than the thread pool's width. */
async function benchKeygen(a: Algo): Promise<number[]> {
  await generateKeyPair(a.spec); // warm-up
  const out: number[] = [];
  for (let i = 0; i < a.keygenRuns; i++) {
    const t0 = process.hrtime.bigint();
    await generateKeyPair(a.spec);
    out.push(ms(t0));
  }
  return out;
}

/** Signing a leaf with a CA key of the algorithm (the issuer's key sets the signature cost). */
async function benchSign(a: Algo): Promise<{ sync: number[]; async: number[]; verify: number[] }> {
  const caKey = await generateKeyPair(a.spec);
  const ca = signCertificateSync({ subject: { commonName: 'bench-ca' }, publicKey: caKey.publicKey, isCA: true }, selfSigned(caKey.privateKey));
  const leafKey = await generateKeyPair({ algorithm: 'ECDSA' });
  const issuer = { certificatePem: ca, privateKey: caKey.privateKey };
  const request = {
    subject: { commonName: 'bench', organizations: ['system:masters'] },
    publicKey: leafKey.publicKey,
    dnsNames: ['localhost', 'root-kcp.kcp.svc.cluster.local'],
    ipAddresses: ['127.0.0.1'],
    extKeyUsages: ['serverAuth' as const, 'clientAuth' as const],
  };
  const sync: number[] = [];
  const asyncRuns: number[] = [];
  const verify: number[] = [];
  const caX509 = new X509Certificate(ca);
  for (let i = 0; i < SIGN_RUNS; i++) {
    let t0 = process.hrtime.bigint();
    const pem = signCertificateSync(request, issuer);
    sync.push(ms(t0));
    t0 = process.hrtime.bigint();
    await signCertificate(request, issuer);
    asyncRuns.push(ms(t0));
    const x = new X509Certificate(pem);
    t0 = process.hrtime.bigint();
    if (!x.verify(caX509.publicKey)) throw new Error('signature does not verify');
    verify.push(ms(t0));
  }
  return { sync, async: asyncRuns, verify };
}

function topology(spec: KeySpec): PlannedCertificate[] {
  const rs = { name: 'root', namespace: 'kcp', externalHostname: 'kcp.example.com', key: spec };
  // Kubernetes cannot sign service-account tokens with Ed25519; that one key stays ECDSA.
  const templates = spec.algorithm === 'Ed25519' ? { 'service-account': { privateKey: { algorithm: 'ECDSA' as const } } } : undefined;
  return [
    ...rootShardCertificates({ ...rs, templates }),
    ...shardCertificates({ name: 'shard-1', namespace: 'kcp', rootShard: rs, key: spec, templates }),
    ...frontProxyCertificates({ name: 'fp', rootShard: rs, key: spec }),
  ];
}

async function benchHierarchy(spec: KeySpec, certificates: () => PlannedCertificate[]): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < HIERARCHY_RUNS; i++) {
    const plans = certificates();
    const t0 = process.hrtime.bigint();
    const secrets = await issueAll(plans);
    out.push(ms(t0));
    if (secrets.size !== plans.length) throw new Error(`issued ${secrets.size} of ${plans.length} for ${JSON.stringify(spec)}`);
  }
  return out;
}

async function main(): Promise<void> {
  const facts = machine();
  const lines: string[] = [];
  lines.push(`## ${facts.date} (commit ${facts.commit})`, '');
  for (const [k, v] of Object.entries(facts)) lines.push(`- ${k}: ${v}`);
  lines.push('', `Runs: keygen per row as shown, ${SIGN_RUNS} signatures per algorithm, ${HIERARCHY_RUNS} hierarchies per row${quick ? ' (--quick)' : ''}.`, '');

  lines.push('### Per operation (ms)', '');
  lines.push('| key | keygen runs | keygen p50 | keygen p90 | keygen mean | sign p50 (sync) | sign p50 (async) | sign p90 (async) | verify p50 |');
  lines.push('|---|---|---|---|---|---|---|---|---|');
  for (const a of ALGOS) {
    const k = summary(await benchKeygen(a));
    const s = await benchSign(a);
    const ss = summary(s.sync);
    const sa = summary(s.async);
    const v = summary(s.verify);
    lines.push(`| ${a.label} | ${a.keygenRuns} | ${fmt(k.p50)} | ${fmt(k.p90)} | ${fmt(k.mean)} | ${fmt(ss.p50)} | ${fmt(sa.p50)} | ${fmt(sa.p90)} | ${fmt(v.p50)} |`);
    console.error(`done ${a.label}`);
  }

  lines.push('', '### Whole hierarchies, wall clock (ms)', '');
  lines.push('RootShard alone is 12 certificates (5 CAs, 7 leaves); the topology adds a Shard (7) and a FrontProxy (3): 22 keys and signatures. Keys are generated concurrently on the libuv pool, then signed in order.', '');
  lines.push('| key | certificates | p50 | p90 | mean |');
  lines.push('|---|---|---|---|---|');
  for (const a of ALGOS) {
    if (a.spec.algorithm === 'RSA' && a.spec.size === 4096 && quick) continue;
    for (const [what, make] of [
      ['RootShard', (): PlannedCertificate[] => topology(a.spec).slice(0, 12)],
      ['RootShard + Shard + FrontProxy', (): PlannedCertificate[] => topology(a.spec)],
    ] as const) {
      const r = summary(await benchHierarchy(a.spec, make));
      lines.push(`| ${a.label} | ${what} (${make().length}) | ${fmt(r.p50)} | ${fmt(r.p90)} | ${fmt(r.mean)} |`);
    }
    console.error(`done hierarchy ${a.label}`);
  }

  const report = lines.join('\n');
  console.log(report);
  let doc = '';
  try {
    doc = readFileSync(RESULTS, 'utf8');
  } catch {
    doc = `# PKI benchmark\n\n${START}\n${END}\n`;
  }
  const i = doc.indexOf(START);
  const j = doc.indexOf(END);
  const next = i >= 0 && j > i ? `${doc.slice(0, i + START.length)}\n${report}\n${doc.slice(j)}` : `${doc}\n${START}\n${report}\n${END}\n`;
  writeFileSync(RESULTS, next);
  console.error(`wrote ${RESULTS}`);
}

await main();
