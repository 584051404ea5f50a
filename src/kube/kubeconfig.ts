// Where a client connects and who it is: kubeconfig files ($KUBECONFIG lists merged as kubectl
// merges them, ~/.kube/config), in-cluster service-account config, and configs built in code.
// The project's own loader: @kubernetes/client-node's KubeConfig pulls its whole generated API
// into memory (about 70 MiB of RSS in each process) for the dozen fields read here.
//
// Supported credentials: client certificates (inline or files), bearer tokens (inline or a file
// re-read as it rotates), basic auth, and exec plugins (client.authentication.k8s.io v1 and
// v1beta1, cached until the expiry they report). `auth-provider`, `as` (impersonation) and
// `proxy-url` are refused with an error naming the field, rather than silently connecting
// differently from kubectl. Errors never quote values: a kubeconfig holds keys and tokens.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { isPlainObject } from './object.js';

export interface ExecPlugin {
  command: string;
  args: string[];
  env: Array<{ name: string; value: string }>;
  apiVersion: string;
  /** Directory relative commands are resolved against (the kubeconfig's). */
  baseDir: string;
}

export interface RestConfig {
  /** What it came from, for messages: a file path, "in-cluster", or a caller's label. */
  source: string;
  server: string;
  caData?: Buffer;
  insecureSkipTLSVerify?: boolean;
  tlsServerName?: string;
  certData?: Buffer;
  keyData?: Buffer;
  token?: string;
  /** Read on every credential refresh: projected service-account tokens rotate. */
  tokenFile?: string;
  username?: string;
  password?: string;
  exec?: ExecPlugin;
  namespace?: string;
}

export class KubeconfigError extends Error {
  override name = 'KubeconfigError';
}

const IN_CLUSTER_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** Parses one kubeconfig document. Relative file references resolve against `baseDir`. */
export function parseKubeconfig(text: string, source: string, baseDir = process.cwd()): RestConfig {
  return resolveCurrent(readDocument(text, source, baseDir), source);
}

export function loadKubeconfigFile(file: string): RestConfig {
  return parseKubeconfig(readText(file), file, path.dirname(path.resolve(file)));
}

/**
 * kubectl's order: every file of $KUBECONFIG (':'-separated, merged: the first file to name a
 * cluster, user or context, or to set current-context, wins), else ~/.kube/config, else the
 * in-cluster service account.
 */
export function loadDefaultKubeconfig(env: NodeJS.ProcessEnv = process.env): RestConfig {
  const list = (env.KUBECONFIG ?? '').split(path.delimiter).filter((f) => f !== '');
  if (list.length > 0) {
    const docs = list.filter((f) => existsSync(f)).map((f) => readDocument(readText(f), f, path.dirname(path.resolve(f))));
    if (docs.length === 0) throw new KubeconfigError(`none of the files in $KUBECONFIG exists (${list.join(', ')})`);
    return resolveCurrent(mergeDocuments(docs), `$KUBECONFIG (${list.join(', ')})`);
  }
  const home = path.join(env.HOME ?? os.homedir(), '.kube', 'config');
  if (existsSync(home)) return loadKubeconfigFile(home);
  return inClusterConfig(env);
}

export function inClusterConfig(env: NodeJS.ProcessEnv = process.env, dir = IN_CLUSTER_DIR): RestConfig {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) {
    throw new KubeconfigError('no kubeconfig found ($KUBECONFIG unset, no ~/.kube/config) and not running in a cluster (KUBERNETES_SERVICE_HOST/PORT unset)');
  }
  const tokenFile = path.join(dir, 'token');
  if (!existsSync(tokenFile)) throw new KubeconfigError(`in-cluster config: ${tokenFile} does not exist (is a service account token mounted?)`);
  const caFile = path.join(dir, 'ca.crt');
  const h = host.includes(':') ? `[${host}]` : host;
  return {
    source: 'in-cluster',
    server: `https://${h}:${port}`,
    tokenFile,
    ...(existsSync(caFile) ? { caData: readFileSync(caFile) } : {}),
    ...(existsSync(path.join(dir, 'namespace')) ? { namespace: readFileSync(path.join(dir, 'namespace'), 'utf8').trim() } : {}),
  };
}

/** Credentials to send with requests, refreshed by the client every so often. */
export interface Credentials {
  headers: Record<string, string>;
  /** When these stop being valid (exec plugins say so); undefined: until the next refresh. */
  expiresAt?: number;
  certData?: Buffer;
  keyData?: Buffer;
}

/** Reads the credential the config names: a token file anew, an exec plugin when its last answer expired. */
export async function credentialsOf(c: RestConfig): Promise<Credentials> {
  if (c.exec) return runExecPlugin(c.exec, c.server);
  const headers: Record<string, string> = {};
  const token = c.tokenFile ? readTokenFile(c.tokenFile) : c.token;
  if (token) headers.Authorization = `Bearer ${token}`;
  else if (c.username !== undefined || c.password !== undefined) {
    headers.Authorization = `Basic ${Buffer.from(`${c.username ?? ''}:${c.password ?? ''}`).toString('base64')}`;
  }
  return { headers };
}

