// The secret-leak scan (issue 14, item 8). After a chaos run, every text a user or an attacker
// could read (process logs, Events, CR statuses, sync annotations, error messages) is searched for
// private key material: PEM private-key blocks of any kind, and pieces of the base64 DER (and of
// the base64 PEM, as Secret data carries it) of every private key the run generated. A piece is
// 32 characters taken at a fixed stride, so any leaked span of 63 characters or more of a key's
// encoding contains at least one whole piece.
import type { KubeClient } from '../../src/kube/client.js';
import type { KubeObject } from '../../src/kube/object.js';
import { CacheServers, FrontProxies, Kubeconfigs, RootShards, Shards, VirtualWorkspaces } from '../../src/controllers/context.js';
import { ConfigMaps, Events, Secrets, type ResourceType } from '../../src/kube/resources.js';

const PIECE = 32;
const PEM_PRIVATE_KEY = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/;

export interface PrivateKey {
  /** Where the key was found, e.g. "ns/root-ca#tls.key". */
  origin: string;
  pem: string;
}

export interface Text {
  /** What the text is, e.g. "operator log" or "Event ns/x". */
  source: string;
  text: string;
}

export interface Leak {
  source: string;
  /** The key a piece of which was found, or "PEM block". */
  key: string;
  excerpt: string;
}

/** The base64 DER of a PEM private key (its body without headers and line breaks). */
export function derBase64(pem: string): string {
  return pem
    .replace(/-----(BEGIN|END) [A-Z0-9 ]+-----/g, '')
    .replace(/\s+/g, '');
}

function pieces(s: string): string[] {
  const out: string[] = [];
  for (let i = 0; i + PIECE <= s.length; i += PIECE) out.push(s.slice(i, i + PIECE));
  return out;
}

/** Finds every private key (PEM) held in the Secrets of the given namespaces. */
export async function collectPrivateKeys(client: KubeClient, namespaces: readonly string[]): Promise<PrivateKey[]> {
  const keys: PrivateKey[] = [];
  for (const ns of namespaces) {
    const list = await client.list<KubeObject & { data?: Record<string, string> }>(Secrets, { namespace: ns });
    for (const s of list.items) {
      for (const [k, v] of Object.entries(s.data ?? {})) {
        const text = Buffer.from(v, 'base64').toString('utf8');
        for (const m of text.matchAll(/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z0-9 ]*PRIVATE KEY-----/g)) {
          keys.push({ origin: `${ns}/${s.metadata.name}#${k}`, pem: m[0] });
        }
      }
    }
  }
  return keys;
}

/**
 * The texts of a namespace that must never hold key material: Events, the status of every kind
 * the operator owns, and the annotations of ConfigMaps and Secrets (where the sidecar reports).
 */
export async function collectClusterTexts(client: KubeClient, namespaces: readonly string[]): Promise<Text[]> {
  const texts: Text[] = [];
  const kinds: ResourceType[] = [RootShards, Shards, FrontProxies, CacheServers, Kubeconfigs, VirtualWorkspaces];
  for (const ns of namespaces) {
    for (const e of (await client.list(Events, { namespace: ns })).items) {
      texts.push({ source: `Event ${ns}/${e.metadata.name}`, text: JSON.stringify(e) });
    }
    for (const r of kinds) {
      for (const o of (await client.list<KubeObject & { status?: unknown }>(r, { namespace: ns })).items) {
        texts.push({ source: `${r.kind} ${ns}/${o.metadata.name} status`, text: JSON.stringify(o.status ?? {}) });
      }
    }
    for (const r of [ConfigMaps, Secrets]) {
      for (const o of (await client.list(r, { namespace: ns })).items) {
        texts.push({ source: `${r.kind} ${ns}/${o.metadata.name} annotations`, text: JSON.stringify(o.metadata.annotations ?? {}) });
      }
    }
  }
  return texts;
}

/** Every place a text holds a PEM private-key block or a piece of one of the keys. */
export function findLeaks(texts: readonly Text[], keys: readonly PrivateKey[]): Leak[] {
  const needles = new Map<string, string>();
  for (const k of keys) {
    for (const p of pieces(derBase64(k.pem))) needles.set(p, k.origin);
    for (const p of pieces(Buffer.from(k.pem).toString('base64'))) needles.set(p, k.origin);
  }
  const leaks: Leak[] = [];
  for (const t of texts) {
    const pem = PEM_PRIVATE_KEY.exec(t.text);
    if (pem) leaks.push({ source: t.source, key: 'PEM block', excerpt: pem[0] });
    // JSON-escaped logs may carry the key with its line breaks as "\n": search both forms.
    const flat = t.text.replace(/\\n|\s/g, '');
    for (const [needle, origin] of needles) {
      if (flat.includes(needle)) leaks.push({ source: t.source, key: origin, excerpt: `${needle.slice(0, 8)}…` });
    }
  }
  return leaks;
}
