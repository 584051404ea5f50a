// /healthz, /readyz and /metrics on one small HTTP server, as controller-runtime's probe and
// metrics endpoints. Checks are named so a failing probe says which one failed (?verbose).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { registry } from './metrics.js';

export type Check = () => boolean | string;

export class HealthServer {
  private readonly health = new Map<string, Check>();
  private readonly ready = new Map<string, Check>();
  private server: http.Server | undefined;

  addHealthCheck(name: string, check: Check): void {
    this.health.set(name, check);
  }

  addReadyCheck(name: string, check: Check): void {
    this.ready.set(name, check);
  }

  async listen(address: string): Promise<number> {
    const { host, port } = parseAddress(address);
    this.server = http.createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      this.server?.once('error', reject);
      this.server?.listen(port, host, () => resolve());
    });
    return (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    const s = this.server;
    if (!s) return;
    await new Promise<void>((resolve) => s.close(() => resolve()));
    s.closeAllConnections();
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/metrics') {
      res.setHeader('Content-Type', registry.contentType);
      res.end(await registry.metrics());
      return;
    }
    const checks = url.pathname === '/healthz' ? this.health : url.pathname === '/readyz' ? this.ready : undefined;
    if (!checks) {
      res.statusCode = 404;
      res.end('not found\n');
      return;
    }
    const lines: string[] = [];
    let ok = true;
    for (const [name, check] of checks) {
      let result: boolean | string;
      try {
        result = check();
      } catch (err) {
        result = err instanceof Error ? err.message : String(err);
      }
      if (result === true) lines.push(`[+]${name} ok`);
      else {
        ok = false;
        lines.push(`[-]${name} failed: ${result === false ? 'not ready' : result}`);
      }
    }
    res.statusCode = ok ? 200 : 503;
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.end(url.searchParams.has('verbose') || !ok ? `${lines.join('\n')}\n${ok ? 'ok' : 'failed'}\n` : 'ok\n');
  }
}

export function parseAddress(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  const host = i > 0 ? address.slice(0, i).replace(/^\[|\]$/g, '') : '0.0.0.0';
  const port = Number(i >= 0 ? address.slice(i + 1) : address);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid listen address ${address}`);
  return { host: host || '0.0.0.0', port };
}