function readTokenFile(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new KubeconfigError(`cannot read token file ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

function readText(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new KubeconfigError(`cannot load kubeconfig ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  if (text.trim() === '') throw new KubeconfigError(`cannot load kubeconfig ${file}: the file is empty`);
  return text;
}

// ---- the document -------------------------------------------------------------------------

type Entry = Record<string, unknown> & { baseDir: string };

interface Document {
  clusters: Map<string, Entry>;
  users: Map<string, Entry>;
  contexts: Map<string, Record<string, unknown>>;
  currentContext: string | undefined;
}

function readDocument(text: string, source: string, baseDir: string): Document {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    const line = (err as { linePos?: Array<{ line: number }> }).linePos?.[0]?.line;
    throw new KubeconfigError(`${source} is not valid YAML${line ? ` (line ${line})` : ''}`);
  }
  if (!isPlainObject(doc)) throw new KubeconfigError(`${source} is not a YAML mapping`);
  const named = (field: string, inner: string): Map<string, Record<string, unknown>> => {
    const out = new Map<string, Record<string, unknown>>();
    const list = doc[field] ?? [];
    if (!Array.isArray(list)) throw new KubeconfigError(`${source}: ${field} is not a list`);
    list.forEach((e, i) => {
      if (!isPlainObject(e) || typeof e.name !== 'string') throw new KubeconfigError(`${source}: ${field}[${i}].name is missing`);
      const body = e[inner] ?? {};
      if (!isPlainObject(body)) throw new KubeconfigError(`${source}: ${field}[${i}].${inner} is not a mapping`);
      if (!out.has(e.name)) out.set(e.name, body);
    });
    return out;
  };
  const withDir = (m: Map<string, Record<string, unknown>>) => new Map([...m].map(([k, v]) => [k, { ...v, baseDir }]));
  const cur = doc['current-context'];
  return {
    clusters: withDir(named('clusters', 'cluster')),
    users: withDir(named('users', 'user')),
    contexts: named('contexts', 'context'),
    currentContext: typeof cur === 'string' && cur !== '' ? cur : undefined,
  };
}

function mergeDocuments(docs: Document[]): Document {
  const merged: Document = { clusters: new Map(), users: new Map(), contexts: new Map(), currentContext: undefined };
  for (const d of docs) {
    for (const k of ['clusters', 'users', 'contexts'] as const) {
      for (const [name, v] of d[k]) if (!merged[k].has(name)) (merged[k] as Map<string, unknown>).set(name, v);
    }
    merged.currentContext ??= d.currentContext;
  }
  return merged;
}

function resolveCurrent(doc: Document, source: string): RestConfig {
  if (!doc.currentContext) throw new KubeconfigError(`${source} sets no current-context`);
  const ctx = doc.contexts.get(doc.currentContext);
  if (!ctx) throw new KubeconfigError(`${source}: current-context "${doc.currentContext}" is not among its contexts`);
  const clusterName = str(ctx.cluster);
  const cluster = clusterName !== undefined ? doc.clusters.get(clusterName) : undefined;
  if (!cluster) throw new KubeconfigError(`${source}: context "${doc.currentContext}" names cluster "${clusterName ?? ''}", which is not among its clusters`);
  const userName = str(ctx.user);
  const user = userName !== undefined && userName !== '' ? doc.users.get(userName) : undefined;
  if (userName && !user) throw new KubeconfigError(`${source}: context "${doc.currentContext}" names user "${userName}", which is not among its users`);

  const where = (kind: string, name: string, field: string) => `${source}: ${kind} "${name}" ${field}`;
  for (const f of ['proxy-url']) if (cluster[f] !== undefined) throw new KubeconfigError(`${where('cluster', clusterName!, f)} is not supported`);
  const server = str(cluster.server);
  if (!server) throw new KubeconfigError(`${where('cluster', clusterName!, 'server')} is missing`);
  try {
    const u = new URL(server);
    if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error('scheme');
  } catch {
    throw new KubeconfigError(`${where('cluster', clusterName!, 'server')} is not an http(s) URL`);
  }
  const out: RestConfig = { source, server };
  const ca = dataOrFile(cluster, 'certificate-authority', where('cluster', clusterName!, 'certificate-authority'));
  if (ca) out.caData = ca;
  if (cluster['insecure-skip-tls-verify'] === true) out.insecureSkipTLSVerify = true;
  const sni = str(cluster['tls-server-name']);
  if (sni) out.tlsServerName = sni;
  const ns = str(ctx.namespace);
  if (ns) out.namespace = ns;
  if (user) Object.assign(out, userCredentials(user, (f) => where('user', userName!, f)));
  return out;
}

