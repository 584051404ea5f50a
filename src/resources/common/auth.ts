// Authentication flags and mounts that kcp shards and the front-proxy share (kcp-operator applies
// the same auth configuration to both): OIDC, token webhook, token file, and the service-account
// verification keys of every shard of the installation.
import { DEFAULT_OIDC_CA_KEY, DEFAULT_TOKEN_AUTH_FILE_KEY, type AuthSpec } from '../../api/auth.js';
import type { Mount } from './workload.js';

/** Where the auth inputs are mounted; both components use kcp-operator's /etc/kcp/... layout. */
export interface AuthPaths {
  oidcCA: string;
  authenticationWebhook: string;
  tokenAuth: string;
  peerServiceAccount: (peer: string) => string;
}

export function authenticationMounts(auth: AuthSpec | undefined, p: AuthPaths): Mount[] {
  const mounts: Mount[] = [];
  if (auth?.webhook?.configSecretName) mounts.push({ volume: 'authentication-webhook', secretName: auth.webhook.configSecretName, path: p.authenticationWebhook });
  if (auth?.tokenAuthFile?.secretName) mounts.push({ volume: 'token-auth', secretName: auth.tokenAuthFile.secretName, path: p.tokenAuth });
  if (auth?.oidc?.caFileRef?.name) mounts.push({ volume: 'oidc-ca', secretName: auth.oidc.caFileRef.name, path: p.oidcCA });
  return mounts;
}

export function authenticationArgs(a: AuthSpec | undefined, p: AuthPaths): string[] {
  if (!a) return [];
  const out: string[] = [];
  const o = a.oidc;
  if (o) {
    out.push(`--oidc-issuer-url=${o.issuerURL}`, `--oidc-client-id=${o.clientID}`);
    if (o.groupsClaim) out.push(`--oidc-groups-claim=${o.groupsClaim}`);
    if (o.usernameClaim) out.push(`--oidc-username-claim=${o.usernameClaim}`);
    if (o.usernamePrefix) out.push(`--oidc-username-prefix=${o.usernamePrefix}`);
    if (o.groupsPrefix) out.push(`--oidc-groups-prefix=${o.groupsPrefix}`);
    if (o.caFileRef?.name) out.push(`--oidc-ca-file=${p.oidcCA}/${o.caFileRef.key || DEFAULT_OIDC_CA_KEY}`);
  }
  if (a.webhook) {
    if (a.webhook.cacheAuthenticationTTL) out.push(`--authentication-token-webhook-cache-ttl=${a.webhook.cacheAuthenticationTTL}`);
    if (a.webhook.version) out.push(`--authentication-token-webhook-version=${a.webhook.version}`);
    out.push(`--authentication-token-webhook-config-file=${p.authenticationWebhook}/kubeconfig`);
  }
  if (a.tokenAuthFile) out.push(`--token-auth-file=${p.tokenAuth}/${a.tokenAuthFile.key || DEFAULT_TOKEN_AUTH_FILE_KEY}`);
  return out;
}

/**
 * The service-account Secrets of other shards, projected to tls.crt only: a verifier needs the
 * public half, and the signing key must never leave the shard that signs with it.
 */
export function serviceAccountKeyMounts(peers: readonly string[], p: AuthPaths): Mount[] {
  return peers.map((peer) => ({ volume: `sa-${peer}`, secretName: `${peer}-service-account`, path: p.peerServiceAccount(peer), items: ['tls.crt'] }));
}

export function serviceAccountKeyArgs(peers: readonly string[], p: AuthPaths): string[] {
  return peers.map((peer) => `--service-account-key-file=${p.peerServiceAccount(peer)}/tls.crt`);
}
