// A remote team's Kubeconfig through the hub's checks: exactly the client identity the accept rule
// admits, `system:` names only by rules that name `system:`, and nothing signed otherwise.
import { beforeAll, describe, expect, it } from 'vitest';
import { kubeconfigCertificate, type PlannedCertificate } from '../pki/hierarchy.js';
import { DEFAULT_KEY_SPEC } from '../pki/keys.js';
import { parseCertificate } from '../pki/x509.js';
import type { JoinRequest } from './protocol.js';
import { buildKubeconfigRequest } from './shard-side.js';
import { signApproved } from './sign.js';
import { contentOf, csrWith, EDGE_CLUSTER, generateKeys, rootHierarchy, verifyInput, HOUR, type Hierarchy } from './testing.js';
import { kubeconfigAcceptedBy, verifyJoinRequest, type VerifyInput } from './verify.js';

let h: Hierarchy;
beforeAll(async () => {
  h = await rootHierarchy();
});

const who = { name: 'team-alice', namespace: 'apps', username: 'alice', groups: ['team-a'] };
const rules = [{ cluster: EDGE_CLUSTER, namespace: 'apps', name: 'team-*', usernames: ['alice'], groups: ['team-*'] }];

async function request(id: typeof who = who, durationMs = 24 * HOUR): Promise<{ req: JoinRequest; plan: PlannedCertificate; keys: Record<string, string> }> {
  const plan = kubeconfigCertificate({ name: id.name, rootShard: h.name, username: id.username, groups: id.groups, validityMs: durationMs, key: DEFAULT_KEY_SPEC });
  const keys = await generateKeys([plan]);
  return { req: buildKubeconfigRequest(id, h.info, plan, 1, keys), plan, keys };
}

const input = (req: JoinRequest, overrides: Partial<VerifyInput> = {}): VerifyInput =>
  verifyInput(h, req, { accept: [], acceptKubeconfigs: rules, origin: { cluster: EDGE_CLUSTER, namespace: req.namespace, name: `${req.shard}-kubeconfig-request`, uid: 'u1' }, ...overrides });

describe('kubeconfigAcceptedBy', () => {
  const base = { cluster: EDGE_CLUSTER, namespace: 'apps', name: 'team-alice', username: 'alice', groups: ['team-a'] };
  it('admits what a rule names, by glob', () => {
    expect(kubeconfigAcceptedBy(rules, base)).toBe(true);
    expect(kubeconfigAcceptedBy(rules, { ...base, groups: [] })).toBe(true);
  });
  it('refuses another user, an unlisted group, another namespace or cluster', () => {
    expect(kubeconfigAcceptedBy(rules, { ...base, username: 'mallory' })).toBe(false);
    expect(kubeconfigAcceptedBy(rules, { ...base, groups: ['team-a', 'ops'] })).toBe(false);
    expect(kubeconfigAcceptedBy(rules, { ...base, namespace: 'other' })).toBe(false);
    expect(kubeconfigAcceptedBy(rules, { ...base, cluster: 'elsewhere' })).toBe(false);
  });
  it('admits a system: name only by a pattern that starts with system:', () => {
    const open = [{ ...rules[0], usernames: ['*'], groups: ['*'] }] as typeof rules;
    expect(kubeconfigAcceptedBy(open, { ...base, groups: ['system:masters'] })).toBe(false);
    expect(kubeconfigAcceptedBy(open, { ...base, username: 'system:admin' })).toBe(false);
    const explicit = [{ ...rules[0], groups: ['system:kcp:*'] }] as typeof rules;
    expect(kubeconfigAcceptedBy(explicit, { ...base, groups: ['system:kcp:admin'] })).toBe(true);
    expect(kubeconfigAcceptedBy(explicit, { ...base, groups: ['system:masters'] })).toBe(false);
  });
});

describe('verifyJoinRequest for a Kubeconfig', () => {
  it('signs exactly the client identity: CN the user, O the groups and kubeconfig:<name>, client auth, by the client CA', async () => {
    const { req } = await request();
    const v = verifyJoinRequest(input(req));
    if (v.decision !== 'sign') throw new Error(JSON.stringify(v));
    const signed = await signApproved(v.certificates, (s) => h.secrets.get(s));
    const cert = parseCertificate(signed.certificates.kubeconfig ?? '');
    expect(cert.subject.commonName).toBe('alice');
    expect([...cert.subject.organizations].sort()).toEqual(['kubeconfig:team-alice', 'team-a']);
    expect(cert.extKeyUsages).toEqual(['clientAuth']);
    expect(cert.issuer.commonName).toBe(`${h.name}-client-ca`);
  });

  it('refuses what no rule admits, and a CSR that asks for more than the request says', async () => {
    const { req } = await request({ ...who, groups: ['system:masters'] });
    expect(verifyJoinRequest(input(req))).toMatchObject({ decision: 'refuse', reason: 'NotAccepted' });
    // The document says team-a; the CSR also asks for system:masters.
    const ok = await request();
    const forged = csrWith({ ...contentOf(ok.plan), subject: { ...ok.plan.subject, organizations: [...ok.plan.subject.organizations, 'system:masters'] } }, ok.keys.kubeconfig ?? '');
    const tampered = { ...ok.req, certificates: ok.req.certificates.map((c) => ({ ...c, csr: forged })) };
    expect(verifyJoinRequest(input(tampered))).toMatchObject({ decision: 'refuse', reason: 'IdentityMismatch' });
  });

  it('refuses a request whose origin is a Shard\'s, a longer validity than allowed, and a name a local Kubeconfig holds', async () => {
    const { req } = await request();
    expect(verifyJoinRequest(input(req, { origin: { cluster: EDGE_CLUSTER, namespace: 'apps', name: 'team-alice-join-request', uid: 'u1' } }))).toMatchObject({ reason: 'RequestTampered' });
    const long = await request(who, 2 * h.info.maxCertificateDurationMs);
    expect(verifyJoinRequest(input(long.req))).toMatchObject({ reason: 'DurationTooLong' });
    expect(verifyJoinRequest(input(req, { holder: 'local' }))).toMatchObject({ reason: 'NameTaken' });
  });
});
