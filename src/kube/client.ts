// A small REST client over a RestConfig (kubeconfig.ts: kubeconfig files, in-cluster config,
// tokens and exec plugins). It returns raw JSON for every call, keeps one
// keep-alive agent per client, counts requests by verb (the basis of the "zero writes when
// nothing changed" measurements) and rate-limits itself with a token bucket.
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { URL } from 'node:url';
import { ApiError } from './errors.js';
import { credentialsOf, type Credentials, type RestConfig } from './kubeconfig.js';
import type { KubeList, KubeObject } from './object.js';
import { apiVersionOf, resourcePath, type ResourceType } from './resources.js';
import { restClientRateLimiterDuration, restClientRequestDuration, restClientRequests } from './metrics.js';
import { TokenBucket } from './rate-limit.js';

export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete';
const WRITE_VERBS: ReadonlySet<Verb> = new Set(['create', 'update', 'patch', 'delete']);

export interface RequestOptions {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  verb?: Verb;
  signal?: AbortSignal;
  timeoutMs?: number;
}

export interface ClientOptions {
  userAgent?: string;
  /** Sustained requests per second (token bucket refill); 0 disables limiting. */
  qps?: number;
  burst?: number;
  /** How long a new connection may take to connect and finish its TLS handshake (default 10 s). */
  connectTimeoutMs?: number;
}

export interface RequestStats {
  total: number;
  writes: number;
  byVerb: Record<string, number>;
}

/** How often a token file is re-read (projected service-account tokens rotate within the hour). */
const CREDENTIAL_TTL_MS = 30_000;
/** An exec plugin's credential is renewed this long before the expiry it reported. */
const EXPIRY_MARGIN_MS = 10_000;
/**
 * Node arms a request's timeout only once its socket has connected, so a connect into a network
 * that drops packets waits out the kernel's SYN retries (over two minutes, with gaps of up to 32 s).
 * Go's client has a dial timeout (30 s) and a TLS handshake timeout (10 s); this is both.
 */
const CONNECT_TIMEOUT_MS = 10_000;

export class KubeClient {
  readonly server: URL;
  readonly stats: RequestStats = { total: 0, writes: 0, byVerb: {} };
  /** Called after every request with its verb and status code (fault injection, accounting). */
  onRequest: ((verb: Verb, code: number) => void) | undefined;
  private readonly agent: http.Agent;
  private readonly userAgent: string;
  private readonly connectTimeoutMs: number;
  private credentials: (Credentials & { fetchedAt: number }) | undefined;
  private readonly bucket: TokenBucket | undefined;

  private constructor(
    private readonly config: RestConfig,
    server: URL,
    agent: http.Agent,
    opts: ClientOptions,
  ) {
    this.server = server;
    this.agent = agent;
    this.userAgent = opts.userAgent ?? 'kcp-operator-ts';
    this.connectTimeoutMs = opts.connectTimeoutMs ?? CONNECT_TIMEOUT_MS;
    const qps = opts.qps ?? 50;
    this.bucket = qps > 0 ? new TokenBucket(qps, opts.burst ?? 100, { now: Date.now, sleep }) : undefined;
  }

  static async fromKubeConfig(config: RestConfig, opts: ClientOptions = {}): Promise<KubeClient> {
    const server = new URL(config.server);
    const creds = await credentialsOf(config);
    const agentOpts: https.AgentOptions = {
      keepAlive: true,
      maxSockets: 64,
      ca: config.caData,
      cert: creds.certData ?? config.certData,
      key: creds.keyData ?? config.keyData,
      servername: config.tlsServerName,
    };
    if (config.insecureSkipTLSVerify) agentOpts.rejectUnauthorized = false;
    const agent = server.protocol === 'https:' ? new https.Agent(agentOpts) : new http.Agent({ keepAlive: true });
    const client = new KubeClient(config, server, agent, opts);
    client.credentials = { ...creds, fetchedAt: Date.now() };
    return client;
  }

  close(): void {
    this.agent.destroy();
  }

  private async authHeaders(): Promise<Record<string, string>> {
    const c = this.credentials;
    if (c && !this.stale(c)) return c.headers;
    const fresh = await credentialsOf(this.config);
    this.credentials = { ...fresh, fetchedAt: Date.now() };
    return fresh.headers;
  }

  private stale(c: Credentials & { fetchedAt: number }): boolean {
    if (this.config.exec) return c.expiresAt !== undefined && Date.now() > c.expiresAt - EXPIRY_MARGIN_MS;
    return this.config.tokenFile !== undefined && Date.now() - c.fetchedAt >= CREDENTIAL_TTL_MS;
  }

