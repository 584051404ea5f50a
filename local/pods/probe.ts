// Readiness probes as the kubelet runs them (no certificate verification for HTTPS, 2xx/3xx is a
// success), with its thresholds: a ready container turns unready only after failureThreshold
// failures in a row, so one slow answer on a loaded machine does not take it out of its Services.
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';

export interface Probe {
  httpGet?: { path?: string; port: number | string; scheme?: string; host?: string };
  tcpSocket?: { port: number | string };
  initialDelaySeconds?: number;
  periodSeconds?: number;
  timeoutSeconds?: number;
  successThreshold?: number;
  failureThreshold?: number;
}

/** One probe of `ip`; `port` maps a named port to its number. */
export function probeOnce(p: Probe, ip: string, port: (x: number | string) => number): Promise<boolean> {
  const timeout = (p.timeoutSeconds ?? 1) * 1000;
  if (p.tcpSocket) {
    const target = port(p.tcpSocket.port);
    return new Promise((resolve) => {
      const s = net.connect({ host: ip, port: target, timeout }, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
      s.on('timeout', () => (s.destroy(), resolve(false)));
    });
  }
  if (p.httpGet) {
    const g = p.httpGet;
    const mod = g.scheme === 'HTTPS' ? https : http;
    return new Promise((resolve) => {
      const req = mod.get({ host: g.host ?? ip, port: port(g.port), path: g.path ?? '/', timeout, rejectUnauthorized: false }, (res) => {
        res.resume();
        resolve((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 400);
      });
      req.on('error', () => resolve(false));
      req.on('timeout', () => req.destroy());
    });
  }
  return Promise.resolve(true);
}

/** Readiness of one container run, from its probe results. */
export class Readiness {
  ready = false;
  private failures = 0;
  private successes = 0;

  constructor(private readonly p: Probe | undefined) {}

  /** Whether a probe is due: the kubelet waits initialDelaySeconds after the start. */
  due(startedAtMs: number, now = Date.now()): boolean {
    return now - startedAtMs >= (this.p?.initialDelaySeconds ?? 0) * 1000;
  }

  /** Records a result; true if readiness changed. */
  record(ok: boolean): boolean {
    const was = this.ready;
    if (ok) {
      this.failures = 0;
      if (++this.successes >= (this.p?.successThreshold ?? 1)) this.ready = true;
    } else {
      this.successes = 0;
      if (++this.failures >= (this.p?.failureThreshold ?? 3)) this.ready = false;
    }
    return was !== this.ready;
  }

  reset(): void {
    this.ready = false;
    this.failures = 0;
    this.successes = 0;
  }
}