function userCredentials(user: Entry, where: (field: string) => string): Partial<RestConfig> {
  for (const f of ['auth-provider', 'as', 'as-groups', 'as-uid', 'as-user-extra']) {
    if (user[f] !== undefined) throw new KubeconfigError(`${where(f)} is not supported${f === 'auth-provider' ? ' (use an exec plugin)' : ''}`);
  }
  const out: Partial<RestConfig> = {};
  const cert = dataOrFile(user, 'client-certificate', where('client-certificate'));
  const key = dataOrFile(user, 'client-key', where('client-key'));
  if ((cert === undefined) !== (key === undefined)) throw new KubeconfigError(`${where(cert ? 'client-key' : 'client-certificate')} is missing (a client certificate needs both)`);
  if (cert && key) Object.assign(out, { certData: cert, keyData: key });
  const token = str(user.token);
  if (token) out.token = token;
  const tokenFile = str(user.tokenFile);
  if (tokenFile && !token) out.tokenFile = path.resolve(user.baseDir, tokenFile);
  if (user.username !== undefined) out.username = String(user.username);
  if (user.password !== undefined) out.password = String(user.password);
  if (user.exec !== undefined) out.exec = execPlugin(user.exec, user.baseDir, where);
  return out;
}

function execPlugin(raw: unknown, baseDir: string, where: (field: string) => string): ExecPlugin {
  if (!isPlainObject(raw) || typeof raw.command !== 'string' || raw.command === '') throw new KubeconfigError(`${where('exec.command')} is missing`);
  const apiVersion = str(raw.apiVersion) ?? '';
  if (!/^client\.authentication\.k8s\.io\/(v1|v1beta1)$/.test(apiVersion)) {
    throw new KubeconfigError(`${where('exec.apiVersion')} must be client.authentication.k8s.io/v1 or v1beta1`);
  }
  const args = Array.isArray(raw.args) ? raw.args.map(String) : [];
  const env = Array.isArray(raw.env)
    ? raw.env.filter(isPlainObject).map((e) => ({ name: String(e.name ?? ''), value: String(e.value ?? '') }))
    : [];
  return { command: raw.command, args, env, apiVersion, baseDir };
}

function dataOrFile(o: Record<string, unknown> & { baseDir: string }, field: string, what: string): Buffer | undefined {
  const data = str(o[`${field}-data`]);
  if (data) {
    const buf = Buffer.from(data, 'base64');
    if (buf.length === 0) throw new KubeconfigError(`${what}-data is not base64`);
    return buf;
  }
  const file = str(o[field]);
  if (!file) return undefined;
  const p = path.resolve(o.baseDir, file);
  try {
    return readFileSync(p);
  } catch (err) {
    throw new KubeconfigError(`${what}: cannot read ${p}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

// ---- exec plugins ------------------------------------------------------------------------

const EXEC_TIMEOUT_MS = 60_000;

async function runExecPlugin(p: ExecPlugin, server: string): Promise<Credentials> {
  const command = p.command.includes('/') ? path.resolve(p.baseDir, p.command) : p.command;
  const info = { apiVersion: p.apiVersion, kind: 'ExecCredential', spec: { interactive: false, cluster: { server } } };
  const env = { ...process.env, ...Object.fromEntries(p.env.map((e) => [e.name, e.value])), KUBERNETES_EXEC_INFO: JSON.stringify(info) };
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(command, p.args, { env, timeout: EXEC_TIMEOUT_MS, maxBuffer: 1 << 20 }, (err, out) => {
      // The plugin's output may hold the credential: say which plugin failed, not what it printed.
      if (err) reject(new KubeconfigError(`exec plugin ${p.command} failed: ${(err as NodeJS.ErrnoException).code ?? `exit ${(err as { code?: unknown }).code ?? '?'}`}`));
      else resolve(out);
    });
  });
  let cred: unknown;
  try {
    cred = JSON.parse(stdout);
  } catch {
    throw new KubeconfigError(`exec plugin ${p.command} did not print an ExecCredential (not JSON)`);
  }
  const status = isPlainObject(cred) && isPlainObject(cred.status) ? cred.status : undefined;
  if (!status) throw new KubeconfigError(`exec plugin ${p.command} printed no ExecCredential status`);
  const out: Credentials = { headers: {} };
  if (typeof status.token === 'string' && status.token !== '') out.headers.Authorization = `Bearer ${status.token}`;
  if (typeof status.clientCertificateData === 'string' && typeof status.clientKeyData === 'string') {
    out.certData = Buffer.from(status.clientCertificateData);
    out.keyData = Buffer.from(status.clientKeyData);
  }
  if (!out.headers.Authorization && !out.certData) throw new KubeconfigError(`exec plugin ${p.command} returned neither a token nor a client certificate`);
  if (typeof status.expirationTimestamp === 'string') {
    const t = Date.parse(status.expirationTimestamp);
    if (Number.isFinite(t)) out.expiresAt = t;
  }
  return out;
}