  private observe(verb: Verb, sentAt: number): void {
    restClientRequestDuration.observe({ verb, host: this.server.host }, (performance.now() - sentAt) / 1000);
  }

  private count(verb: Verb, code: number): void {
    this.stats.total++;
    if (WRITE_VERBS.has(verb)) this.stats.writes++;
    this.stats.byVerb[verb] = (this.stats.byVerb[verb] ?? 0) + 1;
    restClientRequests.inc({ method: verb, code: String(code) });
    this.onRequest?.(verb, code);
  }

  /** Sends a request once the token bucket allows it; resolves with the response and when it was sent. */
  private async open(opts: RequestOptions, verb: Verb): Promise<{ res: http.IncomingMessage; sentAt: number }> {
    if (this.bucket) {
      const waitFrom = performance.now();
      await this.bucket.take(opts.signal);
      restClientRateLimiterDuration.observe({ verb, host: this.server.host }, (performance.now() - waitFrom) / 1000);
    }
    const url = new URL(opts.path, this.server);
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = {
      ...(await this.authHeaders()),
      Accept: 'application/json',
      'User-Agent': this.userAgent,
    };
    let payload: string | undefined;
    if (opts.body !== undefined) {
      payload = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
      headers['Content-Type'] = opts.contentType ?? 'application/json';
      headers['Content-Length'] = String(Buffer.byteLength(payload));
    }
    const mod = url.protocol === 'https:' ? https : http;
    const sentAt = performance.now();
    return new Promise((resolve, reject) => {
      const req = mod.request(url, { method: opts.method, headers, agent: this.agent, signal: opts.signal }, (res) => resolve({ res, sentAt }));
      if (opts.timeoutMs) req.setTimeout(opts.timeoutMs, () => req.destroy(new Error(`request timed out after ${opts.timeoutMs} ms`)));
      const connectMs = Math.min(this.connectTimeoutMs, opts.timeoutMs ?? Infinity);
      req.once('socket', (socket: Socket) => {
        if (!socket.connecting) return; // a kept-alive connection
        const timer = setTimeout(() => req.destroy(Object.assign(new Error(`connect to ${url.host} timed out after ${connectMs} ms`), { code: 'ETIMEDOUT' })), connectMs);
        const done = () => clearTimeout(timer);
        socket.once(socket instanceof TLSSocket ? 'secureConnect' : 'connect', done);
        socket.once('close', done);
      });
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** One request; resolves to the parsed JSON body, throws ApiError for non-2xx. Retries 429s. */
  async request<T = unknown>(opts: RequestOptions): Promise<T> {
    const verb = opts.verb ?? defaultVerb(opts.method);
    for (let attempt = 0; ; attempt++) {
      let res: http.IncomingMessage;
      let sentAt: number;
      try {
        ({ res, sentAt } = await this.open(opts, verb));
      } catch (err) {
        this.count(verb, 0);
        throw err;
      }
      const text = await readBody(res);
      const code = res.statusCode ?? 0;
      this.observe(verb, sentAt);
      this.count(verb, code);
      if (code >= 200 && code < 300) return (text ? JSON.parse(text) : undefined) as T;
      const err = toApiError(code, text, res.headers['retry-after']);
      if (code === 429 && attempt < 5) {
        await sleep((err.retryAfterSeconds ?? 1) * 1000, opts.signal);
        continue;
      }
      throw err;
    }
  }

  /** A streaming GET (watch): the response, for the caller to read line by line. */
  async stream(path: string, query: RequestOptions['query'], signal: AbortSignal): Promise<http.IncomingMessage> {
    const { res, sentAt } = await this.open({ method: 'GET', path, query, signal }, 'watch');
    const code = res.statusCode ?? 0;
    this.observe('watch', sentAt);
    this.count('watch', code);
    if (code >= 200 && code < 300) return res;
    throw toApiError(code, await readBody(res), res.headers['retry-after']);
  }

  // ---- typed helpers -------------------------------------------------------------------------

  get<T extends KubeObject = KubeObject>(r: ResourceType, namespace: string | undefined, name: string): Promise<T> {
    return this.request<T>({ method: 'GET', path: resourcePath(r, namespace, name), verb: 'get' });
  }

  async list<T extends KubeObject = KubeObject>(
    r: ResourceType,
    opts: {
      namespace?: string;
      labelSelector?: string;
      fieldSelector?: string;
      limit?: number;
      signal?: AbortSignal;
      /**
       * Applied to each item as its page arrives, so only what it returns is kept: an informer
       * whose cache drops content relists 100,000 objects without holding them all whole.
       */
      map?: (item: T) => T;
    } = {},
  ): Promise<KubeList<T>> {
    const items: T[] = [];
    let cont: string | undefined;
    let resourceVersion: string | undefined;
    do {
      const page = await this.request<KubeList<T>>({
        method: 'GET',
        path: resourcePath(r, opts.namespace),
        verb: 'list',
        signal: opts.signal,
        query: {
          labelSelector: opts.labelSelector,
          fieldSelector: opts.fieldSelector,
          limit: opts.limit ?? 500,
          continue: cont,
        },
      });
      // List items arrive without apiVersion/kind; fill them so cached objects look like watched ones.
      for (const item of page.items ?? []) {
        const whole = { apiVersion: apiVersionOf(r), kind: r.kind, ...item };
        items.push(opts.map ? opts.map(whole) : whole);
      }
      cont = page.metadata?.continue || undefined;
      resourceVersion = page.metadata?.resourceVersion;
    } while (cont);
    return { apiVersion: apiVersionOf(r), kind: `${r.kind}List`, metadata: { resourceVersion }, items };
  }

  create<T extends KubeObject>(r: ResourceType, obj: T, query?: RequestOptions['query']): Promise<T> {
    return this.request<T>({
      method: 'POST',
      path: resourcePath(r, obj.metadata.namespace),
      body: obj,
      verb: 'create',
      query,
    });
  }

  update<T extends KubeObject>(r: ResourceType, obj: T, subresource?: string): Promise<T> {
    const name = obj.metadata.name ?? '';
    return this.request<T>({
      method: 'PUT',
      path: resourcePath(r, obj.metadata.namespace, name, subresource),
      body: obj,
      verb: 'update',
    });
  }

  /** Server-side apply of `obj` (apiVersion, kind, metadata.name required) under `fieldManager`. */
  apply<T extends KubeObject>(
    r: ResourceType,
    obj: KubeObject,
    fieldManager: string,
    opts: { subresource?: string; force?: boolean; dryRun?: boolean } = {},
  ): Promise<T> {
    return this.request<T>({
      method: 'PATCH',
      path: resourcePath(r, obj.metadata.namespace, obj.metadata.name ?? '', opts.subresource),
      body: obj,
      contentType: 'application/apply-patch+yaml',
      verb: 'patch',
      query: {
        fieldManager,
        force: opts.force ?? true,
        fieldValidation: 'Strict',
        dryRun: opts.dryRun ? 'All' : undefined,
      },
    });
  }

  patch<T extends KubeObject>(
    r: ResourceType,
    namespace: string | undefined,
    name: string,
    patch: unknown,
    type: 'merge' | 'json',
    subresource?: string,
  ): Promise<T> {
    return this.request<T>({
      method: 'PATCH',
      path: resourcePath(r, namespace, name, subresource),
      body: patch,
      contentType: type === 'merge' ? 'application/merge-patch+json' : 'application/json-patch+json',
      verb: 'patch',
    });
  }

  delete(
    r: ResourceType,
    namespace: string | undefined,
    name: string,
    preconditions?: { uid?: string; resourceVersion?: string },
  ): Promise<unknown> {
    return this.request({
      method: 'DELETE',
      path: resourcePath(r, namespace, name),
      verb: 'delete',
      body: preconditions ? { kind: 'DeleteOptions', apiVersion: 'v1', preconditions, propagationPolicy: 'Background' } : undefined,
    });
  }
}

function defaultVerb(method: RequestOptions['method']): Verb {
  switch (method) {
    case 'GET':
      return 'get';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return 'delete';
  }
}

function readBody(res: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', reject);
  });
}

function toApiError(code: number, text: string, retryAfter: string | string[] | undefined): ApiError {
  let reason = http.STATUS_CODES[code] ?? 'Unknown';
  let message = `HTTP ${code}`;
  let details: unknown;
  try {
    const status = JSON.parse(text) as { reason?: string; message?: string; details?: unknown };
    if (status.reason) reason = status.reason;
    if (status.message) message = status.message;
    details = status.details;
  } catch {
    // Non-JSON error bodies (proxies, 401 without Status) keep the HTTP status text.
  }
  const ra = Array.isArray(retryAfter) ? retryAfter[0] : retryAfter;
  const seconds = ra && /^\d+$/.test(ra) ? Number(ra) : undefined;
  return new ApiError(code, reason, message, seconds, details);
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

